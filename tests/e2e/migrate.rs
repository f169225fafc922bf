//! End-to-end: `mode: migrate` against the emulator, whose task layer runs
//! one-off tasks through their lifecycle with exit codes and logs taken from
//! the FDEMU_* environment convention (tests/emulator/task_layer.py).

use crate::common;
use crate::common::assert_contains;

use std::time::{Duration, Instant};

use common::{ActionRun, Emulator, Finished};
use serde_json::{Value, json};

fn migrate(emu: &Emulator, env_lines: &str, extra: &[(&str, &str)]) -> ActionRun {
    let mut run = common::step(
        emu,
        "migrate",
        &[
            ("cluster", "prod"),
            ("service", "web"),
            ("image", "web:v2"),
            ("command", "bin/rails db:migrate"),
        ],
    );
    if !env_lines.is_empty() {
        run = run.input("environment-variables", env_lines);
    }
    for (k, v) in extra {
        run = run.input(k, v);
    }
    run
}

fn result(done: &Finished) -> Value {
    serde_json::from_str(done.output("result")).unwrap()
}

#[test]
fn exit_0_with_the_logs_in_the_action_output() {
    let emu = emulator!();
    let done = migrate(&emu, "FDEMU_LOG=== 20261101 CreateUsers: migrating|== 20261101 CreateUsers: migrated (0.0123s)\nFDEMU_LATE_LOG=bye from the late line", &[]).run();
    done.assert_code(0);
    done.assert_stages(
        "credentials → resolve image → render task definition → verify → register task definition → run task → wait for exit → report",
    );
    assert_contains(&done.stdout, "│ == 20261101 CreateUsers: migrating\n");
    assert!(
        done.stdout
            .contains("│ == 20261101 CreateUsers: migrated (0.0123s)\n")
    );
    assert!(
        done.stdout.contains("│ bye from the late line\n"),
        "a line that lands after STOPPED is still shown:\n{}",
        done.stdout
    );
    assert_eq!(done.output("exit-code"), "0");
    let task_arn = done.output("task-arn");
    assert!(task_arn.contains(":task/"), "{task_arn}");
    let task_id = task_arn.rsplit('/').next().unwrap();
    assert_eq!(
        done.output("log-stream"),
        format!("/ecs/web/ecs/web/{task_id}")
    );
    assert!(
        done.output("task-definition-arn")
            .ends_with("task-definition/web:2")
    );
    assert!(done.stdout.contains(&format!(
        "console.aws.amazon.com/ecs/v2/clusters/prod/tasks/{task_id}"
    )));
    assert_contains(&done.summary, "Migration exit code: **0**");
    assert_contains(
        &done.summary,
        &format!(
            "[task](https://eu-west-1.console.aws.amazon.com/ecs/v2/clusters/prod/tasks/{task_id}/configuration?region=eu-west-1) · [log stream](https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/$252Fecs$252Fweb/log-events/ecs$252Fweb$252F{task_id})"
        ),
    );
    assert_contains(&done.summary, "bye from the late line");
    assert_eq!(result(&done)["targets"][0]["result"], "success");

    // The task ran the rendered definition, with the command override, where the service runs.
    let run = &emu.params("RunTask")[0];
    assert!(
        run["taskDefinition"]
            .as_str()
            .unwrap()
            .ends_with("task-definition/web:2")
    );
    assert_eq!(
        run["overrides"]["containerOverrides"],
        json!([{"name": "web", "command": ["bin/rails", "db:migrate"]}])
    );
    assert_eq!(
        run["networkConfiguration"]["awsvpcConfiguration"]["subnets"], emu.seed["subnets"],
        "subnets copied from the service"
    );
    assert_eq!(
        run["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"],
        json!([emu.seed_str("security_group")])
    );
    assert_eq!(
        run["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"],
        "DISABLED"
    );
    assert_eq!(run["launchType"], "FARGATE");
    assert_eq!(run["platformVersion"], "1.4.0");
    assert_eq!(run["startedBy"], "fargate-deploy");
    assert_eq!(run["propagateTags"], "TASK_DEFINITION");
}

#[test]
fn a_non_zero_exit_fails_the_step_naming_the_code() {
    let emu = emulator!();
    let done = migrate(&emu, "FDEMU_EXIT_CODE=3\nFDEMU_LOG=rake aborted!|PG::UndefinedTable: relation \"users\" does not exist", &[]).run();
    done.assert_code(1);
    assert_eq!(
        done.first_error(),
        "::error title=migrate::migration container web exited with code 3"
    );
    assert_eq!(done.output("exit-code"), "3");
    assert!(
        done.stdout
            .contains("│ PG::UndefinedTable: relation \"users\" does not exist")
    );
    assert!(
        !done.stdout.contains("[8/8] report"),
        "no stage after the failed one"
    );
    assert_contains(&done.summary, "Migration exit code: **3**");
    assert_eq!(result(&done)["result"], "failure");
    println!(
        "failing migration, as the action prints it:\n{}",
        done.stdout
    );
}

