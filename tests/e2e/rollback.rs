//! End-to-end: `mode: rollback` of rolling services against the emulator
//! (whose layer answers ListServiceDeployments / DescribeServiceRevisions).

use crate::common;
use crate::common::assert_contains;

use common::{Emulator, Finished};

fn run(emu: &Emulator, mode: &str, service: &str, extra: &[(&str, &str)]) -> Finished {
    common::prod_step(emu, mode, service, extra).run()
}

#[test]
fn rolls_back_to_the_last_successful_revision_and_says_so_first() {
    let emu = emulator!();
    let deployed = run(&emu, "deploy", "web", &[("image", "web:v2")]);
    deployed.assert_code(0);
    let done = run(&emu, "rollback", "web", &[]);
    done.assert_code(0);
    let plan_line = done
        .stdout
        .find("web: from web:2 to web:1 — the last successful deployment")
        .expect(&done.stdout);
    let update = done.stdout.find("::group::[3/5] roll back").unwrap();
    assert!(
        plan_line < update,
        "what is rolled back from and to is said before it is done"
    );
    assert_contains(&done.stdout, "✓ web is back on web:1");
    let upd = emu.params("UpdateService");
    assert_eq!(upd.len(), 2);
    assert!(
        upd[1]["taskDefinition"]
            .as_str()
            .unwrap()
            .ends_with("task-definition/web:1")
    );
    assert!(
        emu.calls()
            .contains(&"ecs:ListServiceDeployments".to_string())
    );
    // The plan printed before the change is in the summary too.
    assert!(
        done.summary.contains("<details><summary>Plan</summary>")
            && done.summary.contains("web: from web:2 to web:1"),
        "{}",
        done.summary
    );
    assert_contains(&done.summary, "| `web` | `web:1` |");
}

#[test]
fn nothing_to_roll_back_to_is_bad_input_and_changes_nothing() {
    let emu = emulator!();
    let done = run(&emu, "rollback", "web", &[]);
    done.assert_refused(&emu, "nothing to roll back to: service web has no successful deployment of a revision other than web:1");
}

#[test]
fn an_in_progress_deployment_is_rolled_back_to_what_ran_before_it() {
    let emu = emulator!();
    // worker has no circuit breaker: a crashing revision stays IN_PROGRESS.
    let started = run(
        &emu,
        "deploy",
        "worker",
        &[
            ("image", "web:v2"),
            ("environment-variables", "FDEMU_EXIT_CODE=1"),
            ("wait-until", "none"),
        ],
    );
    started.assert_code(0);
    let done = run(&emu, "rollback", "worker", &[]);
    done.assert_code(0);
    assert_contains(
        &done.stdout,
        "worker: from worker:2 to worker:1 — deployment ecs-svc/",
    );
    assert_contains(
        &done.stdout,
        "is in progress; worker:1 was running before it",
    );
}

#[test]
fn a_codedeploy_deployment_in_progress_is_stopped_with_automatic_rollback() {
    let emu = emulator!({"rollout_seconds": 60});
    let started = run(
        &emu,
        "deploy",
        "bluegreen",
        &[("image", "web:v2"), ("wait-until", "none")],
    );
    started.assert_code(0);
    let id = started.output("codedeploy-deployment-id").to_string();
    // The rollback deployment CodeDeploy starts runs at the usual pace.
    emu.configure(serde_json::json!({"rollout_seconds": 2}));
    let done = run(&emu, "rollback", "bluegreen", &[]);
    done.assert_code(0);
    assert_contains(
        &done.stdout,
        &format!(
            "bluegreen: CodeDeploy deployment {id} is in progress; it will be stopped with automatic rollback"
        ),
    );
    let stops = emu.params("StopDeployment");
    assert_eq!(
        stops,
        [serde_json::json!({"deploymentId": id, "autoRollbackEnabled": true})]
    );
    // StopDeployment answered Pending: the rollback deployment that the
    // stopped one's rollbackInfo names was followed to its end.
    let result: serde_json::Value = serde_json::from_str(done.output("result")).unwrap();
    let rollback = result["targets"][0]["deployment-id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(rollback, id);
    assert!(
        rollback.starts_with("d-") && rollback.len() == 11,
        "{rollback}"
    );
    assert_contains(
        &done.stdout,
        &format!("bluegreen: stopped CodeDeploy deployment {id}; rollback deployment {rollback}"),
    );
    assert_eq!(result["targets"][0]["result"], "success", "{result:#}");
    assert!(
        emu.calls()
            .iter()
            .filter(|c| *c == "codedeploy:GetDeployment")
            .count()
            >= 2,
        "the stopped deployment read for its rollbackInfo, the rollback followed"
    );
    assert_contains(&done.summary, &format!("`{rollback}`"));
}

#[test]
fn a_codedeploy_service_with_nothing_in_progress_is_bad_input() {
    let emu = emulator!();
    let done = run(&emu, "rollback", "bluegreen", &[]);
    done.assert_refused(&emu, "no CodeDeploy deployment of bluegreen is in progress");
}

#[test]
fn without_the_service_deployment_api_the_previous_active_revision_is_used() {
    let emu = emulator!();
    let deployed = run(&emu, "deploy", "web", &[("image", "web:v2")]);
    deployed.assert_code(0);
    // A role without ecs:ListServiceDeployments (or a region without the API).
    emu.configure(serde_json::json!({"no_service_deployments": true}));
    let done = run(&emu, "rollback", "web", &[]);
    done.assert_code(0);
    assert_contains(
        &done.stdout,
        "web: from web:2 to web:1 — the previous ACTIVE revision of web (no deployment history: AccessDeniedException: User is not authorized to perform: ecs:ListServiceDeployments)",
    );
    assert!(emu.calls().contains(&"ecs:ListTaskDefinitions".to_string()));
    let upd = emu.params("UpdateService");
    assert!(
        upd.last().unwrap()["taskDefinition"]
            .as_str()
            .unwrap()
            .ends_with("task-definition/web:1"),
        "{upd:?}"
    );
}
