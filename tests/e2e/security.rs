//! End-to-end: text the tool did not write — container logs, service
//! events, task-definition fields from a pull request, image references,
//! AWS and GitHub error messages — stays text. Every run's stdout is read by
//! the port of the runner's command parser (common::runner_parser, through
//! the harness): a forged command, a stop-commands, a `##[` in a printed
//! line or a secret outside a processed `add-mask` fails the run's test.
//! Also: the plan comment hides environment values, and no file is read or
//! written through a symbolic link leading out of the workspace.

use crate::common;
use crate::common::assert_contains;

use common::runner_parser::HOSTILE;
use common::{ActionRun, Emulator, Finished};
use serde_json::json;

fn hostile_json() -> String {
    serde_json::to_string(&HOSTILE).unwrap()
}

/// `mode: deploy` of web:v2 to service web in prod, plus `extra` inputs.
fn deploy_web(emu: &Emulator, extra: &[(&str, &str)]) -> ActionRun {
    let mut inputs = vec![
        ("mode", "deploy"),
        ("aws-region", "eu-west-1"),
        ("cluster", "prod"),
        ("service", "web"),
        ("image", "web:v2"),
    ];
    inputs.extend_from_slice(extra);
    ActionRun::new(Some(emu), &inputs)
}

/// Every hostile string was printed (as text): the check saw them.
fn printed_all(done: &Finished) {
    for marker in [
        "FORGEDx9",
        "FORGED Deploy approved",
        "FORGED-deployment-id",
        "FORGED legacy error",
    ] {
        assert!(
            done.stdout.contains(marker),
            "{marker} never printed:\n{}",
            done.stdout
        );
    }
}

#[test]
fn container_logs_cannot_stop_commands_or_unmask_refreshed_credentials() {
    let emu = emulator!();
    // Credentials refreshed during the wait, so their masks come after the
    // hostile lines (sessions of 152 s are due for refresh within 2 s of
    // issue under the SDK's jittered 150–300 s buffer; see e2e/faults.rs).
    emu.configure(json!({"sts_session_seconds": 152}));
    let done = common::step(
        &emu,
        "migrate",
        &[
            ("cluster", "prod"),
            ("service", "web"),
            ("image", "web:v2"),
            ("command", "bin/rails db:migrate"),
            ("role-to-assume", "arn:aws:iam::123456789012:role/deploy"),
            (
                "environment-variables",
                &format!(
                    "FDEMU_RUN_SECONDS=5\nFDEMU_EXIT_CODE=3\nFDEMU_LOG_JSON={}",
                    hostile_json()
                ),
            ),
        ],
    )
    .with_oidc(&emu)
    .run();
    done.assert_code(1);
    printed_all(&done);
    assert_contains(&done.stdout, "↳ ::stop-commands::FORGEDx9");
    let first_hostile = done.stdout.find("FORGEDx9").unwrap();
    assert!(
        done.stdout[first_hostile..].contains("\n::add-mask::"),
        "no credentials were masked after the hostile lines (the refresh did not happen):\n{}",
        done.stdout
    );
    // The summary quotes the log in a fence no line can close.
    assert!(done.summary.contains("<img src"), "the log is quoted");
    let rendered = common::markdown_outside_code(&done.summary);
    assert!(!rendered.contains("<img"), "{rendered}");
}

#[test]
fn task_definition_fields_from_a_pull_request_stay_text() {
    let emu = emulator!();
    for (i, h) in HOSTILE.iter().enumerate() {
        let td = json!({
            "family": format!("web{h}"),
            "containerDefinitions": [
                {"name": "app", "image": "placeholder"},
                {"name": h, "image": format!("sidecar:{h}"), "environment": [{"name": h, "value": "v"}]}
            ]
        });
        let done = common::step(
            &emu,
            "render",
            &[
                ("image", "web:v2"),
                ("task-definition", "deploy/taskdef.json"),
                ("container-name", "app"),
            ],
        );
        done.write("deploy/taskdef.json", &td.to_string());
        let done = done.run();
        assert!(done.code == 0 || done.code == 2, "{i}: {}", done.all_text());
        if i < 11 {
            assert!(
                done.stdout.contains("FORGED"),
                "{i}: not printed: {}",
                done.stdout
            );
        }
        let rendered = common::markdown_outside_code(&done.summary);
        assert!(
            !rendered.contains("<img") && !rendered.contains("](https://attacker"),
            "{i}: {rendered}\n{}",
            done.summary
        );
    }
    emu.assert_unchanged();
}

