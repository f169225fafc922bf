use serde_json::{Value, json};

use super::render::image_containers;
use super::template::{from_document, load_file};
use super::*;
use crate::image::ImageRef;
use crate::inputs::SetPatch;

const NEW: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:v2";
const PINNED: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:2222222222222222222222222222222222222222222222222222222222222222";

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn described() -> Value {
    load_file(&fixture("described-web.json")).unwrap()
}

/// Renders one image into `names` (none: the containers its repository finds).
fn render_named(
    td: &Value,
    image: &ImageRef,
    uri: &str,
    names: &[String],
    patches: &Patches,
) -> Result<Rendered, RenderError> {
    let one = ImageToRender {
        reference: image,
        uri,
        containers: names,
    };
    render(td, &[one], patches)
}

fn render_one(
    td: &Value,
    image: &ImageRef,
    uri: &str,
    patches: &Patches,
) -> Result<Rendered, RenderError> {
    render_named(td, image, uri, &[], patches)
}

fn no_patches() -> Patches<'static> {
    Patches {
        container_input: "container-name",
        environment: &[],
        secrets: &[],
        set: &[],
    }
}

#[test]
fn described_definitions_lose_read_only_fields_and_keep_tags() {
    let td = described();
    for f in template::READ_ONLY_FIELDS {
        assert!(td.get(f).is_none(), "{f} should be stripped");
    }
    assert_eq!(td["tags"][0], json!({"key": "team", "value": "platform"}));
    assert_eq!(td["family"], "web");
}

#[test]
fn yaml_template_equals_the_described_revision_after_normalising() {
    let yaml = load_file(&fixture("web-template.yaml")).unwrap();
    assert!(
        equivalent(&yaml, &described()),
        "normalised:\n{}\n---\n{}",
        normalize(&yaml),
        normalize(&described())
    );
}

#[test]
fn a_real_difference_is_not_normalised_away() {
    let mut changed = described();
    changed["containerDefinitions"][0]["environment"][0]["value"] = json!("staging");
    assert!(!equivalent(&changed, &described()));
    let mut changed = described();
    changed["containerDefinitions"][1]["essential"] = json!(true);
    assert!(!equivalent(&changed, &described()));
    let mut changed = described();
    changed["tags"] = json!([]);
    assert!(!equivalent(&changed, &described()));
}

#[test]
fn normalisation_fills_ecs_defaults() {
    let bare = json!({"family": "x", "networkMode": "awsvpc", "cpu": 256, "containerDefinitions": [
        {"name": "a", "image": "i:1", "portMappings": [{"containerPort": 80}], "healthCheck": {"command": ["true"]}, "mountPoints": [], "cpu": 0}
    ]});
    let n = normalize(&bare);
    assert_eq!(n["cpu"], json!("256"));
    let c = &n["containerDefinitions"][0];
    assert_eq!(c["essential"], json!(true));
    assert_eq!(
        c["portMappings"][0],
        json!({"containerPort": 80, "hostPort": 80, "protocol": "tcp"})
    );
    assert_eq!(c["healthCheck"]["interval"], json!(30));
    assert!(c.get("mountPoints").is_none() && c.get("cpu").is_none());
}

#[test]
fn image_goes_into_the_containers_of_the_same_repository() {
    let r = render_one(
        &described(),
        &ImageRef::parse(NEW).unwrap(),
        PINNED,
        &no_patches(),
    )
    .unwrap();
    assert_eq!(r.image_containers(), ["web"]);
    assert_eq!(r.definition["containerDefinitions"][0]["image"], PINNED);
    assert_eq!(
        r.definition["containerDefinitions"][1]["image"],
        "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"
    );
}

#[test]
fn ambiguity_is_an_error_listing_the_containers() {
    let other = ImageRef::parse("123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:v1").unwrap();
    let err = render_one(&described(), &other, "x", &no_patches()).unwrap_err();
    assert!(matches!(err, RenderError::Ambiguous { .. }));
    assert!(err.to_string().contains("web, log-router"), "{err}");
    // Naming the container resolves it.
    let names = vec!["log-router".to_string()];
    let r = render_named(&described(), &other, "y", &names, &no_patches()).unwrap();
    assert_eq!(r.definition["containerDefinitions"][1]["image"], "y");
    // An unknown name lists the real ones.
    let names = vec!["app".to_string()];
    let err = image_containers(&described(), &other, (&names, "container-name")).unwrap_err();
    assert!(
        err.to_string().contains("no container `app`")
            && err.to_string().contains("web, log-router"),
        "{err}"
    );
}

