//! End-to-end: approval by a person. A deploy with `wait-until: paused`
//! returns once the ECS-native deployment awaits ContinueServiceDeployment
//! at its PAUSE hook; a second step — in GitHub, a job in an environment
//! with required reviewers — resumes it with `mode: continue`, or rolls it
//! back with `mode: rollback` (emulator: the `gated` service of
//! tests/emulator/seed.py, paused at POST_TEST_TRAFFIC_SHIFT).

use crate::common;
use crate::common::assert_contains;

use crate::native::run as step;
use common::{Emulator, Finished};
use serde_json::{Value, json};

/// Deploys `gated` until it pauses; the `paused` output of the service.
fn deploy_until_paused(emu: &Emulator) -> (Finished, Value) {
    let done = step(emu, "deploy", "gated", &[("wait-until", "paused")]);
    done.assert_code(0);
    let paused: Value = serde_json::from_str(done.output("paused")).unwrap();
    let gated = paused["gated"].clone();
    (done, gated)
}

#[test]
fn a_deploy_returns_at_the_pause_and_mode_continue_finishes_it() {
    let emu = emulator!({"rollout_seconds": 6});
    let (done, paused) = deploy_until_paused(&emu);
    assert_contains(
        &done.stdout,
        "then wait until every deployment pauses at its PAUSE lifecycle hook, and return; mode continue resumes it",
    );
    assert_eq!(paused["stage"], "POST_TEST_TRAFFIC_SHIFT");
    assert_eq!(paused["timeoutAction"], "ROLLBACK");
    assert!(
        paused["expiresAt"].as_str().unwrap().ends_with('Z'),
        "{paused}"
    );
    let hook = paused["hookId"].as_str().unwrap().to_string();
    let arn = done.output("deployment-id").to_string();
    assert_eq!(paused["serviceDeploymentArn"], arn.as_str());
    assert_contains(
        &done.stdout,
        &format!(
            "[gated] paused at POST_TEST_TRAFFIC_SHIFT: PAUSE hook {hook} awaits ContinueServiceDeployment (wait-until: paused)"
        ),
    );
    assert_contains(
        &done.stdout,
        "1 of 1 deployments paused at a PAUSE hook, awaiting mode continue",
    );
    // The summary escapes Markdown: `_` is `\_` there.
    assert_contains(&done.summary, r"paused at POST\_TEST\_TRAFFIC\_SHIFT");
    assert_contains(
        &done.summary,
        "paused for approval (mode continue resumes it)",
    );
    assert!(emu.params("ContinueServiceDeployment").is_empty());

    let resumed = step(&emu, "continue", "gated", &[]);
    resumed.assert_code(0);
    resumed.assert_stages(
        "credentials → find paused deployment → continue → wait for deployment → report",
    );
    // The continue stage's result, a line per service.
    assert_contains(
        &resumed.stdout,
        "✓ gated: continued from POST_TEST_TRAFFIC_SHIFT (",
    );
    let id = arn.rsplit('/').next().unwrap();
    assert_contains(
        &resumed.stdout,
        &format!(
            "gated: service deployment {id} of web:2 is paused at POST_TEST_TRAFFIC_SHIFT (PAUSE hook {hook}); it will be continued (ContinueServiceDeployment with CONTINUE)"
        ),
    );
    assert_contains(&resumed.stdout, "[gated] SUCCESSFUL");
    let calls = emu.params("ContinueServiceDeployment");
    assert_eq!(
        calls,
        [json!({"serviceDeploymentArn": arn, "hookId": hook, "action": "CONTINUE"})]
    );
    // The hook it continued is not taken for a second pause.
    assert!(!resumed.stdout.contains("awaits ContinueServiceDeployment"));
    let result: Value = serde_json::from_str(resumed.output("result")).unwrap();
    assert_eq!(result["result"], "success", "{result}");
    println!(
        "paused, then approved, as the action prints it:\n{}\n{}",
        done.stdout, resumed.stdout
    );
}

