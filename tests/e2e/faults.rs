//! Fault injection: the real binary against the emulator through a proxy
//! (tests/emulator/proxy.py) that throttles, fails with 500/503, resets
//! connections and stalls answers. Every run must still end with the true
//! outcome; every planned fault must have been injected. Run with
//! `--nocapture` to see the figures.

use crate::common;
use crate::common::assert_contains;

use common::{ActionRun, Emulator, Finished};
use serde_json::{Value, json};

fn run(emu: &Emulator, inputs: &[(&str, &str)]) -> Finished {
    let mut all = vec![
        ("aws-region", "eu-west-1"),
        ("cluster", "prod"),
        ("service", "web"),
    ];
    all.extend_from_slice(inputs);
    ActionRun::new(Some(emu), &all).through_proxy(emu).run()
}

/// Every planned fault was injected; returns how many, by kind.
fn all_injected(emu: &Emulator) -> Value {
    let f = emu.faults();
    assert_eq!(f["left"], json!({}), "faults never injected: {f}");
    f["injected"].clone()
}

fn planned(plan: &Value) -> u64 {
    plan.as_object()
        .unwrap()
        .values()
        .map(|v| v.as_array().unwrap().len() as u64)
        .sum()
}

fn total(injected: &Value) -> u64 {
    injected
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum()
}

#[test]
fn a_migration_ends_with_its_true_exit_code_through_faults() {
    let Some(emu) = Emulator::try_start_with_fault_proxy() else {
        return;
    };
    let plan = json!({
        "ecr:DescribeImages": ["reset"],
        "ecs:DescribeServices": ["503", "throttle"],
        "ecs:DescribeTaskDefinition": ["500"],
        "ecs:RegisterTaskDefinition": ["throttle"],
        "ecs:RunTask": ["throttle", "throttle"],
        // Up to four faults in a row can meet one call (five attempts).
        "ecs:DescribeTasks": ["throttle", "503", "reset", "stall:2"],
        "logs:GetLogEvents": ["500", "throttle", "reset", "500"],
    });
    emu.inject(plan.clone());
    let ok = run(
        &emu,
        &[
            ("mode", "migrate"),
            ("image", "web:v2"),
            ("command", "bin/rails db:migrate"),
            (
                "environment-variables",
                "FDEMU_RUN_SECONDS=6\nFDEMU_LOG=migrating|migrated",
            ),
        ],
    );
    ok.assert_code(0);
    assert_eq!(ok.output("exit-code"), "0");
    assert_contains(&ok.stdout, "│ migrated");
    let first = all_injected(&emu);

    // The same faults again, and a migration that fails: still its exit code.
    let plan_copy = plan.clone();
    emu.inject(plan);
    let failed = run(
        &emu,
        &[
            ("mode", "migrate"),
            ("image", "web:v2"),
            ("command", "bin/rails db:migrate"),
            (
                "environment-variables",
                "FDEMU_RUN_SECONDS=6\nFDEMU_EXIT_CODE=3",
            ),
        ],
    );
    failed.assert_code(1);
    failed.assert_error_contains("exited with code 3");
    let both = all_injected(&emu);
    println!(
        "migrate: {} faults injected and survived over 2 runs ({both}); first run {first}",
        total(&both)
    );
    assert_eq!(total(&both), 2 * planned(&plan_copy));
}

#[test]
fn a_deployment_ends_with_its_true_outcome_through_faults() {
    let Some(emu) = Emulator::try_start_with_fault_proxy() else {
        return;
    };
    let plan = json!({
        "ecr:DescribeImages": ["throttle"],
        "ecs:DescribeServices": ["throttle", "throttle", "503", "reset", "stall:2", "500", "throttle"],
        "ecs:DescribeTaskDefinition": ["reset"],
        "ecs:RegisterTaskDefinition": ["503"],
        "ecs:UpdateService": ["throttle"],
        "ecs:ListTasks": ["throttle"],
    });
    emu.inject(plan.clone());
    let ok = run(&emu, &[("mode", "deploy"), ("image", "web:v2")]);
    ok.assert_code(0);
    assert_contains(&ok.summary, "success");
    let registered = emu.params("UpdateService");
    assert_eq!(registered.len(), 1, "one update, whatever the retries");

    // A crashing revision behind the same faults: the circuit breaker's
    // rollback is reported as a failure, not a success.
    let second = json!({
        "ecs:DescribeServices": ["throttle", "503", "reset", "500"],
        "ecs:UpdateService": ["throttle"],
        "ecs:ListTasks": ["503"],
        "ecs:DescribeTasks": ["throttle"],
    });
    emu.inject(second.clone());
    let crashed = run(
        &emu,
        &[
            ("mode", "deploy"),
            ("image", "web:v1"),
            ("environment-variables", common::CANNOT_PULL),
        ],
    );
    crashed.assert_code(1);
    // The tool's own classification, not the emulator's reason text.
    assert_contains(&crashed.first_error(), "ECS is rolling back to web:");
    let result: serde_json::Value = serde_json::from_str(crashed.output("result")).unwrap();
    assert_eq!(result["result"], "failure");
    assert_eq!(result["targets"][0]["result"], "rolled back");
    let injected = all_injected(&emu);
    println!(
        "deploy: {} faults injected and survived over 2 runs ({injected})",
        total(&injected)
    );
    assert_eq!(total(&injected), planned(&plan) + planned(&second));
}

#[test]
fn credentials_that_run_out_mid_wait_are_refreshed_and_the_run_ends_truthfully() {
    let Some(emu) = Emulator::try_start_with_fault_proxy() else {
        return;
    };
    // Sessions of 152 s: the SDK's identity cache (buffer 300 s, jittered by
    // up to half of it) finds them due for refresh within 2 s of issue — the
    // end of a one-hour session, compressed.
    emu.configure(json!({"sts_session_seconds": 152}));
    // And AWS refusing a poll as expired, as for a session that ended early.
    emu.inject(json!({"ecs:DescribeTasks": ["expired", "expired"]}));
    let done = ActionRun::new(
        Some(&emu),
        &[
            ("aws-region", "eu-west-1"),
            ("cluster", "prod"),
            ("service", "web"),
            ("mode", "migrate"),
            ("image", "web:v2"),
            ("role-to-assume", "arn:aws:iam::123456789012:role/deploy"),
            (
                "environment-variables",
                "FDEMU_RUN_SECONDS=6\nFDEMU_EXIT_CODE=0",
            ),
        ],
    )
    .with_oidc(&emu)
    .through_proxy(&emu)
    .run();
    done.assert_code(0);
    assert_eq!(done.output("exit-code"), "0");
    let sts = emu
        .calls()
        .iter()
        .filter(|c| *c == "sts:AssumeRoleWithWebIdentity")
        .count();
    assert!(
        sts >= 2,
        "the credentials were refreshed during the wait ({sts} STS calls)"
    );
    let oidc = emu.oidc_requests().as_array().unwrap().len();
    assert_eq!(oidc, sts, "each refresh asked for a fresh OIDC token");
    let keys: std::collections::BTreeSet<String> = emu
        .requests()
        .iter()
        .filter(|r| r["operation"] == "DescribeTasks")
        .filter_map(|r| r["key"].as_str().map(str::to_string))
        .collect();
    assert!(
        keys.len() >= 2,
        "polls signed with the refreshed keys: {keys:?}"
    );
    let injected = all_injected(&emu);
    println!(
        "credential expiry: {sts} sessions, {} DescribeTasks keys, faults {injected}",
        keys.len()
    );
}