#[test]
fn a_task_that_fails_to_start_quotes_the_reasons() {
    let emu = emulator!();
    let reason = "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref";
    let done = migrate(&emu, &format!("FDEMU_FAIL_TO_START={reason}"), &[]).run();
    done.assert_code(1);
    // Named by its class, short; ECS's whole words and what to do follow.
    assert_eq!(
        done.first_error(),
        "::error title=migrate::the migration task did not run: CannotPullContainerError"
    );
    assert_contains(&done.stdout, &format!("TaskFailedToStart: {reason}"));
    assert_contains(
        &done.stdout,
        "the image cannot be pulled: check that it exists in its registry",
    );
    assert!(
        !done.outputs.contains_key("exit-code"),
        "no exit code without a run"
    );
}

#[test]
fn a_hanging_task_is_stopped_at_the_timeout() {
    let emu = emulator!();
    let started = Instant::now();
    let done = migrate(
        &emu,
        "FDEMU_RUN_SECONDS=120",
        &[("timeout-minutes", "0.05")],
    )
    .run();
    done.assert_code(1);
    assert!(started.elapsed() < Duration::from_secs(15));
    done.assert_error_contains(
        "did not finish within timeout-minutes (0.05 min); the task was stopped",
    );
    let stops = emu.params("StopTask");
    assert_eq!(stops.len(), 1, "{:?}", emu.calls());
    assert_eq!(stops[0]["task"], done.output("task-arn"));
    assert!(
        stops[0]["reason"].as_str().unwrap().contains("timed out"),
        "{}",
        stops[0]
    );
}

#[test]
fn leaving_the_task_running_when_told_to() {
    let emu = emulator!();
    let done = migrate(
        &emu,
        "FDEMU_RUN_SECONDS=120",
        &[
            ("timeout-minutes", "0.03"),
            ("stop-task-on-cancel", "false"),
        ],
    )
    .run();
    assert_eq!(done.code, 1);
    assert!(emu.params("StopTask").is_empty());
    done.assert_error_contains("left running");
}

#[test]
fn migrate_then_deploy_registers_once() {
    let emu = emulator!();
    let migrated = migrate(&emu, "", &[]).run();
    migrated.assert_code(0);
    let deployed = common::step(
        &emu,
        "deploy",
        &[("cluster", "prod"), ("service", "web"), ("image", "web:v2")],
    )
    .run();
    deployed.assert_code(0);
    assert_eq!(
        deployed.output("task-definition-arn"),
        migrated.output("task-definition-arn")
    );
    assert!(
        deployed
            .stdout
            .contains("(reused: identical to the latest revision)")
    );
    assert_eq!(
        emu.calls()
            .iter()
            .filter(|c| *c == "ecs:RegisterTaskDefinition")
            .count(),
        1
    );
}

#[test]
fn without_awslogs_one_notice_and_without_a_service_the_inputs_place_it() {
    let emu = emulator!();
    let run = common::step(
        &emu,
        "migrate",
        &[
            ("cluster", "prod"),
            ("image", "web:v2"),
            ("task-definition", "migrate.json"),
        ],
    );
    run.write(
        "migrate.json",
        r#"{"family": "migrate", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
            "containerDefinitions": [{"name": "app", "image": "placeholder", "memory": 512}]}"#,
    );
    let subnet = emu.seed["subnets"][1].as_str().unwrap().to_string();
    let sg = emu.seed_str("security_group");
    let done = run
        .input("subnets", &subnet)
        .input("security-groups", &sg)
        .input("assign-public-ip", "ENABLED")
        .run();
    done.assert_code(0);
    assert_eq!(
        done.stdout
            .matches("::notice title=logs::container app does not use the awslogs driver")
            .count(),
        1
    );
    let run = &emu.params("RunTask")[0];
    assert_eq!(
        run["networkConfiguration"]["awsvpcConfiguration"],
        json!({"subnets": [subnet], "securityGroups": [sg], "assignPublicIp": "ENABLED"})
    );

    // And without subnets it is refused before anything changes.
    let again = common::step(
        &emu,
        "migrate",
        &[
            ("cluster", "prod"),
            ("image", "web:v2"),
            ("task-definition", "migrate"),
        ],
    )
    .run();
    again.assert_code(2);
    assert!(
        again
            .first_error()
            .starts_with("::error title=subnets::input `subnets` is required"),
        "{}",
        again.first_error()
    );
    assert_eq!(emu.params("RunTask").len(), 1);
}
