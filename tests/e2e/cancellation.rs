//! Cancellation in every waiting stage: SIGINT or SIGTERM (a cancelled
//! workflow run) ends the step with exit 1 within 5 s, after the cleanup the
//! spec promises — the migration task is stopped; deployments, which cannot
//! be half-undone safely, go on in AWS and the error names them.

use crate::common;
use crate::common::assert_contains;

use std::time::Duration;

use common::{ActionRun, Emulator};
use serde_json::json;

/// How a signalled run ended, and the summary it wrote.
pub(crate) struct Cancelled {
    pub code: Option<i32>,
    pub stdout: String,
    pub took: Duration,
    pub summary: String,
}

/// Starts the action, waits until `op` was called and the wait began, sends `signal`.
pub(crate) fn cancel_after(
    emu: &Emulator,
    inputs: &[(&str, &str)],
    op: &str,
    signal: &str,
) -> Cancelled {
    let count = || emu.calls().iter().filter(|c| *c == op).count();
    let before = count();
    let run = action(emu, inputs);
    cancel_when(
        run,
        || count() > before,
        Duration::from_millis(1500),
        op,
        signal,
        &AfterSignal::Cleanup { in_flight: None },
    )
}

fn action(emu: &Emulator, inputs: &[(&str, &str)]) -> ActionRun {
    let mut all = vec![("aws-region", "eu-west-1"), ("cluster", "prod")];
    all.extend_from_slice(inputs);
    ActionRun::new(Some(emu), &all)
}

/// What a run may change in AWS after the signal.
pub(crate) enum AfterSignal<'a> {
    /// Nothing but the cleanup the spec promises (StopTask of the migration);
    /// `in_flight`: a call sent before the signal that AWS sees after it.
    Cleanup { in_flight: Option<&'a str> },
    /// These calls too (`on-cancel: rollback`).
    Also(&'a [&'a str]),
}

