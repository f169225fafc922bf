//! End-to-end: `scheduled-tasks` — the EventBridge rules' ECS targets and
//! the EventBridge Scheduler schedules that run a deployed family move to
//! the new revision once the deployments succeeded (never before, never on
//! failure), and back with `mode: rollback`. The seed's tasks (see
//! tests/emulator/seed.py): rules `nightly-report` and `audit`, schedules
//! `default/hourly-sync`, `default/latest-cleanup` (family only) and
//! `batch/staging-sync` (another cluster), all on the worker family.

use serde_json::{Value, json};

use crate::common;
use crate::common::assert_contains;

use common::{Emulator, Finished};

fn worker(emu: &Emulator, mode: &str, extra: &[(&str, &str)]) -> Finished {
    let image: &[(&str, &str)] = match mode {
        "rollback" => &[],
        _ => &[("image", "web:v2")],
    };
    common::prod_step(emu, mode, "worker", &[image, extra].concat()).run()
}

fn td(short: &str) -> String {
    format!("arn:aws:ecs:eu-west-1:123456789012:task-definition/{short}")
}

/// The task definition each rule target and schedule runs now, as AWS says.
fn running(emu: &Emulator) -> Vec<(String, String)> {
    let mut now = Vec::new();
    for rule in ["nightly-report", "audit"] {
        let targets = emu.aws("events", "list_targets_by_rule", &json!({"Rule": rule}));
        for t in targets["Targets"].as_array().unwrap() {
            if let Some(ecs) = t.get("EcsParameters") {
                let at = format!("rule/{rule}/{}", t["Id"].as_str().unwrap());
                now.push((at, ecs["TaskDefinitionArn"].as_str().unwrap().to_string()));
            }
        }
    }
    for (group, name) in [
        ("default", "hourly-sync"),
        ("default", "latest-cleanup"),
        ("batch", "staging-sync"),
    ] {
        let s = schedule(emu, group, name);
        let arn = s["Target"]["EcsParameters"]["TaskDefinitionArn"]
            .as_str()
            .unwrap();
        now.push((format!("schedule/{group}/{name}"), arn.to_string()));
    }
    now
}

fn schedule(emu: &Emulator, group: &str, name: &str) -> Value {
    emu.aws(
        "scheduler",
        "get_schedule",
        &json!({"Name": name, "GroupName": group}),
    )
}

fn pairs(list: &[(&str, String)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.clone()))
        .collect()
}