#[test]
fn a_single_container_needs_no_name() {
    let td =
        json!({"family": "m", "containerDefinitions": [{"name": "only", "image": "busybox:1"}]});
    let r = render_one(&td, &ImageRef::parse(NEW).unwrap(), PINNED, &no_patches()).unwrap();
    assert_eq!(r.image_containers(), ["only"]);
}

#[test]
fn environment_and_secrets_replace_same_keys_and_append_new_ones() {
    let env = vec![
        ("RAILS_ENV".to_string(), "staging".to_string()),
        ("NEW".to_string(), "a=b".to_string()),
    ];
    let secrets = vec![
        ("DATABASE_URL".to_string(), "arn:new".to_string()),
        ("API_KEY".to_string(), "/ssm/key".to_string()),
    ];
    let r = render_one(
        &described(),
        &ImageRef::parse(NEW).unwrap(),
        PINNED,
        &Patches {
            environment: &env,
            secrets: &secrets,
            ..no_patches()
        },
    )
    .unwrap();
    let web = &r.definition["containerDefinitions"][0];
    assert_eq!(
        web["environment"],
        json!([{"name": "RAILS_ENV", "value": "staging"}, {"name": "APP_NAME", "value": "web"}, {"name": "NEW", "value": "a=b"}])
    );
    assert_eq!(
        web["secrets"],
        json!([{"name": "DATABASE_URL", "valueFrom": "arn:new"}, {"name": "API_KEY", "valueFrom": "/ssm/key"}])
    );
    assert!(
        r.definition["containerDefinitions"][1]["environment"]
            .as_array()
            .unwrap()
            .is_empty(),
        "other containers untouched"
    );
}

/// `described()` rendered with `NEW` and these `set` patches only.
fn render_set(patches: &[(&str, Value)]) -> Result<Rendered, RenderError> {
    let set: Vec<SetPatch> = patches
        .iter()
        .map(|(path, value)| SetPatch {
            path: (*path).into(),
            value: value.clone(),
        })
        .collect();
    let patches = Patches {
        set: &set,
        ..no_patches()
    };
    render_one(
        &described(),
        &ImageRef::parse(NEW).unwrap(),
        PINNED,
        &patches,
    )
}

#[test]
fn set_replaces_every_match_and_refuses_paths_that_match_nothing() {
    let r = render_set(&[
        ("$.cpu", json!("1024")),
        (
            "$.containerDefinitions[?(@.name == 'web')].healthCheck.retries",
            json!(5),
        ),
        ("$.containerDefinitions[*].essential", json!(true)),
    ])
    .unwrap();
    assert_eq!(r.definition["cpu"], "1024");
    assert_eq!(
        r.definition["containerDefinitions"][0]["healthCheck"]["retries"],
        5
    );
    assert_eq!(r.definition["containerDefinitions"][1]["essential"], true);

    let err = render_set(&[(
        "$.containerDefinitions[?(@.name == 'api')].memory",
        json!(1),
    )])
    .unwrap_err();
    assert!(matches!(err, RenderError::NoMatch { .. }), "{err}");

    let err = render_set(&[("$.family", json!(5))]).unwrap_err();
    assert!(matches!(err, RenderError::Broken(_)), "{err}");
}

#[test]
fn numeric_task_sizes_become_strings() {
    let td = load_file(&fixture("web-template.yaml")).unwrap();
    assert_eq!(td["cpu"], json!(512));
    let r = render_one(&td, &ImageRef::parse(NEW).unwrap(), PINNED, &no_patches()).unwrap();
    assert_eq!(r.definition["cpu"], json!("512"));
    assert_eq!(r.definition["memory"], json!("1024"));
}