#[test]
fn service_events_and_stopped_reasons_stay_text() {
    let emu = emulator!({"event_note": format!(" {}", HOSTILE.join(" | "))});
    let done = deploy_web(&emu, &[("environment-variables", common::CANNOT_PULL)]).run();
    done.assert_code(1);
    printed_all(&done);
    let rendered = common::markdown_outside_code(&done.summary);
    assert!(
        !rendered.contains("<img") && rendered.contains("&lt;img"),
        "{}",
        done.summary
    );
    assert!(!rendered.contains("[Approve deploy](https://attacker"));
}

#[test]
fn aws_error_messages_stay_text() {
    let Some(emu) = Emulator::try_start_with_fault_proxy() else {
        return;
    };
    let message = format!(
        "User: arn:aws:sts::123456789012:assumed-role/deploy is not authorized {}",
        HOSTILE.join(" ")
    );
    emu.inject(json!({"ecs:UpdateService": [format!("denied:{message}")]}));
    let done = deploy_web(&emu, &[]).through_proxy(&emu).run();
    done.assert_code(1);
    assert_eq!(emu.faults()["injected"]["denied"], 1);
    printed_all(&done);
}

#[test]
fn github_error_messages_stay_text() {
    let emu = emulator!();
    emu.github_control(json!({
        "fail": {"repos/create-deployment": 5},
        "fail_message": HOSTILE.join("\n"),
    }));
    let done = deploy_web(&emu, &[("github-deployment", "true")])
        .with_github(&emu)
        .run();
    done.assert_code(0);
    assert_contains(&done.stdout, "FORGEDx9");
}

#[test]
fn an_image_reference_stays_text() {
    for (i, h) in HOSTILE.iter().enumerate() {
        let run = ActionRun::new(
            None,
            &[
                ("mode", "render"),
                ("task-definition", "td.json"),
                ("image", &format!("web:v2{h}")),
            ],
        );
        run.write("td.json", TD);
        let done = run.run();
        assert_eq!(done.code, 2, "{h:?}: {}", done.all_text());
        if i < 11 {
            assert!(
                done.stdout.contains("FORGED"),
                "{h:?}: not printed: {}",
                done.stdout
            );
        }
    }
}

/// A pull request that removes `STRIPE_API_KEY` and a step that sets a
/// secret as an environment variable: the comment names them, never their values.
#[test]
fn the_plan_comment_hides_environment_values() {
    let emu = emulator!();
    let deployed = deploy_web(
        &emu,
        &[(
            "environment-variables",
            "STRIPE_API_KEY=sk_live_51Hx9abcdef",
        )],
    )
    .run();
    deployed.assert_code(0);
    let run = common::step(
        &emu,
        "render",
        &[
            ("cluster", "prod"),
            ("service", "web"),
            ("image", "web:v2"),
            ("task-definition", "deploy/taskdef.json"),
            ("environment-variables", "DB_PASSWORD=hunter2-from-secrets"),
            ("comment-plan", "true"),
        ],
    )
    .with_github(&emu)
    .on_pull_request(9);
    run.write(
        "deploy/taskdef.json",
        r#"{"family": "web", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
            "containerDefinitions": [{"name": "web", "image": "placeholder", "essential": true,
            "environment": [{"name": "RAILS_ENV", "value": "production"}]}]}"#,
    );
    let done = run.run();
    done.assert_code(0);
    let gh = emu.github();
    let body = gh["comments"]["9"][0]["body"].as_str().unwrap().to_string();
    for value in ["sk_live_51Hx9abcdef", "hunter2-from-secrets"] {
        assert!(!body.contains(value), "{value} in the comment:\n{body}");
        assert!(!done.summary.contains(value), "{value} in the summary");
    }
    assert!(
        body.contains("| `web: environment STRIPE_API_KEY` | `(set)` | `removed` |"),
        "{body}"
    );
    assert!(
        body.contains("| `web: environment DB_PASSWORD` | — | `added` |"),
        "{body}"
    );
}

