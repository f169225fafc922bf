//! End-to-end: ECS-native BLUE_GREEN deployments, followed by status and
//! lifecycle stage (emulator: tests/emulator/ecs_layer.py).

use crate::common;
use crate::common::{assert_contains, assert_lacks};

use common::{Emulator, Finished};
use serde_json::json;

/// A step of `mode` for `service` in the prod cluster (deploy: image web:v2).
pub(crate) fn run(emu: &Emulator, mode: &str, service: &str, extra: &[(&str, &str)]) -> Finished {
    let image: &[(&str, &str)] = if mode == "deploy" {
        &[("image", "web:v2")]
    } else {
        &[]
    };
    common::prod_step(emu, mode, service, &[image, extra].concat()).run()
}

#[test]
fn a_native_blue_green_deployment_is_followed_stage_by_stage() {
    let emu = emulator!({"rollout_seconds": 12});
    let done = run(&emu, "deploy", "native", &[]);
    done.assert_code(0);
    let arn = done.output("deployment-id");
    assert!(arn.contains(":service-deployment/prod/native/"), "{arn}");
    // Each stage lasts about one poll interval (the bake time three), so the
    // exact sequence is the scenario tests' job; here: several distinct stages,
    // in order, the bake time among them.
    let stages: Vec<&str> = done
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("[native] IN_PROGRESS · "))
        .collect();
    assert!(stages.len() >= 5, "{stages:?}");
    assert!(stages.contains(&"BAKE_TIME"), "{stages:?}");
    let order = [
        "RECONCILE_SERVICE",
        "PRE_SCALE_UP",
        "SCALE_UP",
        "POST_SCALE_UP",
        "TEST_TRAFFIC_SHIFT",
        "POST_TEST_TRAFFIC_SHIFT",
        "PRODUCTION_TRAFFIC_SHIFT",
        "POST_PRODUCTION_TRAFFIC_SHIFT",
        "BAKE_TIME",
        "CLEAN_UP",
    ];
    let positions: Vec<usize> = stages
        .iter()
        .map(|s| order.iter().position(|o| o == s).unwrap())
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "stages out of order: {stages:?}"
    );
    assert_contains(&done.stdout, "[native] SUCCESSFUL");
    println!(
        "native blue/green deploy, as the action prints it:\n{}",
        done.stdout
    );
}

#[test]
fn traffic_shifted_returns_without_sitting_through_bake_time() {
    let emu = emulator!({"rollout_seconds": 12});
    let done = run(
        &emu,
        "deploy",
        "native",
        &[("wait-until", "traffic-shifted")],
    );
    done.assert_code(0);
    assert_contains(
        &done.stdout,
        "production traffic is on the new revision (wait-until: traffic-shifted); not waiting through bake time",
    );
    assert_lacks(&done.stdout, "[native] SUCCESSFUL");
}

#[test]
fn a_crashing_revision_is_rolled_back_and_reported_as_such() {
    let emu = emulator!();
    let done = run(
        &emu,
        "deploy",
        "native",
        &[("environment-variables", common::CANNOT_PULL)],
    );
    done.assert_code(1);
    // The green tasks' own reasons, as for a rolling deployment.
    assert_contains(
        &done.stdout,
        "CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref: not found",
    );
    assert_contains(&done.stdout, "stopped task ");
    // The tool's wording and classification; the reason after it is ECS's.
    let error = done.first_error();
    assert!(
        error.starts_with("::error title=deploy::deployment of native failed: service deployment ")
            && error.contains(" is ROLLBACK_IN_PROGRESS: "),
        "{error}"
    );
    let result: serde_json::Value = serde_json::from_str(done.output("result")).unwrap();
    assert_eq!(result["targets"][0]["result"], "rolled back");
}

#[test]
fn a_deployment_paused_at_a_hook_says_what_it_waits_for() {
    let emu = emulator!();
    let done = run(&emu, "deploy", "gated", &[("timeout-minutes", "0.1")]);
    done.assert_code(1);
    assert!(
        done.stdout.contains(
            "::warning title=deploy::gated: paused at POST_TEST_TRAFFIC_SHIFT: lifecycle hook hook-"
        ) && done
            .stdout
            .contains("(PAUSE) awaits ContinueServiceDeployment; it times out at"),
        "{}",
        done.stdout
    );
    assert_contains(&done.stdout, ", then ROLLBACK");
    done.assert_error_contains("it was IN_PROGRESS at lifecycle stage POST_TEST_TRAFFIC_SHIFT");
}

#[test]
fn rollback_stops_the_deployment_in_progress_and_follows_the_rollback() {
    let emu = emulator!({"rollout_seconds": 60});
    let started = run(&emu, "deploy", "native", &[("wait-until", "none")]);
    started.assert_code(0);
    let arn = started.output("deployment-id").to_string();
    let done = run(&emu, "rollback", "native", &[]);
    done.assert_code(0);
    assert_contains(
        &done.stdout,
        "is in progress; it will be stopped and rolled back",
    );
    assert_eq!(
        emu.params("StopServiceDeployment"),
        [json!({"serviceDeploymentArn": arn, "stopType": "ROLLBACK"})]
    );
    assert_contains(&done.stdout, "[native] ROLLBACK_SUCCESSFUL");
    // The roll back stage's result names what it did.
    let id = arn.rsplit('/').next().unwrap();
    assert_contains(
        &done.stdout,
        &format!("✓ native: StopServiceDeployment (ROLLBACK) of {id} ("),
    );
    println!("native rollback, as the action prints it:\n{}", done.stdout);
}