#[test]
fn a_rejected_deployment_is_rolled_back_from_its_pause() {
    let emu = emulator!({"rollout_seconds": 6});
    let (done, paused) = deploy_until_paused(&emu);
    let arn = done.output("deployment-id").to_string();
    let back = step(&emu, "rollback", "gated", &[]);
    back.assert_code(0);
    assert_contains(
        &back.stdout,
        "is paused at POST_TEST_TRAFFIC_SHIFT; it will be rolled back (ContinueServiceDeployment with ROLLBACK)",
    );
    assert_eq!(
        emu.params("ContinueServiceDeployment"),
        [json!({"serviceDeploymentArn": arn, "hookId": paused["hookId"], "action": "ROLLBACK"})]
    );
    assert!(emu.params("StopServiceDeployment").is_empty());
    assert_contains(&back.stdout, "[gated] ROLLBACK_SUCCESSFUL");
}

#[test]
fn the_github_deployment_shows_the_pause_and_the_approval_ends_it() {
    let emu = emulator!({"rollout_seconds": 6});
    let github = [("github-deployment", "true"), ("environment", "production")];
    let run = common::prod_step(
        &emu,
        "deploy",
        "gated",
        &[
            &[("image", "web:v2"), ("wait-until", "paused")],
            &github[..],
        ]
        .concat(),
    )
    .with_github(&emu);
    run.run().assert_code(0);
    let resumed = common::prod_step(&emu, "continue", "gated", &github)
        .with_github(&emu)
        .run();
    resumed.assert_code(0);
    let deployments = emu.github()["deployments"].clone();
    let statuses = |d: &Value| -> Vec<(String, String)> {
        d["statuses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let field = |k: &str| s[k].as_str().unwrap_or_default().to_string();
                (field("state"), field("description"))
            })
            .collect()
    };
    let paused = statuses(&deployments[0]);
    assert_eq!(paused.len(), 2, "{paused:?}");
    assert_eq!(paused[1].0, "in_progress");
    assert_contains(&paused[1].1, "paused for approval: web:2 in prod");
    let approved = statuses(&deployments[1]);
    assert_eq!(
        approved.iter().map(|s| s.0.as_str()).collect::<Vec<_>>(),
        ["in_progress", "success"]
    );
    assert_eq!(deployments[1]["environment"], "production");
}

#[test]
fn what_cannot_pause_or_be_continued_is_refused_before_any_change() {
    let emu = emulator!();
    for (mode, service, extra, says) in [
        (
            "deploy",
            "web",
            vec![("wait-until", "paused")],
            "::error title=wait-until::`wait-until: paused` waits for a PAUSE lifecycle hook of an ECS-native blue/green, linear or canary deployment, and service web has none: it deploys with rolling updates",
        ),
        (
            "deploy",
            "gated,native",
            vec![("wait-until", "paused")],
            "service native has none: its deploymentConfiguration has no lifecycle hook with targetType PAUSE",
        ),
        (
            "continue",
            "gated",
            vec![],
            "::error title=service::service gated has no deployment paused at a PAUSE lifecycle hook: no deployment of it is in progress",
        ),
        (
            "continue",
            "web",
            vec![],
            "service web has no deployment paused at a PAUSE lifecycle hook: it does not deploy ECS-natively",
        ),
        (
            "rollback",
            "gated",
            vec![("wait-until", "paused")],
            "::error title=wait-until::`wait-until: paused` waits for a PAUSE lifecycle hook of a deployment (modes deploy and continue)",
        ),
        (
            "continue",
            "gated",
            vec![("image", "web:v2")],
            "::error title=image::input `image` does not apply to mode continue, which resumes the deployment a deploy step started",
        ),
    ] {
        let done = step(&emu, mode, service, &extra);
        done.assert_refused(&emu, says);
    }
}