fn render_in(run: ActionRun) -> Finished {
    run.input("mode", "render")
        .input("aws-region", "eu-west-1")
        .input("image", "registry.example/web:v2")
        .input("task-definition", "td.json")
        .run()
}

const TD: &str = r#"{"family": "web", "containerDefinitions": [{"name": "web", "image": "x"}]}"#;

#[test]
fn artifacts_are_never_written_through_a_symbolic_link() {
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim.json");
    std::fs::write(&victim, "keep").unwrap();

    // A file the pull request committed as a link.
    let run = ActionRun::new(None, &[]);
    run.write("td.json", TD);
    std::fs::create_dir_all(run.workspace.path().join(".fargate-deploy")).unwrap();
    std::os::unix::fs::symlink(
        &victim,
        run.workspace
            .path()
            .join(".fargate-deploy/taskdef.rendered.json"),
    )
    .unwrap();
    let done = render_in(run);
    done.assert_code(2);
    done.assert_error_starts_with("::error title=artifacts-dir::");
    done.assert_error_contains("is a symbolic link");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");

    // The artifacts directory itself a link out of the workspace.
    let run = ActionRun::new(None, &[]);
    run.write("td.json", TD);
    std::os::unix::fs::symlink(outside.path(), run.workspace.path().join(".fargate-deploy"))
        .unwrap();
    let done = render_in(run);
    done.assert_code(2);
    done.assert_error_contains("leads outside the workspace");
    let left: Vec<_> = std::fs::read_dir(outside.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "nothing written outside");

    // A task-definition file that is a link to a file outside.
    let secret = outside.path().join("runner-secret.json");
    std::fs::write(&secret, r#"{"family": "stolen-runner-file", "containerDefinitions": [{"name": "x", "image": "y"}]}"#).unwrap();
    let run = ActionRun::new(None, &[]);
    std::os::unix::fs::symlink(&secret, run.workspace.path().join("td.json")).unwrap();
    let done = render_in(run);
    done.assert_code(2);
    done.assert_error_starts_with("::error title=task-definition::");
    assert!(!done.all_text().contains("stolen-runner-file"));

    // The CLI takes the paths its user gives.
    let run = ActionRun::new(None, &[]);
    run.write("td.json", TD);
    let out = outside.path().join("cli-out");
    let done = run
        .cli(&[
            "render",
            "--image",
            "registry.example/web:v2",
            "--task-definition",
            "td.json",
            "--artifacts-dir",
            out.to_str().unwrap(),
        ])
        .run();
    done.assert_code(0);
    assert!(out.join("taskdef.json").exists());
}

/// The secret scan of every run can fail: a real run that writes the static
/// secret key into an artifact fails its test. The key reaches the run from
/// AWS, not from the workspace: the family's latest revision (registered
/// beforehand) carries it as an environment value, and the rendered
/// definition written to the workspace holds it.
#[test]
#[should_panic(expected = "a secret (fdemuS…) leaked into")]
fn a_secret_planted_in_a_real_run_fails_the_scan() {
    let emu = emulator!();
    let outside = tempfile::tempdir().unwrap();
    let file = outside.path().join("careless.json");
    let td = json!({"family": "careless", "containerDefinitions": [{"name": "web", "image": "x", "memory": 512,
        "environment": [{"name": "AWS_SECRET_ACCESS_KEY", "value": common::STATIC_SECRET_KEY}]}]});
    std::fs::write(&file, td.to_string()).unwrap();
    emu.register_with_boto3(&file).unwrap();
    let done = common::step(
        &emu,
        "render",
        &[("image", "web:v2"), ("task-definition", "careless")],
    )
    .run();
    unreachable!("the scan passed a leak: {}", done.all_text());
}
