//! End-to-end: bad input exits 2 with a first line that names the input and
//! says what to do, and changes nothing in AWS (from the emulator's request log).

use crate::common;
use crate::common::assert_contains;

use common::ActionRun;

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

/// A definition past ECS's 64 KiB limit (a large environment).
fn oversized() -> &'static str {
    let env: Vec<String> = (0..1500)
        .map(|i| format!(r#"{{"name": "VAR_{i:04}", "value": "{}"}}"#, "x".repeat(40)))
        .collect();
    let td = format!(
        r#"{{"family": "web", "containerDefinitions": [{{"name": "web", "image": "nginx:1", "environment": [{}]}}]}}"#,
        env.join(",")
    );
    Box::leak(td.into_boxed_str())
}

#[test]
fn bad_input_exits_2_names_the_input_and_changes_nothing() {
    let emu = emulator!();
    let cases = vec![
        case(
            "unknown mode",
            &[("mode", "ship")],
            "mode",
            "unknown mode `ship`: use one of render, migrate, deploy, continue, rollback",
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
            "images with image",
            &[("images", "web=web:v2")],
            "images",
            "inputs `images` and `image` are both set",
        ),
        case(
            "images naming a container twice",
            &[("image", ""), ("images", "web=web:v2\nweb=web:v1")],
            "images",
            "line 2: container `web` is named twice",
        ),
        case(
            "images naming a container the definition lacks",
            &[
                ("mode", "deploy"),
                ("image", ""),
                ("images", "web=web:v2\nnginx=log-router:v7"),
            ],
            "images",
            "images: no container `nginx` in family `web`; its containers are: web, log-router",
        ),
        case(
            "images with a tag never pushed",
            &[
                ("mode", "deploy"),
                ("image", ""),
                ("images", "web=web:v2\nlog-router=log-router:v9"),
            ],
            "images",
            "tag `v9`; push the image before this step",
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
            "artifacts-dir outside the workspace",
            &[("artifacts-dir", "/tmp/fargate-deploy-out")],
            "artifacts-dir",
            "must be a path inside the workspace, relative and without `..`",
        ),
        case(
            "artifacts-dir climbing out",
            &[("artifacts-dir", "out/../../elsewhere")],
            "artifacts-dir",
            "must be a path inside the workspace",
        ),
        case(
            "task-definition file outside the workspace",
            &[("task-definition", "../other-repo/td.json")],
            "task-definition",
            "must be a path inside the workspace",
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
        case(
            "migrate: unterminated quote in the command",
            &[("mode", "migrate"), ("command", "bin/rails \"db:migrate")],
            "command",
            "unterminated quote",
        ),
        case(
            "migrate: command array of non-strings",
            &[("mode", "migrate"), ("command", "[\"rails\", 1]")],
            "command",
            "not one of strings",
        ),
        case(
            "migrate: unknown migration container",
            &[("mode", "migrate"), ("migration-container", "app")],
            "migration-container",
            "web, log-router",
        ),
        case(
            "migrate: zero timeout",
            &[("mode", "migrate"), ("timeout-minutes", "0")],
            "timeout-minutes",
            "timeout-minutes",
        ),
        case(
            "migrate: timeout not a number",
            &[("mode", "migrate"), ("timeout-minutes", "soon")],
            "timeout-minutes",
            "soon",
        ),
        case(
            "migrate: neither a service nor a template",
            &[("mode", "migrate"), ("service", "")],
            "service",
            "mode migrate needs `service`",
        ),
        case(
            "migrate: a family without a service needs subnets",
            &[
                ("mode", "migrate"),
                ("service", ""),
                ("task-definition", "web"),
            ],
            "subnets",
            "subnets",
        ),
        case(
            "migrate: two services",
            &[("mode", "migrate"), ("service", "web,worker")],
            "service",
            "takes one `service`",
        ),
        case(
            "migrate: desired-count does not apply",
            &[("mode", "migrate"), ("desired-count", "2")],
            "desired-count",
            "does not apply to mode migrate",
        ),
        case(
            "deploy: fail-fast not a boolean",
            &[("mode", "deploy"), ("fail-fast", "soon")],
            "fail-fast",
            "input `fail-fast` must be true or false, not `soon`",
        ),
        case(
            "deploy: on-cancel not a choice",
            &[("mode", "deploy"), ("on-cancel", "panic")],
            "on-cancel",
            "input `on-cancel` must be leave or rollback, not `panic`",
        ),
        case(
            "deploy: keep-revisions below 1",
            &[("mode", "deploy"), ("keep-revisions", "0")],
            "keep-revisions",
            "input `keep-revisions` must be a whole number from 1 to 10000, not `0`",
        ),
        case(
            "deploy: delete-revisions without keep-revisions",
            &[("mode", "deploy"), ("delete-revisions", "true")],
            "delete-revisions",
            "input `delete-revisions` needs `keep-revisions`",
        ),
        case(
            "deploy: keep-revisions where the wait never sees success",
            &[
                ("mode", "deploy"),
                ("keep-revisions", "3"),
                ("wait-until", "none"),
            ],
            "keep-revisions",
            "which `wait-until: none` never sees",
        ),
        case(
            "migrate: keep-revisions does not apply",
            &[("mode", "migrate"), ("keep-revisions", "3")],
            "keep-revisions",
            "does not apply to mode migrate",
        ),
        case(
            "migrate: fail-fast does not apply",
            &[("mode", "migrate"), ("fail-fast", "false")],
            "fail-fast",
            "does not apply to mode migrate",
        ),
        case(
            "deploy: a value ECS would refuse",
            &[
                ("mode", "deploy"),
                ("set", "$.containerDefinitions[0].cpu = \"256\""),
            ],
            "task-definition",
            "containerDefinitions[0].cpu: a string where ECS wants a whole number",
        ),
        case(
            "deploy: negative desired count",
            &[("mode", "deploy"), ("desired-count", "-1")],
            "desired-count",
            "-1",
        ),
        case(
            "deploy: unknown wait-until",
            &[("mode", "deploy"), ("wait-until", "forever")],
            "wait-until",
            "forever",
        ),
        case(
            "deploy: one unknown service among several",
            &[("mode", "deploy"), ("service", "web,api")],
            "service",
            "service `api` not found in cluster `prod`",
        ),
        case(
            "deploy: malformed cluster ARN",
            &[
                ("mode", "deploy"),
                ("cluster", "arn:aws:ecs:eu-west-1:123456789012:cluster"),
            ],
            "cluster",
            "cluster",
        ),
        case(
            "deploy: malformed hooks",
            &[
                ("mode", "deploy"),
                (
                    "codedeploy-hooks",
                    "Whenever=arn:aws:lambda:eu-west-1:123456789012:function:x",
                ),
            ],
            "codedeploy-hooks",
            "Whenever",
        ),
        case(
            "deploy: missing OIDC permission",
            &[
                ("mode", "deploy"),
                ("role-to-assume", "arn:aws:iam::123456789012:role/deploy"),
            ],
            "role-to-assume",
            "id-token: write",
        ),
        case(
            "deploy: github-deployment with an empty token",
            // `github-token: ''` in the workflow replaces the default job token.
            &[
                ("mode", "deploy"),
                ("github-deployment", "true"),
                ("github-token", " "),
            ],
            "github-token",
            "needs `github-token`",
        ),
        case(
            "deploy: github-deployment outside a repository",
            &[
                ("mode", "deploy"),
                ("github-deployment", "true"),
                ("github-token", "ghs_x"),
                ("GITHUB_REPOSITORY", "octo-app"),
            ],
            "github-deployment",
            "GITHUB_REPOSITORY",
        ),
        case(
            "render: comment-plan without a service",
            &[
                ("service", ""),
                ("task-definition", "web"),
                ("comment-plan", "true"),
            ],
            "comment-plan",
            "give `service`",
        ),
        case(
            "rollback: image does not apply",
            &[("mode", "rollback")],
            "image",
            "does not apply to mode rollback",
        ),
        case(
            "role session too short",
            &[("role-duration-seconds", "60")],
            "role-duration-seconds",
            "900",
        ),
        case(
            "malformed region",
            &[("aws-region", "mars")],
            "aws-region",
            "mars",
        ),
        case(
            "environment line without =",
            &[("environment-variables", "RAILS_ENV")],
            "environment-variables",
            "expected KEY=value",
        ),
        case(
            "secret line without a value",
            &[("secrets", "DATABASE_URL")],
            "secrets",
            "DATABASE_URL",
        ),
        case(
            "invalid JSONPath",
            &[("set", "$.[[ = 1")],
            "set",
            "not a valid JSONPath",
        ),
        case(
            "pin-digest not a boolean",
            &[("pin-digest", "maybe")],
            "pin-digest",
            "maybe",
        ),
        case(
            "malformed digest",
            &[("image", "web@sha256:1234")],
            "image",
            "digest",
        ),
        case(
            "malformed task-definition ARN",
            &[(
                "task-definition",
                "arn:aws:ecs:eu-west-1:123456789012:task-definition",
            )],
            "task-definition",
            "task-definition",
        ),
        with_file(
            case(
                "containerDefinitions not a list",
                &[("task-definition", "td.json")],
                "task-definition",
                "containerDefinitions",
            ),
            "td.json",
            r#"{"family": "web", "containerDefinitions": {"name": "web"}}"#,
        ),
        with_file(
            case(
                "oversized task definition",
                &[("task-definition", "td.json")],
                "task-definition",
                "64 KiB",
            ),
            "td.json",
            oversized(),
        ),
    ];
    let n = cases.len();
    let mut problems = Vec::new();
    for c in cases {
        // Runner variables (GITHUB_*) among a case's pairs go to the environment.
        let (env, inputs): (Vec<_>, Vec<_>) =
            c.inputs.iter().partition(|(k, _)| k.starts_with("GITHUB_"));
        let mut run = ActionRun::new(Some(&emu), &inputs);
        for (k, v) in env {
            run = run.env(k, v);
        }
        for (path, text) in &c.files {
            run.write(path, text);
        }
        let done = run.run();
        let first = done
            .stdout
            .lines()
            .find(|l| l.starts_with("::error"))
            .unwrap_or("")
            .to_string();
        let expected_start = format!("::error title={}::", c.title);
        if done.code != 2 {
            problems.push(format!("{}: exit {}\n{first}", c.name, done.code));
        } else if !first.starts_with(&expected_start) || !first.contains(c.says) {
            problems.push(format!(
                "{}: expected {expected_start}…{}…, got\n{first}",
                c.name, c.says
            ));
        }
        let mutating = emu.mutating_calls();
        if !mutating.is_empty() {
            problems.push(format!("{}: mutating calls {mutating:?}", c.name));
        }
        if done.workspace.join(".fargate-deploy").exists() {
            problems.push(format!("{}: artifacts written after a failure", c.name));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    assert!(n >= 40, "{n} cases");
}

#[test]
fn cli_usage_errors_exit_2() {
    let done = ActionRun::new(None, &[])
        .cli(&["render", "--no-such-flag", "x"])
        .run();
    assert_eq!(done.code, 2);
    assert_contains(&done.stderr, "--no-such-flag");
    let done = ActionRun::new(None, &[]).cli(&["--version"]).run();
    assert_eq!(done.code, 0);
    assert_eq!(
        done.stdout.trim(),
        concat!("fargate-deploy ", env!("CARGO_PKG_VERSION"))
    );
}