#[test]
fn a_release_moves_every_rule_target_and_schedule_of_its_family_after_success() {
    let emu = emulator!();
    let before = schedule(&emu, "default", "hourly-sync");
    let done = worker(&emu, "deploy", &[("scheduled-tasks", "auto")]);
    done.assert_code(0);
    for line in [
        "scheduled task rule/nightly-report (target report): move from worker:1 to the revision deployed for worker once the deployments succeeded",
        "scheduled task rule/audit (target audit): move from worker:1 to the revision deployed for worker once the deployments succeeded",
        "scheduled task schedule/default/hourly-sync: move from worker:1 to the revision deployed for worker once the deployments succeeded",
        "scheduled task schedule/default/latest-cleanup: left on worker (it names the family without a revision, so it runs the latest ACTIVE one)",
    ] {
        assert_contains(&done.stdout, line);
    }
    assert!(
        !done.stdout.contains("staging-sync"),
        "another cluster's schedule is not ours"
    );
    assert_eq!(
        running(&emu),
        pairs(&[
            ("rule/nightly-report/report", td("worker:2")),
            ("rule/audit/audit", td("worker:2")),
            ("schedule/default/hourly-sync", td("worker:2")),
            ("schedule/default/latest-cleanup", td("worker")),
            ("schedule/batch/staging-sync", td("worker:1")),
        ])
    );
    // The moves came after the deployment was followed to its end.
    let calls = emu.calls();
    let last_wait = calls
        .iter()
        .rposition(|c| c == "ecs:DescribeServices")
        .unwrap();
    let first_move = calls
        .iter()
        .position(|c| c == "events:PutTargets" || c == "scheduler:UpdateSchedule")
        .unwrap();
    assert!(first_move > last_wait, "{calls:?}");
    // A rule target is written back as it was read, its task definition changed.
    // (The rules and the schedule are moved concurrently, in no set order.)
    let put = emu
        .params("PutTargets")
        .into_iter()
        .find(|p| p["Rule"] == "nightly-report")
        .unwrap();
    let target = put["Targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["Id"] == "report")
        .expect("the ECS target");
    assert_eq!(
        put["Targets"].as_array().unwrap().len(),
        1,
        "the Lambda target is not touched"
    );
    assert_contains(target["Input"].as_str().unwrap(), "bin/report");
    assert_eq!(
        target["RoleArn"],
        "arn:aws:iam::123456789012:role/ecs-events"
    );
    assert_eq!(target["EcsParameters"]["LaunchType"], "FARGATE");
    // UpdateSchedule replaces the whole schedule: every field is sent.
    let update = emu
        .params("UpdateSchedule")
        .into_iter()
        .find(|p| p["Name"] == "hourly-sync")
        .unwrap_or_else(|| panic!("{:?}", emu.params("UpdateSchedule")));
    for field in [
        "ScheduleExpression",
        "ScheduleExpressionTimezone",
        "Description",
        "State",
        "FlexibleTimeWindow",
        "ActionAfterCompletion",
    ] {
        assert_eq!(update[field], before[field], "{field}");
    }
    let mut expected = before["Target"].clone();
    expected["EcsParameters"]["TaskDefinitionArn"] = json!(td("worker:2"));
    assert_eq!(update["Target"], expected);
    assert_contains(&done.summary, "Scheduled tasks moved");
    assert_contains(
        &done.summary,
        "schedule/default/hourly-sync: worker:1 → worker:2",
    );
    assert_contains(&done.stdout, "::group::[10/10] report");
}

#[test]
fn a_failed_deployment_moves_no_scheduled_task() {
    let emu = emulator!();
    let fail = common::CANNOT_PULL;
    let done = worker(
        &emu,
        "deploy",
        &[("scheduled-tasks", "auto"), ("environment-variables", fail)],
    );
    done.assert_code(1);
    assert!(!emu.saw("events:PutTargets") && !emu.saw("scheduler:UpdateSchedule"));
    assert!(
        running(&emu)
            .iter()
            .all(|(_, arn)| !arn.ends_with("worker:2"))
    );
}

#[test]
fn named_tasks_and_exclusions_choose_what_moves() {
    let emu = emulator!();
    let done = worker(
        &emu,
        "deploy",
        &[
            ("scheduled-tasks", "auto"),
            ("scheduled-tasks-exclude", "rule/audit"),
        ],
    );
    done.assert_code(0);
    assert_contains(
        &done.stdout,
        "scheduled task rule/audit (target audit): left on worker:1 (scheduled-tasks-exclude)",
    );
    let now = running(&emu);
    assert_eq!(now[1], ("rule/audit/audit".to_string(), td("worker:1")));
    assert_eq!(now[2].1, td("worker:2"));

    let emu = emulator!();
    let done = worker(
        &emu,
        "deploy",
        &[("scheduled-tasks", "schedule/hourly-sync")],
    );
    done.assert_code(0);
    assert!(
        !emu.saw("events:PutTargets"),
        "only the named schedule moves"
    );
    assert_eq!(running(&emu)[2].1, td("worker:2"));
    assert!(
        !emu.saw("events:ListRuleNamesByTarget"),
        "nothing is searched for"
    );
}

#[test]
fn rollback_moves_the_scheduled_tasks_back_with_the_service() {
    let emu = emulator!();
    worker(&emu, "deploy", &[("scheduled-tasks", "auto")]).assert_code(0);
    let done = worker(&emu, "rollback", &[("scheduled-tasks", "auto")]);
    done.assert_code(0);
    assert_contains(
        &done.stdout,
        "scheduled task schedule/default/hourly-sync: move from worker:2 to worker:1 once the deployments succeeded",
    );
    assert_contains(&done.stdout, "✓ worker is back on worker:1");
    let now = running(&emu);
    assert_eq!(now[0].1, td("worker:1"));
    assert_eq!(now[1].1, td("worker:1"));
    assert_eq!(now[2].1, td("worker:1"));
    assert_contains(
        &done.summary,
        "schedule/default/hourly-sync: worker:2 → worker:1",
    );
}

#[test]
fn render_lists_what_deploy_would_move_and_moves_nothing() {
    let emu = emulator!();
    let done = worker(&emu, "render", &[("scheduled-tasks", "auto")]);
    done.assert_code(0);
    assert_contains(
        &done.stdout,
        "scheduled task rule/nightly-report (target report): move from worker:1 to the revision deployed for worker once the deployments succeeded",
    );
    emu.assert_unchanged();
}

#[test]
fn a_named_task_that_is_missing_or_not_ours_is_bad_input_and_changes_nothing() {
    for (named, says) in [
        (
            "rule/nightly",
            "input `scheduled-tasks`: rule/nightly does not exist on event bus default",
        ),
        (
            "schedule/batch/hourly",
            "input `scheduled-tasks`: schedule/batch/hourly does not exist",
        ),
        (
            "schedule/batch/staging-sync",
            "input `scheduled-tasks`: schedule/batch/staging-sync runs no task of worker in cluster prod",
        ),
    ] {
        let emu = emulator!();
        let done = worker(&emu, "deploy", &[("scheduled-tasks", named)]);
        done.assert_refused(&emu, says);
    }
}

/// Registers worker:2 and worker:3 (older images); returns worker:2's ARN.
fn two_older_revisions(emu: &Emulator) -> String {
    let older = json!({
        "family": "worker",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [{"name": "worker", "image": emu.pinned("v1"), "essential": true}]
    });
    let worker2 = emu.register_definition(&older);
    emu.register_definition(&older);
    worker2
}

/// A revision only a scheduled task runs is never retired, asked to move
/// scheduled tasks or not.
#[test]
fn retention_keeps_a_revision_a_scheduled_task_runs() {
    let emu = emulator!();
    let worker2 = two_older_revisions(&emu);
    let mut audit =
        emu.aws("events", "list_targets_by_rule", &json!({"Rule": "audit"}))["Targets"][0].clone();
    audit["EcsParameters"]["TaskDefinitionArn"] = json!(worker2);
    emu.aws(
        "events",
        "put_targets",
        &json!({"Rule": "audit", "Targets": [audit]}),
    );
    let done = worker(&emu, "deploy", &[("keep-revisions", "1")]);
    done.assert_code(0);
    assert_contains(
        &done.stdout,
        "kept worker:2 (in use by scheduled task rule/audit (target audit))",
    );
    assert_eq!(emu.deregistered(), ["worker:3"]);
}

/// A revision that only another cluster's schedule runs is kept too: a
/// task definition is the account's, and a deregistered one starts no task.
#[test]
fn retention_keeps_a_revision_another_clusters_schedule_runs() {
    let emu = emulator!();
    let worker2 = two_older_revisions(&emu);
    // batch/staging-sync runs in cluster staging: point it at worker:2.
    let mut staging = schedule(&emu, "batch", "staging-sync");
    for read_only in [
        "Arn",
        "CreationDate",
        "LastModificationDate",
        "ResponseMetadata",
    ] {
        staging.as_object_mut().unwrap().remove(read_only);
    }
    staging["Target"]["EcsParameters"]["TaskDefinitionArn"] = json!(worker2);
    emu.aws("scheduler", "update_schedule", &staging);
    let done = worker(
        &emu,
        "deploy",
        &[("scheduled-tasks", "auto"), ("keep-revisions", "1")],
    );
    done.assert_code(0);
    assert_contains(
        &done.stdout,
        "kept worker:2 (in use by scheduled task schedule/batch/staging-sync of cluster staging)",
    );
    assert_eq!(emu.deregistered(), ["worker:3"]);
    // The release moved this cluster's tasks (and left staging's alone).
    let now = running(&emu);
    assert_eq!(now[0].1, td("worker:4"));
    assert_eq!(now[2].1, td("worker:4"));
    assert_eq!(now[4].1, worker2);
    println!(
        "a release that moves scheduled tasks and retires revisions:\n{}",
        done.stdout
    );
}

/// A move AWS refuses fails the run after the deployment succeeded, naming
/// what moved and what still runs the old revision.
#[test]
fn a_refused_move_fails_the_run_and_says_what_still_runs_the_old_revision() {
    let emu = emulator!({"deny": ["scheduler:UpdateSchedule"]});
    let done = worker(&emu, "deploy", &[("scheduled-tasks", "auto")]);
    done.assert_code(1);
    assert_contains(&done.stdout, "deployment completed");
    done.assert_error_contains(
        "the deployments succeeded, but 1 scheduled task(s) could not be moved and still run the old revision",
    );
    let text = done.all_text();
    assert_contains(
        &text,
        "schedule/default/hourly-sync: worker:1 → worker:2 failed: scheduler:UpdateSchedule failed: AccessDeniedException",
    );
    assert_contains(
        &text,
        "rule/nightly-report (target report): worker:1 → worker:2",
    );
    let now = running(&emu);
    assert_eq!(now[0].1, td("worker:2"));
    assert_eq!(now[2].1, td("worker:1"));
}

/// Without the rights to read the scheduled tasks, retention cannot tell
/// what they run: it retires nothing and says why; the release succeeded.
#[test]
fn retention_retires_nothing_when_the_scheduled_tasks_cannot_be_read() {
    let emu = emulator!({"deny": ["scheduler:ListSchedules"]});
    let done = worker(&emu, "deploy", &[("keep-revisions", "1")]);
    done.assert_code(0);
    assert_contains(
        &done.stdout,
        "nothing was retired: which revisions the scheduled tasks run is unknown",
    );
    assert!(!emu.saw("ecs:DeregisterTaskDefinition"));
}
