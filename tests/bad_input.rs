//! End-to-end: bad input exits 2 with a first line that names the input and
//! says what to do, and changes nothing in AWS (from the emulator's request log).

mod common;

use common::{ActionRun, Emulator};

struct Case {
    name: &'static str,
    inputs: Vec<(&'static str, &'static str)>,
    files: Vec<(&'static str, &'static str)>,
    /// Annotation title: the input at fault.
    title: &'static str,
    /// Words the first line must contain.
    says: &'static str,
}

fn case(
    name: &'static str,
    extra: &[(&'static str, &'static str)],
    title: &'static str,
    says: &'static str,
) -> Case {
    let mut inputs = vec![
        ("mode", "render"),
        ("aws-region", "eu-west-1"),
        ("cluster", "prod"),
        ("service", "web"),
        ("image", "web:v2"),
    ];
    for (k, v) in extra {
        inputs.retain(|(name, _)| name != k);
        if !v.is_empty() {
            inputs.push((k, v));
        }
    }
    Case {
        name,
        inputs,
        files: vec![],
        title,
        says,
    }
}

fn with_file(mut c: Case, path: &'static str, text: &'static str) -> Case {
    c.files.push((path, text));
    c
}

#[test]
fn bad_input_exits_2_names_the_input_and_changes_nothing() {
    let emu = Emulator::start();
    let cases = vec![
        case(
            "unknown mode",
            &[("mode", "ship")],
            "mode",
            "unknown mode `ship`: use one of render, migrate, deploy, rollback",
        ),
        case(
            "missing image",
            &[("image", "")],
            "image",
            "input `image` is required",
        ),
        case(
            "malformed image",
            &[("image", "Web:v2")],
            "image",
            "not a valid repository name",
        ),
        case(
            "image without tag",
            &[("image", "web")],
            "image",
            "has no tag or digest",
        ),
        case(
            "missing tag",
            &[("image", "web:v9")],
            "image",
            "tag `v9`; push the image before this step",
        ),
        case(
            "missing repository",
            &[("image", "api:v1")],
            "image",
            "ECR repository `api` does not exist",
        ),
        case(
            "unknown cluster",
            &[("cluster", "staging")],
            "cluster",
            "cluster `staging` not found",
        ),
        case(
            "unknown service",
            &[("service", "api")],
            "service",
            "service `api` not found in cluster `prod`",
        ),
        case(
            "malformed role",
            &[("role-to-assume", "deploy-role")],
            "role-to-assume",
            "not an IAM role ARN",
        ),
        case(
            "bad set path",
            &[(
                "set",
                "$.containerDefinitions[?(@.name == 'api')].cpu = 256",
            )],
            "set",
            "matches nothing",
        ),
        case(
            "bad set value",
            &[("set", "$.cpu = big")],
            "set",
            "is not JSON",
        ),
        case(
            "unknown container",
            &[("container-name", "app")],
            "container-name",
            "no container `app` in family `web`; its containers are: web, log-router",
        ),
        case(
            "conflicting inputs",
            &[("desired-count", "3")],
            "desired-count",
            "does not apply to mode render",
        ),
        case(
            "missing template file",
            &[("task-definition", "deploy/none.json")],
            "task-definition",
            "file `deploy/none.json` not found",
        ),
        with_file(
            case(
                "malformed JSON",
                &[("task-definition", "td.json")],
                "task-definition",
                "not valid JSON",
            ),
            "td.json",
            "{\"family\": \"web\",}",
        ),
        with_file(
            case(
                "malformed YAML",
                &[("task-definition", "td.yaml")],
                "task-definition",
                "not valid YAML",
            ),
            "td.yaml",
            "family: [web\n",
        ),
        with_file(
            case(
                "ambiguous container",
                &[("task-definition", "td.json")],
                "container-name",
                "set `container-name` to say which",
            ),
            "td.json",
            r#"{"family": "web", "containerDefinitions": [{"name": "a", "image": "nginx:1"}, {"name": "b", "image": "redis:7"}]}"#,
        ),
        case(
            "unknown family",
            &[("task-definition", "nosuchfamily")],
            "task-definition",
            "task definition `nosuchfamily` not found",
        ),
        case(
            "wrong region for the image",
            &[(
                "image",
                "123456789012.dkr.ecr.us-east-2.amazonaws.com/web:v2",
            )],
            "image",
            "does not exist",
        ),
    ];
    let n = cases.len();
    for c in cases {
        let run = ActionRun::new(Some(&emu), &c.inputs);
        for (path, text) in &c.files {
            run.write(path, text);
        }
        let done = run.run();
        assert_eq!(done.code, 2, "{}: exit code\n{}", c.name, done.all_text());
        let first = done.first_error();
        let expected_start = format!("::error title={}::", c.title);
        assert!(first.starts_with(&expected_start), "{}: {first}", c.name);
        assert!(
            first.contains(c.says),
            "{}: expected `{}` in\n{first}",
            c.name,
            c.says
        );
        assert_eq!(
            emu.mutating_calls(),
            Vec::<String>::new(),
            "{}: a mutating call was made",
            c.name
        );
        assert!(
            !done.workspace.join(".fargate-deploy").exists(),
            "{}: artifacts written after a failure",
            c.name
        );
    }
    assert!(n >= 19);
}

#[test]
fn cli_usage_errors_exit_2() {
    let done = ActionRun::new(None, &[])
        .cli(&["render", "--no-such-flag", "x"])
        .run();
    assert_eq!(done.code, 2);
    assert!(done.stderr.contains("--no-such-flag"), "{}", done.stderr);
    let done = ActionRun::new(None, &[]).cli(&["--version"]).run();
    assert_eq!(done.code, 0);
    assert_eq!(
        done.stdout.trim(),
        concat!("fargate-deploy ", env!("CARGO_PKG_VERSION"))
    );
}