/// wait-until: traffic-shifted with a PAUSE hook after production traffic
/// moved: the deployment is not done — the hook rolls it back when it times
/// out — so the step never reports success while the hook awaits action.
#[test]
fn traffic_shifted_is_no_success_while_a_hook_awaits_action() {
    let emu = emulator!();
    let done = run(
        &emu,
        "deploy",
        "gated-late",
        &[
            ("wait-until", "traffic-shifted"),
            ("timeout-minutes", "0.1"),
        ],
    );
    done.assert_code(1);
    assert_contains(
        &done.stdout,
        "gated-late: paused at POST_PRODUCTION_TRAFFIC_SHIFT: lifecycle hook hook-",
    );
    // The API's default timeout: 1440 minutes, then ROLLBACK.
    assert_contains(&done.stdout, ", then ROLLBACK");
    done.assert_error_contains(
        "it was IN_PROGRESS at lifecycle stage POST_PRODUCTION_TRAFFIC_SHIFT",
    );
    let result: serde_json::Value = serde_json::from_str(done.output("result")).unwrap();
    assert_eq!(result["result"], "failure");
}

/// A deploy of `native` whose revision sets its alarm off in the bake time
/// (with `config` for the emulator): exit 1, the failure naming the alarm.
fn alarm_rollback(emu: &Emulator, config: serde_json::Value) -> Finished {
    emu.configure(json!({"rollout_seconds": 6}));
    emu.configure(config);
    let done = run(
        emu,
        "deploy",
        "native",
        &[("environment-variables", "FDEMU_ALARM=web-5xx")],
    );
    done.assert_code(1);
    done.assert_error_contains("; CloudWatch alarm web-5xx went into ALARM");
    done
}

/// What every run whose watched deployment an alarm failed shows: the plan
/// named the alarms that watch `service`'s deployment, and why `alarm`
/// fired, in CloudWatch's words, is in the log and the summary — from one
/// DescribeAlarms (in CloudWatch's CBOR protocol), after the failure.
#[track_caller]
pub(crate) fn assert_alarm_explained(emu: &Emulator, done: &Finished, service: &str, alarm: &str) {
    assert_contains(
        &done.stdout,
        &format!("{service}: watched by CloudWatch alarm(s) {alarm};"),
    );
    let why = format!("CloudWatch alarm {alarm} is in ALARM since ");
    assert_contains(&done.stdout, &why);
    assert_contains(
        &done.stdout,
        "was greater than the threshold (5.0) (minimum 1 datapoint for OK -> ALARM transition).",
    );
    assert_contains(&done.summary, "CloudWatch alarms:");
    assert_contains(&done.summary, &why);
    let calls = emu.calls();
    assert_eq!(
        calls
            .iter()
            .filter(|c| *c == "monitoring:DescribeAlarms")
            .count(),
        1,
        "{calls:?}"
    );
}

/// A deployment alarm (`deploymentConfiguration.alarms`) that goes into
/// ALARM during the bake time rolls the deployment back; the failure names
/// the alarm, from the service deployment's `alarms.triggeredAlarmNames`,
/// and says why it fired: CloudWatch's state reason (DescribeAlarms, in
/// CloudWatch's CBOR protocol), in the log and the summary.
#[test]
fn an_alarm_rollback_names_the_alarm_and_why_it_fired() {
    let emu = emulator!();
    let done = alarm_rollback(&emu, json!({}));
    let result: serde_json::Value = serde_json::from_str(done.output("result")).unwrap();
    assert_eq!(result["targets"][0]["result"], "rolled back");
    assert_alarm_explained(&emu, &done, "native", "web-5xx");
    done.assert_runner_reads_only_our_commands();
}

/// Without cloudwatch:DescribeAlarms the failure stands as ECS said it, and
/// a warning names the action to add.
#[test]
fn an_alarm_rollback_without_describe_alarms_warns_which_action_to_add() {
    let emu = emulator!();
    let done = alarm_rollback(&emu, json!({"deny": ["monitoring:DescribeAlarms"]}));
    assert_contains(
        &done.stdout,
        "::warning title=deploy::could not read the CloudWatch alarms web-5xx: ",
    );
    assert_contains(
        &done.stdout,
        "add cloudwatch:DescribeAlarms to the role's policy",
    );
    assert_lacks(&done.stdout, "is in ALARM since");
}

/// fail-fast: a revision whose containers start and exit again and again
/// (a crash loop the circuit breaker does not count: ECS would keep the
/// deployment in SCALE_UP until the timeout) is stopped with
/// StopServiceDeployment ROLLBACK once three of its tasks did, and the
/// failure shows the crashed container's last log lines.
#[test]
fn fail_fast_stops_a_crash_looping_native_deployment_with_rollback() {
    let emu = emulator!();
    let done = run(
        &emu,
        "deploy",
        "native",
        &[(
            "environment-variables",
            "FDEMU_EXIT_CODE=3\nFDEMU_LOG=booting|panic: DATABASE_URL is not set",
        )],
    );
    done.assert_code(1);
    let error = done.first_error();
    assert!(
        error.starts_with("::error title=deploy::deployment of native failed: fail-fast: crash loop: 3 tasks of deployment ")
            && error.contains("exited with code 3 (web)")
            && error.contains("stopped with rollback: StopServiceDeployment (ROLLBACK) of service deployment "),
        "{error}"
    );
    assert_contains(&done.stdout, "panic: DATABASE_URL is not set");
    assert!(emu.saw("ecs:StopServiceDeployment"));
    let result: serde_json::Value = serde_json::from_str(done.output("result")).unwrap();
    assert_eq!(result["targets"][0]["result"], "rolled back");
    // Its alarm watched, but not in ALARM: the failure names none.
    assert_lacks(&done.stdout, "CloudWatch alarm web-5xx is in ALARM");
}
