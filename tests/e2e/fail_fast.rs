//! End-to-end: fail-fast. A rolling deployment whose own tasks fail in a
//! way that will not fix itself is stopped with rollback as soon as three
//! of them failed the same way while none runs — on a service without a
//! circuit breaker (which would wait the whole timeout) and on a crash loop
//! (which the circuit breaker never counts).

use crate::common;
use crate::common::assert_contains;

use std::time::{Duration, Instant};

use crate::cancellation::{AfterSignal, Cancelled, cancel_when};
use common::{Emulator, Finished};

/// Deploys image web:v2 to worker with these `environment-variables`
/// (what the emulator's tasks do), then `extra` inputs.
fn deploy_worker(emu: &Emulator, env: &str, extra: &[(&str, &str)]) -> (Finished, Duration) {
    let started = Instant::now();
    let inputs = [("image", "web:v2"), ("environment-variables", env)];
    let done = common::prod_step(emu, "deploy", "worker", &[&inputs[..], extra].concat()).run();
    (done, started.elapsed())
}

#[test]
fn an_image_that_cannot_be_pulled_is_stopped_with_rollback_after_three_tasks() {
    let emu = emulator!();
    let (done, took) = deploy_worker(&emu, common::CANNOT_PULL, &[]);
    done.assert_code(1);
    assert_contains(
        &done.stdout,
        "fail-fast: once 3 tasks of a rolling or ECS-native deployment fail the same way for a reason that will not fix itself and none runs, it is stopped with rollback (worker to worker:1)",
    );
    let error = done.assert_error_starts_with(
        "::error title=deploy::deployment of worker failed: fail-fast: CannotPullContainerError: 3 tasks of deployment ecs-svc/",
    );
    assert_contains(
        &error,
        "stopped with rollback: StopServiceDeployment (ROLLBACK) of service deployment ",
    );
    assert_contains(&error, "back to worker:1");
    assert_contains(
        &done.stdout,
        "CannotPullContainerError: pull image manifest",
    );
    assert!(emu.saw("ecs:StopServiceDeployment"));
    // worker has no circuit breaker: without fail-fast this run would wait
    // its whole 30 minutes.
    assert!(took < Duration::from_secs(60), "took {took:?}");
    let result: serde_json::Value = serde_json::from_str(done.output("result")).unwrap();
    assert_eq!(result["targets"][0]["result"], "rolled back", "{result}");
}

#[test]
fn a_crash_loop_is_stopped_with_rollback_instead_of_timing_out() {
    let emu = emulator!();
    // What the container printed before it exited, with text that must stay text.
    let log =
        "booting|::error::forged by the container|##[group]forged|fatal: DATABASE_URL is not set";
    let (done, took) = deploy_worker(&emu, &format!("FDEMU_EXIT_CODE=3\nFDEMU_LOG={log}"), &[]);
    done.assert_code(1);
    let error = done.assert_error_starts_with(
        "::error title=deploy::deployment of worker failed: fail-fast: crash loop: 3 tasks of deployment ecs-svc/",
    );
    assert_contains(&error, "exited with code 3 (worker)");
    assert_contains(&error, "read its log");
    assert!(took < Duration::from_secs(60), "took {took:?}");
    // The stopped tasks' exit codes are in the failure's detail, and the
    // last lines of their container's log, in the log and the summary.
    assert_contains(&done.stdout, "worker exited with code 3");
    assert_contains(
        &done.stdout,
        "last 4 lines of worker (/ecs/web worker/worker/",
    );
    assert_contains(&done.stdout, "│ fatal: DATABASE_URL is not set");
    assert_eq!(
        done.stdout
            .matches("fatal: DATABASE_URL is not set")
            .count(),
        3,
        "three stopped tasks, their last words each"
    );
    assert_contains(&done.summary, "fatal: DATABASE_URL is not set\n");
    done.assert_runner_reads_only_our_commands();
}

#[test]
fn fail_fast_false_leaves_the_deployment_to_ecs() {
    let emu = emulator!();
    let extra = [("fail-fast", "false"), ("timeout-minutes", "0.1")];
    let (done, _) = deploy_worker(&emu, common::CANNOT_PULL, &extra);
    done.assert_code(1);
    done.assert_error_contains("timed out after 6 s waiting for deployment ecs-svc/");
    assert!(
        !done.stdout.contains("fail-fast: once"),
        "no fail-fast in the plan"
    );
    assert!(!emu.saw("ecs:StopServiceDeployment"));
}

/// `on-cancel: rollback`: a run cancelled while it waits stops the
/// deployments it started with rollback (here a rolling one and a
/// CodeDeploy one), within the runner's grace period.
#[test]
fn a_cancelled_run_with_on_cancel_rollback_stops_its_deployments_with_rollback() {
    let emu = emulator!({"rollout_seconds": 60});
    let run = common::step(
        &emu,
        "deploy",
        &[
            ("cluster", "prod"),
            ("service", "web,bluegreen"),
            ("image", "web:v2"),
            ("on-cancel", "rollback"),
        ],
    );
    let ready = || emu.saw("ecs:UpdateService") && emu.saw("codedeploy:CreateDeployment");
    let stops = ["ecs:StopServiceDeployment", "codedeploy:StopDeployment"];
    let Cancelled {
        code,
        stdout,
        took,
        summary,
    } = cancel_when(
        run,
        ready,
        Duration::from_millis(500),
        "UpdateService and CreateDeployment",
        "TERM",
        &AfterSignal::Also(&stops),
    );
    assert!(
        took < Duration::from_secs(6),
        "exited {took:?} after SIGTERM"
    );
    assert_eq!(code, Some(1), "{stdout}");
    assert_contains(
        &stdout,
        "on-cancel: a cancelled run stops every deployment it started with rollback (bluegreen to web:1, web to web:1)",
    );
    assert_contains(
        &stdout,
        "::error title=deploy::cancelled (SIGTERM) while waiting; on-cancel: rollback: ",
    );
    assert_contains(
        &stdout,
        "web: stopped with rollback: StopServiceDeployment (ROLLBACK) of service deployment ",
    );
    assert_contains(
        &stdout,
        "bluegreen: stopped with rollback: StopDeployment with automatic rollback (rollback deployment d-",
    );
    // Followed for what is left of the grace period (2.5 s after SIGTERM):
    // the rollback of a 60 s rollout is still under way, and says so.
    assert_contains(
        &stdout,
        "; its rollback was under way when the run had to end: IN_PROGRESS",
    );
    assert!(emu.saw("ecs:StopServiceDeployment") && emu.saw("codedeploy:StopDeployment"));
    assert_contains(&summary, "cancelled; rolled back");
}