#[test]
fn malformed_templates_are_refused_with_the_problem() {
    let cases = [
        (json!([]), "not a JSON object"),
        (
            json!({"containerDefinitions": [{"name": "a", "image": "i"}]}),
            "no `family`",
        ),
        (
            json!({"family": "f", "containerDefinitions": []}),
            "no `containerDefinitions`",
        ),
        (
            json!({"family": "f", "containerDefinitions": [{"image": "i"}]}),
            "has no `name`",
        ),
        (
            json!({"family": "f", "containerDefinitions": [{"name": "a"}]}),
            "no `image`",
        ),
        (
            json!({"family": "f", "containerDefinitions": [{"name": "a", "image": "i"}, {"name": "a", "image": "j"}]}),
            "appears twice",
        ),
        (
            json!({"family": "f", "containerDefinitions": [{"name": "a", "image": "i", "environment": {"A": "1"}}]}),
            "must be a list",
        ),
    ];
    for (doc, problem) in cases {
        let err = format!("{:#}", from_document(doc.clone(), "t.json").unwrap_err());
        assert!(err.starts_with("task definition t.json: "), "{err}");
        assert!(err.contains(problem), "{doc}: {err}");
    }
}

#[test]
fn syntax_errors_and_oversized_files_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("td.json");
    std::fs::write(&bad, "{\"family\": \"x\",, }").unwrap();
    assert!(format!("{:#}", load_file(&bad).unwrap_err()).contains("td.json is not valid JSON: "));
    let bad_yaml = dir.path().join("td.yaml");
    std::fs::write(&bad_yaml, "family: [x\n").unwrap();
    assert!(
        format!("{:#}", load_file(&bad_yaml).unwrap_err()).contains("td.yaml is not valid YAML: ")
    );
    let big = dir.path().join("big.json");
    std::fs::write(&big, vec![b' '; (template::MAX_FILE_BYTES + 1) as usize]).unwrap();
    assert!(format!("{:#}", load_file(&big).unwrap_err()).contains("the limit is"));
}

/// Terraform's `jsonencode` writes `null` for unset members; Windows editors
/// save JSON with a byte-order mark. Both are read as meant.
#[test]
fn nulls_are_absent_members_and_a_byte_order_mark_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("td.json");
    let doc = r#"{"family": "web", "cpu": null, "containerDefinitions": [
        {"name": "web", "image": "web:v1", "environment": null, "secrets": null,
         "portMappings": [{"containerPort": 80, "hostPort": null}]}]}"#;
    std::fs::write(&file, format!("\u{feff}{doc}")).unwrap();
    let td = load_file(&file).unwrap();
    assert_eq!(
        td,
        json!({"family": "web", "containerDefinitions": [
            {"name": "web", "image": "web:v1", "portMappings": [{"containerPort": 80}]}]})
    );
}

#[test]
fn several_images_go_each_into_its_container_numbered_in_order() {
    let web = ImageRef::parse(NEW).unwrap();
    let router = ImageRef::parse("123456789012.dkr.ecr.eu-west-1.amazonaws.com/router:v7").unwrap();
    let (web_names, router_names) = (vec!["web".to_string()], vec!["log-router".to_string()]);
    let images = [
        ImageToRender {
            reference: &router,
            uri: "router@sha256:7",
            containers: &router_names,
        },
        ImageToRender {
            reference: &web,
            uri: PINNED,
            containers: &web_names,
        },
    ];
    let env = vec![("K".to_string(), "v".to_string())];
    let patches = Patches {
        container_input: "images",
        environment: &env,
        ..no_patches()
    };
    let r = render(&described(), &images, &patches).unwrap();
    let c = &r.definition["containerDefinitions"];
    assert_eq!(c[0]["image"], PINNED);
    assert_eq!(c[1]["image"], "router@sha256:7");
    assert_eq!(r.image_containers(), ["log-router", "web"]);
    assert_eq!(r.image_number("log-router"), Some(1));
    assert_eq!(r.image_number("web"), Some(2));
    assert_eq!(r.image_number("sidecar"), None);
    // The patches go into every container that received an image.
    for i in 0..2 {
        let env = c[i]["environment"].as_array().unwrap();
        assert!(
            env.iter().any(|e| e == &json!({"name": "K", "value": "v"})),
            "{i}"
        );
    }
}

#[test]
fn a_container_images_names_that_does_not_exist_is_refused_naming_images() {
    let web = ImageRef::parse(NEW).unwrap();
    let names = vec!["nginx".to_string()];
    let patches = Patches {
        container_input: "images",
        ..no_patches()
    };
    let err = render_named(&described(), &web, PINNED, &names, &patches).unwrap_err();
    assert!(
        err.to_string().starts_with("images: no container `nginx`"),
        "{err}"
    );
    assert_eq!(crate::error::Failure::from(err).title, "images");
}
