//! `mode: migrate` — credentials → resolve image → render → verify → register →
//! run task → wait for exit (logs streamed live) → report.
//!
//! The migration runs on the same rendered definition the deploy step will
//! register (so migrate-then-deploy registers once), placed where the
//! service runs.

use serde_json::Value;

use super::prepare;
use super::report::{self, Report};
use super::templates::row;
use crate::aws::Aws;
use crate::context::RunContext;
use crate::error::{Failure, Outcome};
use crate::inputs::MigrateSettings;
use crate::poll::PollSchedule;
use crate::runtask::logs::{LogFollower, LogStream};
use crate::runtask::wait::{Ended, Waiter};
use crate::runtask::{self, TaskOutcome, TaskPlan, console_url, task_id};
use crate::stages::Stages;
use crate::taskdef::register::Registration;
use aws_sdk_ecs::types::Task;

pub async fn run(ctx: &RunContext<'_>, m: &MigrateSettings, report: &mut Report) -> Outcome {
    let (settings, runner, env) = (ctx.settings, ctx.runner, ctx.env);
    let mut stages = Stages::new(runner, 8);
    let (aws, images, mut targets) =
        prepare::front_stages(&mut stages, settings, &m.rendering, runner, env, report).await?;
    // Where and how the task runs, and reuse or new revision: decided from
    // what was read, before anything is registered.
    let rendered = &targets[0].rendered;
    let plan = runtask::plan(
        &m.task,
        targets[0].service.as_ref(),
        &rendered.definition,
        &rendered.image_containers(),
    )
    .map_err(|e| Failure::from_error("migrate", e))?;
    let container = container_definition(&rendered.definition, &plan.container);
    let decisions = super::register::decide(&aws, &targets).await?;
    prepare::write_artifacts(settings, &m.rendering, &mut targets, &images, None)?;
    report.rows = targets.iter().map(|t| row(t, false)).collect();

    let registrations =
        super::register::register_stage(&mut stages, &aws, &targets, &decisions).await?;
    report.record_registrations(&registrations);
    let registration = registrations[0].clone();
    runner
        .set_output("task-definition-arn", &registration.arn)
        .map_err(report::output_failure)?;

    // From RunTask on, a cancelled run stops the task (in the wait): a
    // signal during RunTask is seen by the wait at once.
    let _armed = ctx.cancel.arm();
    let task = run_task_stage(&mut stages, ctx, &aws, &registration, &plan).await?;
    let task_arn = task.task_arn().unwrap_or_default().to_string();
    record_task(ctx, &aws, &task_arn, report)?;
    let mut logs = follow_logs(ctx, &aws, &container, &task_arn, &plan.container, report)?;

    let started = std::time::Instant::now();
    let waited = wait_stage(
        &mut stages,
        ctx,
        m,
        &aws,
        &task_arn,
        &plan.container,
        &mut logs,
    )
    .await;
    report.migration_log = logs.as_ref().map(|l| l.tail()).unwrap_or_default();
    let row = &mut report.rows[0];
    row.took = Some(started.elapsed());
    let exit_code = match &waited {
        Ok(code) => Some(*code),
        Err((_, code)) => *code,
    };
    report.exit_code = exit_code;
    if let Some(code) = exit_code {
        runner
            .set_output("exit-code", &code.to_string())
            .map_err(report::output_failure)?;
    }
    if let Err((failure, _)) = waited {
        row.outcome = Some("failure".into());
        row.failure = Some((failure.headline.clone(), Vec::new(), Vec::new()));
        return Err(failure);
    }
    row.outcome = Some("success".into());
    let lines = report.migration_log.len();
    let summary = format!(
        "migration succeeded on {}; {lines} log lines shown",
        registration.short()
    );
    stages.report(summary).await
}

