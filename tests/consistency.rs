//! action.yml, the CLI's flags and the README's tables describe one set of
//! inputs and outputs: the table in src/inputs/spec.rs. Any drift fails here.

use std::collections::BTreeMap;

use fargate_deploy::inputs::Mode;
use fargate_deploy::inputs::spec::{INPUTS, OUTPUTS};
use serde_json::Value;

fn action() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/action.yml")).unwrap();
    yaml_serde::from_str(&text).unwrap()
}

#[test]
fn action_yml_inputs_are_the_spec_table() {
    let action = action();
    let declared: BTreeMap<String, Value> = action["inputs"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let names: Vec<&str> = INPUTS.iter().map(|i| i.name).collect();
    assert_eq!(
        declared.keys().map(String::as_str).collect::<Vec<_>>(),
        {
            let mut n = names.clone();
            n.sort();
            n
        },
        "input names"
    );
    for spec in INPUTS {
        let d = &declared[spec.name];
        assert_eq!(
            d["description"].as_str(),
            Some(spec.description),
            "{}: description",
            spec.name
        );
        assert_eq!(
            d["required"].as_bool(),
            Some(spec.name == "mode"),
            "{}: required",
            spec.name
        );
        let expected = match spec.name {
            // The runner evaluates this default; the CLI has none.
            "github-token" => Some("${{ github.token }}"),
            _ => spec.default,
        };
        assert_eq!(d["default"].as_str(), expected, "{}: default", spec.name);
    }
}

#[test]
fn action_yml_outputs_are_the_spec_table() {
    let action = action();
    let declared = action["outputs"].as_object().unwrap();
    assert_eq!(declared.len(), OUTPUTS.len());
    for (name, description) in OUTPUTS {
        assert_eq!(
            declared[*name]["description"].as_str(),
            Some(*description),
            "{name}"
        );
    }
}

#[test]
fn action_runs_the_prebuilt_image() {
    let action = action();
    assert_eq!(action["runs"]["using"], "docker");
    let image = action["runs"]["image"].as_str().unwrap();
    assert!(
        image.starts_with("docker://ghcr.io/"),
        "the action must not build the Dockerfile on every run: {image}"
    );
}

#[test]
fn readme_tables_list_every_input_and_output() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let rows = |header: &str| -> Vec<String> {
        let start = readme
            .find(header)
            .unwrap_or_else(|| panic!("README has no `{header}` table"));
        readme[start..]
            .lines()
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .map(|l| {
                l.split('|')
                    .nth(1)
                    .unwrap()
                    .trim()
                    .trim_matches('`')
                    .to_string()
            })
            .collect()
    };
    let inputs: Vec<String> = INPUTS.iter().map(|i| i.name.to_string()).collect();
    assert_eq!(
        rows("| input | modes | default | description |"),
        inputs,
        "README inputs table"
    );
    // The modes column says where each input applies, as the spec does.
    let start = readme
        .find("| input | modes | default | description |")
        .unwrap();
    for (line, spec) in readme[start..].lines().skip(2).zip(INPUTS) {
        let modes = line.split('|').nth(2).unwrap().trim();
        let expected: Vec<&str> = Mode::ALL
            .iter()
            .filter(|(_, m)| spec.applies_to(*m))
            .map(|(n, _)| *n)
            .collect();
        let expected = match expected.len() {
            n if n == Mode::ALL.len() => "all".to_string(),
            _ => expected.join(", "),
        };
        assert_eq!(modes, expected, "README modes of `{}`", spec.name);
    }
    let outputs: Vec<String> = OUTPUTS.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(
        rows("| output | description |"),
        outputs,
        "README outputs table"
    );
}