#[test]
fn mode_continue_moves_the_scheduled_tasks_once_the_continued_deployment_succeeded() {
    let emu = emulator!({"rollout_seconds": 6});
    // A schedule that runs the gated service's family (web:1) in its cluster.
    let web1 = "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:1";
    let target = json!({
        "Arn": "arn:aws:ecs:eu-west-1:123456789012:cluster/prod",
        "RoleArn": "arn:aws:iam::123456789012:role/ecs-events",
        "EcsParameters": {"TaskDefinitionArn": web1, "TaskCount": 1, "LaunchType": "FARGATE"},
    });
    emu.aws(
        "scheduler",
        "create_schedule",
        &json!({"Name": "web-digest", "ScheduleExpression": "rate(1 day)",
                "FlexibleTimeWindow": {"Mode": "OFF"}, "Target": target}),
    );
    let running = |emu: &Emulator| {
        let s = emu.aws(
            "scheduler",
            "get_schedule",
            &json!({"Name": "web-digest", "GroupName": "default"}),
        );
        s["Target"]["EcsParameters"]["TaskDefinitionArn"]
            .as_str()
            .unwrap()
            .to_string()
    };
    emu.aws(
        "events",
        "put_rule",
        &json!({"Name": "web-warmup", "ScheduleExpression": "rate(1 hour)"}),
    );
    emu.aws(
        "events",
        "put_targets",
        &json!({"Rule": "web-warmup", "Targets": [
            {"Id": "warm", "Arn": target["Arn"], "RoleArn": target["RoleArn"], "EcsParameters": target["EcsParameters"]}
        ]}),
    );
    let rule_runs = |emu: &Emulator| {
        let t = emu.aws(
            "events",
            "list_targets_by_rule",
            &json!({"Rule": "web-warmup"}),
        );
        t["Targets"][0]["EcsParameters"]["TaskDefinitionArn"]
            .as_str()
            .unwrap()
            .to_string()
    };
    deploy_until_paused(&emu);
    // Paused: not moved yet.
    assert_eq!(running(&emu), web1);
    assert_eq!(rule_runs(&emu), web1);

    let resumed = step(&emu, "continue", "gated", &[("scheduled-tasks", "auto")]);
    resumed.assert_code(0);
    resumed.assert_stages(
        "credentials → find paused deployment → continue → wait for deployment → move scheduled tasks → report",
    );
    assert_contains(
        &resumed.stdout,
        "scheduled task schedule/default/web-digest: move from web:1 to web:2 once the deployments succeeded",
    );
    let web2 = "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:2";
    assert_eq!(running(&emu), web2);
    assert_eq!(rule_runs(&emu), web2);
    assert_contains(
        &resumed.summary,
        "schedule/default/web-digest: web:1 → web:2",
    );
    // The worker family's tasks are not the gated service's: untouched.
    let hourly = emu.aws(
        "scheduler",
        "get_schedule",
        &json!({"Name": "hourly-sync", "GroupName": "default"}),
    );
    assert!(
        hourly["Target"]["EcsParameters"]["TaskDefinitionArn"]
            .as_str()
            .unwrap()
            .ends_with("worker:1")
    );
}

/// Approved, then the alarm fires in the bake time: mode continue's plan
/// names the alarms that watch the deployment, the continued deployment is
/// rolled back, and the failure says why the alarm fired (DescribeAlarms).
#[test]
fn a_continued_deployment_rolled_back_by_its_alarm_says_why_the_alarm_fired() {
    let emu = emulator!({"rollout_seconds": 6});
    let paused = step(
        &emu,
        "deploy",
        "gated",
        &[
            ("wait-until", "paused"),
            ("environment-variables", "FDEMU_ALARM=web-5xx"),
        ],
    );
    paused.assert_code(0);
    assert!(!emu.saw("monitoring:DescribeAlarms"), "nothing failed yet");
    let resumed = step(&emu, "continue", "gated", &[]);
    resumed.assert_code(1);
    resumed.assert_error_contains("; CloudWatch alarm web-5xx went into ALARM");
    crate::native::assert_alarm_explained(&emu, &resumed, "gated", "web-5xx");
}
