//! `mode: migrate` — credentials → resolve image → render → register →
//! run task → wait for exit (logs streamed live) → report.
//!
//! The migration runs on the same rendered definition the deploy step will
//! register (so migrate-then-deploy registers once), placed where the
//! service runs.

use serde_json::Value;

use super::prepare;
use super::render::row;
use super::report::{self, Report};
use crate::context::RunContext;
use crate::error::Failure;
use crate::inputs::Settings;
use crate::poll::PollSchedule;
use crate::runtask::logs::{LogFollower, LogStream};
use crate::runtask::wait::{Ended, Waiter};
use crate::runtask::{self, TaskOutcome, console_url, task_id};
use crate::stages::Stages;

pub async fn run(ctx: &RunContext<'_>, report: &mut Report) -> Result<(), Failure> {
    let (settings, runner, env) = (ctx.settings, ctx.runner, ctx.env);
    let mut stages = Stages::new(runner, 7);
    let (aws, image, mut targets) =
        prepare::front_stages(&mut stages, settings, runner, env, report).await?;
    // Where and how the task runs is checked before anything is registered.
    let plan = runtask::plan(
        settings,
        targets[0].service.as_ref(),
        &targets[0].rendered.definition,
        &targets[0].rendered.image_containers,
    )?;
    let container = targets[0].rendered.definition["containerDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["name"].as_str() == Some(plan.container.as_str()))
        .cloned()
        .unwrap_or(Value::Null);
    // Reuse or new revision: decided from what was read, before any change.
    let decisions = super::register::decide(&aws, &targets).await?;
    prepare::write_artifacts(settings, &mut targets, &image, None)?;
    report.rows = targets.iter().map(|t| row(t, false)).collect();

    let registrations =
        super::register::register_stage(&mut stages, &aws, &targets, &decisions).await?;
    report.record_registrations(&registrations);
    let registration = registrations[0].clone();
    runner
        .set_output("task-definition-arn", &registration.arn)
        .map_err(report::output_failure)?;

    let cancel = ctx.cancel.clone();
    let _armed = cancel.arm();
    let task = stages
        .run("run task", async {
            // From RunTask on, a cancelled run stops the task (in the wait):
            // a signal during RunTask is seen by the wait at once.
            let task = runtask::run_task(
                &aws.ecs,
                &settings.cluster,
                &registration.arn,
                &plan,
                &cancel,
            )
            .await?;
            let arn = task.task_arn().unwrap_or_default().to_string();
            runner.info(&format!(
                "task: {}",
                console_url(
                    &aws.region,
                    crate::arn::last_segment(&settings.cluster),
                    &arn
                )
            ));
            let cmd = plan
                .command
                .as_ref()
                .map(|c| format!(" with command {c:?}"))
                .unwrap_or_default();
            let network = if plan.subnets.is_empty() {
                String::new()
            } else {
                format!(
                    " in {} ({})",
                    plan.subnets.join(", "),
                    plan.security_groups.join(", ")
                )
            };
            Ok((
                task,
                format!(
                    "started task {} of {}{cmd} on container {}{network}; {}",
                    task_id(&arn),
                    registration.short(),
                    plan.container,
                    plan.origin
                ),
            ))
        })
        .await?;
    let task_arn = task.task_arn().unwrap_or_default().to_string();
    report.rows[0].deployment = Some(task_id(&task_arn).to_string());
    report.rows[0].links = vec![(
        "task",
        console_url(
            &aws.region,
            crate::arn::last_segment(&settings.cluster),
            &task_arn,
        ),
    )];
    runner
        .set_output("task-arn", &task_arn)
        .map_err(report::output_failure)?;

    let mut logs = LogStream::for_container(&container, task_id(&task_arn), &aws.region)
        .map(|s| LogFollower::new(&aws.config, s));
    match &logs {
        Some(l) => {
            runner.info(&format!(
                "logs: group {}, stream {} — {}",
                l.stream.group,
                l.stream.stream,
                l.stream.console_url()
            ));
            report.rows[0]
                .links
                .push(("log stream", l.stream.console_url()));
            runner
                .set_output(
                    "log-stream",
                    &format!("{}/{}", l.stream.group, l.stream.stream),
                )
                .map_err(report::output_failure)?;
        }
        None => runner.notice(
            "logs",
            &format!(
                "container {} does not use the awslogs driver: its output cannot be shown here",
                plan.container
            ),
        ),
    }

    let started = std::time::Instant::now();
    let mut waiter = Waiter {
        ecs: &aws.ecs,
        runner,
        cluster: &settings.cluster,
        task_arn: &task_arn,
        timeout: settings.timeout,
        stop_on_cancel: settings.stop_task_on_cancel,
        // RunTask's answer is the first status (PROVISIONING): poll a second later.
        schedule: PollSchedule::default().waiting_first(),
    };
    let mut exit_code: Option<i32> = None;
    let waited = stages
        .run("wait for exit", async {
            let ended = waiter.wait(&mut logs, cancel.signalled()).await;
            match judge(ended, &plan.container, settings) {
                Ok(code) => {
                    exit_code = Some(code);
                    Ok((
                        (),
                        format!("migration container {} exited with code 0", plan.container),
                    ))
                }
                Err((failure, code)) => {
                    exit_code = code;
                    Err(failure)
                }
            }
        })
        .await;
    report.migration_log = logs.as_ref().map(|l| l.tail()).unwrap_or_default();
    let row = &mut report.rows[0];
    row.took = Some(started.elapsed());
    report.exit_code = exit_code;
    if let Some(code) = exit_code {
        runner
            .set_output("exit-code", &code.to_string())
            .map_err(report::output_failure)?;
    }
    if let Err(failure) = waited {
        row.outcome = Some("failure".into());
        row.failure = Some((failure.headline.clone(), Vec::new(), Vec::new()));
        return Err(failure);
    }
    row.outcome = Some("success".into());
    let lines = report.migration_log.len();
    stages
        .run("report", async {
            Ok((
                (),
                format!(
                    "migration succeeded on {}; {lines} log lines shown",
                    registration.short()
                ),
            ))
        })
        .await
}

/// Exit 0 → Ok(0); anything else → the failure (and the exit code, if any).
fn judge(
    ended: Ended,
    container: &str,
    settings: &Settings,
) -> Result<i32, (Failure, Option<i32>)> {
    match ended {
        Ended::Stopped(task) => match runtask::outcome(&task, container) {
            TaskOutcome::Exited(0) => Ok(0),
            TaskOutcome::Exited(code) => Err((
                Failure::failed(
                    "migrate",
                    format!("migration container {container} exited with code {code}"),
                )
                .with_detail(format!(
                    "task {} stopped: {}",
                    task_id(task.task_arn().unwrap_or("")),
                    task.stopped_reason().unwrap_or("?")
                )),
                Some(code),
            )),
            TaskOutcome::NoExitCode(reason) => Err((
                Failure::failed(
                    "migrate",
                    format!("the migration task did not run: {reason}"),
                ),
                None,
            )),
        },
        Ended::TimedOut { stopped } => Err((
            Failure::failed(
                "migrate",
                format!(
                    "the migration did not finish within timeout-minutes ({} min){}",
                    settings.timeout.as_secs_f64() / 60.0,
                    if stopped {
                        "; the task was stopped"
                    } else {
                        "; the task was left running"
                    }
                ),
            ),
            None,
        )),
        Ended::Cancelled { signal, stopped } => Err((
            Failure::failed(
                "migrate",
                format!(
                    "cancelled ({signal}){}",
                    if stopped {
                        "; the migration task was stopped"
                    } else {
                        "; the migration task was left running (stop-task-on-cancel: false)"
                    }
                ),
            ),
            None,
        )),
    }
}