/// The definition of the container the migration runs in.
fn container_definition(definition: &Value, name: &str) -> Value {
    definition["containerDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["name"].as_str() == Some(name))
        .cloned()
        .unwrap_or(Value::Null)
}

async fn run_task_stage(
    stages: &mut Stages<'_>,
    ctx: &RunContext<'_>,
    aws: &Aws,
    registration: &Registration,
    plan: &TaskPlan,
) -> Result<Task, Failure> {
    stages
        .run("run task", async {
            let cluster = &ctx.settings.cluster;
            let task = runtask::run_task(&aws.ecs, cluster, &registration.arn, plan, &ctx.cancel)
                .await
                .map_err(|e| Failure::from_error("run task", e))?;
            let arn = task.task_arn().unwrap_or_default();
            let url = console_url(&aws.region, crate::arn::last_segment(cluster), arn);
            ctx.runner.info(&format!("task: {url}"));
            let summary = started_line(task_id(arn), registration, plan);
            Ok((task, summary))
        })
        .await
}

/// `started task … of web:7 with command … on container web in subnets
/// (security groups); …`: the run-task stage's result.
fn started_line(task: &str, registration: &Registration, plan: &TaskPlan) -> String {
    let cmd = plan
        .command
        .as_ref()
        .map(|c| format!(" with command {c:?}"))
        .unwrap_or_default();
    let network = match plan.subnets.is_empty() {
        true => String::new(),
        false => format!(
            " in {} ({})",
            plan.subnets.join(", "),
            plan.security_groups.join(", ")
        ),
    };
    format!(
        "started task {task} of {}{cmd} on container {}{network}; {}",
        registration.short(),
        plan.container,
        plan.origin
    )
}

/// The task in the report (its console link) and the `task-arn` output.
fn record_task(
    ctx: &RunContext<'_>,
    aws: &Aws,
    task_arn: &str,
    report: &mut Report,
) -> Result<(), Failure> {
    let cluster = crate::arn::last_segment(&ctx.settings.cluster);
    report.rows[0].deployment = Some(task_id(task_arn).to_string());
    report.rows[0].links = vec![("task", console_url(&aws.region, cluster, task_arn))];
    ctx.runner
        .set_output("task-arn", task_arn)
        .map_err(report::output_failure)
}

/// The container's awslogs stream, followed live; none (with a notice)
/// when the container logs elsewhere.
fn follow_logs(
    ctx: &RunContext<'_>,
    aws: &Aws,
    container: &Value,
    task_arn: &str,
    name: &str,
    report: &mut Report,
) -> Result<Option<LogFollower>, Failure> {
    let runner = ctx.runner;
    let Some(stream) = LogStream::for_container(container, task_id(task_arn), &aws.region) else {
        runner.notice(
            "logs",
            &format!(
                "container {name} does not use the awslogs driver: its output cannot be shown here"
            ),
        );
        return Ok(None);
    };
    let url = stream.console_url();
    runner.info(&format!(
        "logs: group {}, stream {} — {url}",
        stream.group, stream.stream
    ));
    report.rows[0].links.push(("log stream", url));
    runner
        .set_output("log-stream", &format!("{}/{}", stream.group, stream.stream))
        .map_err(report::output_failure)?;
    Ok(Some(LogFollower::new(&aws.config, stream)))
}

/// Waits for the task's exit, streaming its log; the exit code when it ran to one.
async fn wait_stage(
    stages: &mut Stages<'_>,
    ctx: &RunContext<'_>,
    m: &MigrateSettings,
    aws: &Aws,
    task_arn: &str,
    container: &str,
    logs: &mut Option<LogFollower>,
) -> Result<i32, (Failure, Option<i32>)> {
    let mut waiter = Waiter {
        ecs: &aws.ecs,
        runner: ctx.runner,
        cluster: &ctx.settings.cluster,
        task_arn,
        timeout: m.timeout,
        stop_on_cancel: m.task.stop_on_cancel,
        // RunTask's answer is the first status (PROVISIONING): poll a second later.
        schedule: PollSchedule::default().waiting_first(),
    };
    let mut code: Option<i32> = None;
    let waited = stages
        .run("wait for exit", async {
            let ended = waiter.wait(logs, ctx.cancel.signalled()).await;
            let judged = judge(ended, container, m.timeout);
            code = match &judged {
                Ok(c) => Some(*c),
                Err((_, c)) => *c,
            };
            judged
                .map(|_| {
                    (
                        (),
                        format!("migration container {container} exited with code 0"),
                    )
                })
                .map_err(|(failure, _)| failure)
        })
        .await;
    match waited {
        Ok(()) => Ok(code.unwrap_or(0)),
        Err(failure) => Err((failure, code)),
    }
}

/// A task that stopped without an exit code: named by its class when it
/// failed a way that will not fix itself (ECS's whole words, and what to
/// do, follow as detail), else by ECS's words.
fn did_not_run(task: &Task, reason: String) -> Failure {
    match crate::deployment::hopeless::class_of(task) {
        Some((class, _)) => Failure::failed(
            "migrate",
            format!("the migration task did not run: {}", class.name()),
        )
        .with_detail(reason)
        .with_detail(class.what_to_do()),
        None => Failure::failed(
            "migrate",
            format!("the migration task did not run: {reason}"),
        ),
    }
}

/// Exit 0 → Ok(0); anything else → the failure (and the exit code, if any).
fn judge(
    ended: Ended,
    container: &str,
    timeout: std::time::Duration,
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
            TaskOutcome::NoExitCode(reason) => Err((did_not_run(&task, reason), None)),
        },
        Ended::TimedOut { stopped } => Err((
            Failure::failed(
                "migrate",
                format!(
                    "the migration did not finish within timeout-minutes ({} min){}",
                    timeout.as_secs_f64() / 60.0,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_started_line_names_the_task_revision_command_container_and_network() {
        let plan = TaskPlan {
            launch_type: None,
            capacity_provider_strategy: Vec::new(),
            platform_version: None,
            subnets: vec!["subnet-a".into(), "subnet-b".into()],
            security_groups: vec!["sg-1".into()],
            assign_public_ip: Some(false),
            container: "web".into(),
            command: Some(vec!["bin/rails".into(), "db:migrate".into()]),
            started_by: "fargate-deploy".into(),
            origin: "network of service web".into(),
        };
        let registration = Registration {
            arn: "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7".into(),
            reused: true,
        };
        assert_eq!(
            started_line("t1", &registration, &plan),
            "started task t1 of web:7 with command [\"bin/rails\", \"db:migrate\"] on container web in subnet-a, subnet-b (sg-1); network of service web"
        );
        let plan = TaskPlan {
            subnets: Vec::new(),
            command: None,
            ..plan
        };
        assert_eq!(
            started_line("t1", &registration, &plan),
            "started task t1 of web:7 on container web; network of service web"
        );
    }
}