/// Spawns `run`, waits until `ready` (then `pause` more), sends `signal`,
/// and checks what changed in AWS after it against `allowed`.
pub(crate) fn cancel_when(
    run: ActionRun,
    ready: impl Fn() -> bool,
    pause: Duration,
    what: &str,
    signal: &str,
    allowed: &AfterSignal,
) -> Cancelled {
    let mut child = run.spawn();
    let emu = run.emulator();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !ready() {
        assert!(std::time::Instant::now() < deadline, "{what} never came");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(pause);
    let before = emu.as_ref().map(|e| e.mutating_calls().len());
    let done = common::signal(&mut child, signal);
    if let (Some(e), Some(before)) = (emu, before) {
        let mut after: Vec<String> = e.mutating_calls()[before..].to_vec();
        let extra: &[&str] = match allowed {
            AfterSignal::Cleanup { in_flight } => {
                if let Some(i) = in_flight.and_then(|op| after.iter().position(|c| c == op)) {
                    after.remove(i);
                }
                &[]
            }
            AfterSignal::Also(calls) => calls,
        };
        assert!(
            after
                .iter()
                .all(|c| c == "ecs:StopTask" || extra.contains(&c.as_str())),
            "{what}: mutating calls after the signal: {after:?}"
        );
    }
    let summary =
        std::fs::read_to_string(run.workspace.path().join(".runner/summary")).unwrap_or_default();
    assert!(
        !summary.is_empty(),
        "the summary is written on cancellation too"
    );
    Cancelled {
        code: done.code,
        stdout: done.stdout,
        took: done.took,
        summary,
    }
}

/// Exactly one StopTask, whose reason names the signal.
fn task_stopped_for(emu: &Emulator, signal: &str, c: &Cancelled) {
    let stops = emu.params("StopTask");
    assert_eq!(stops.len(), 1, "the task is stopped: {}", c.stdout);
    assert!(
        stops[0]["reason"]
            .as_str()
            .unwrap()
            .contains(&format!("cancelled ({signal})")),
        "{stops:?}"
    );
}

pub(crate) fn check(what: &str, c: &Cancelled, says: &str) {
    assert_eq!(c.code, Some(1), "{what}: {}", c.stdout);
    assert!(
        c.took < Duration::from_secs(5),
        "{what}: exited {:?} after the signal",
        c.took
    );
    assert!(
        c.stdout.contains(says),
        "{what}: expected `{says}` in\n{}",
        c.stdout
    );
    println!("{what}: exit 1 {} ms after the signal", c.took.as_millis());
}

/// A migration that runs two minutes unless stopped.
const LONG_MIGRATION: &[(&str, &str)] = &[
    ("mode", "migrate"),
    ("service", "web"),
    ("image", "web:v2"),
    ("environment-variables", "FDEMU_RUN_SECONDS=120"),
];

#[test]
fn sigint_or_sigterm_while_a_migration_runs_stops_the_task() {
    let emu = emulator!();
    for signal in ["INT", "TERM"] {
        let before = emu.params("StopTask").len();
        let c = cancel_after(&emu, LONG_MIGRATION, "ecs:RunTask", signal);
        check(
            &format!("migrate (SIG{signal})"),
            &c,
            &format!(
                "::error title=migrate::cancelled (SIG{signal}); the migration task was stopped"
            ),
        );
        let stops = &emu.params("StopTask")[before..];
        assert_eq!(stops.len(), 1, "the task is stopped: {}", c.stdout);
        assert_contains(
            stops[0]["reason"].as_str().unwrap(),
            &format!("cancelled (SIG{signal})"),
        );
    }
}

#[test]
fn a_signal_while_a_rolling_deployment_or_its_rollback_runs_names_what_goes_on() {
    let emu = emulator!({"rollout_seconds": 60});
    let c = cancel_after(
        &emu,
        &[
            ("mode", "deploy"),
            ("service", "web,worker"),
            ("image", "web:v2"),
        ],
        "ecs:UpdateService",
        "INT",
    );
    check(
        "deploy, rolling (SIGINT)",
        &c,
        "cancelled (SIGINT) while waiting; the deployments go on in AWS without being watched: web (ecs-svc/",
    );
    assert_contains(&c.stdout, "worker (ecs-svc/");
    assert_contains(&c.summary, "cancelled while deploying");

    // Rollback waits the same way.
    let c = cancel_after(
        &emu,
        &[("mode", "rollback"), ("service", "web")],
        "ecs:UpdateService",
        "TERM",
    );
    check(
        "rollback (SIGTERM)",
        &c,
        "cancelled (SIGTERM) while waiting",
    );
}

#[test]
fn a_signal_while_a_blue_green_deployment_runs_names_it() {
    let emu = emulator!({"rollout_seconds": 60});
    let c = cancel_after(
        &emu,
        &[
            ("mode", "deploy"),
            ("service", "bluegreen"),
            ("image", "web:v2"),
        ],
        "codedeploy:CreateDeployment",
        "TERM",
    );
    check(
        "deploy, CodeDeploy (SIGTERM)",
        &c,
        "cancelled (SIGTERM) while waiting; the deployments go on in AWS without being watched: bluegreen (",
    );
    let c = cancel_after(
        &emu,
        &[
            ("mode", "deploy"),
            ("service", "native"),
            ("image", "web:v2"),
        ],
        "ecs:UpdateService",
        "INT",
    );
    check(
        "deploy, ECS-native blue/green (SIGINT)",
        &c,
        "cancelled (SIGINT) while waiting",
    );
    assert_contains(&c.stdout, "native (");
}

/// Starts the action through the fault proxy with `stall` on `op`, and
/// signals while that call is held.
fn cancel_during_stall(
    emu: &Emulator,
    inputs: &[(&str, &str)],
    op: &str,
    signal: &str,
) -> Cancelled {
    emu.inject(json!({ op: ["stall:3"] }));
    let run = action(emu, inputs).through_proxy(emu);
    let stalled = || emu.faults()["injected"]["stall"] == 1;
    cancel_when(
        run,
        stalled,
        Duration::from_millis(300),
        op,
        signal,
        &AfterSignal::Cleanup {
            in_flight: Some(op),
        },
    )
}

#[test]
fn a_signal_while_run_task_is_in_flight_still_stops_the_task() {
    // The request has left: the task may exist. The signal must not kill the
    // process before it knows — it waits for the answer, then stops the task.
    let Some(emu) = Emulator::try_start_with_fault_proxy() else {
        return;
    };
    let c = cancel_during_stall(&emu, LONG_MIGRATION, "ecs:RunTask", "TERM");
    check("migrate, during RunTask (SIGTERM)", &c, "cancelled");
    task_stopped_for(&emu, "SIGTERM", &c);
}

#[test]
fn a_signal_before_anything_started_ends_the_run_at_once() {
    let Some(emu) = Emulator::try_start_with_fault_proxy() else {
        return;
    };
    let c = cancel_during_stall(
        &emu,
        &[("mode", "deploy"), ("service", "web"), ("image", "web:v2")],
        "ecr:DescribeImages",
        "INT",
    );
    check(
        "deploy, while resolving the image (SIGINT)",
        &c,
        "the workflow run was cancelled (SIGINT) before any task or deployment was started",
    );
    assert!(
        c.took < Duration::from_secs(1),
        "no need to wait: {:?}",
        c.took
    );
    emu.assert_unchanged();
}
