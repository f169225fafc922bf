//! `mode: continue` — credentials → find the paused deployments (the plan,
//! with the scheduled tasks to move) → continue them
//! (ContinueServiceDeployment with CONTINUE) → wait → move scheduled tasks
//! → report. It resumes what a `wait-until: paused` deploy left awaiting a
//! person's approval, and follows it as deploy does. (`continue` is a Rust
//! keyword: hence the module's name.)

use std::collections::HashMap;

use aws_sdk_ecs::types::Service;
use aws_smithy_types::DateTime;
use serde_json::json;

use super::change::change_stage;
use super::prepare;
use super::report::{Report, TargetRow};
use super::wait::{WaitFor, wait_stage};
use crate::arn::last_segment;
use crate::aws::Aws;
use crate::context::RunContext;
use crate::deployment::Updated;
use crate::deployment::apply::continue_change;
use crate::deployment::{alarms, native};
use crate::error::{Failure, Outcome, bad_input};
use crate::inputs::ContinueSettings;
use crate::plan::{self, CodeDeployNames, ContinueAction, Strategy};
use crate::schedules::{Decision, decide_deploy, family_of, read};
use crate::service::describe_services;
use crate::stages::Stages;

pub async fn run(ctx: &RunContext<'_>, c: &ContinueSettings, report: &mut Report) -> Outcome {
    let (settings, runner, env) = (ctx.settings, ctx.runner, ctx.env);
    let github =
        crate::github::deployment::prepare(settings, c.github.as_ref(), c.follow.wait_until, env)?;
    let mut stages = Stages::new(runner, 5 + usize::from(c.schedules.is_some()));
    let aws = prepare::credentials_stage(&mut stages, settings, runner, env).await?;
    let Found {
        services,
        actions,
        moves,
        watched,
        lines,
    } = find_stage(&mut stages, ctx, c, &aws).await?;
    report.plan = lines;
    report.rows = actions.iter().map(row).collect();
    if let Some(github) = github {
        let names: Vec<&str> = actions.iter().map(|a| a.service.as_str()).collect();
        let cluster = last_segment(&settings.cluster);
        report.github_deployment = Some(github.start(
            ctx.runner.clone(),
            format!("continue {} in {cluster}", names.join(", ")),
            json!({"cluster": cluster, "services": names, "continued": true}),
            report.run_url.clone(),
        ));
    }

    let since = DateTime::from(std::time::SystemTime::now());
    let _armed = ctx.cancel.arm();
    let updated = continue_stage(&mut stages, &aws, &services, &actions).await?;
    let cluster = last_segment(&settings.cluster);
    for (r, u) in report.rows.iter_mut().zip(&updated) {
        r.record_deployment(&aws.region, cluster, u);
    }
    let wait = WaitFor {
        settings: &c.follow,
        since,
        fail_fast: Default::default(),
        on_cancel: Default::default(),
        continued: actions
            .iter()
            .map(|a| (a.service.clone(), a.hook.hook_id.clone()))
            .collect(),
        alarms: watched.into_iter().collect(),
    };
    wait_stage(&mut stages, ctx, &aws, &updated, wait, report).await?;
    if let Some(moves) = &moves {
        let decided = HashMap::new(); // every move names its revision
        report.schedules = super::schedules::move_stage(&mut stages, &aws, moves, &decided).await?;
    }
    let lines: Vec<String> = report
        .rows
        .iter()
        .map(|r| format!("{}: {}", r.name, r.outcome.as_deref().unwrap_or("?")))
        .collect();
    stages.report(lines.join("; ")).await
}

/// What mode continue found and decided before changing anything.
struct Found {
    services: Vec<Service>,
    actions: Vec<ContinueAction>,
    /// The scheduled tasks to move (`scheduled-tasks`), each to its revision.
    moves: Option<Vec<Decision>>,
    /// The alarms that watch each continued deployment, in plan order.
    watched: Vec<(String, Vec<String>)>,
    /// The plan as printed.
    lines: Vec<String>,
}

/// Reads the services, their paused deployments and the scheduled tasks
/// of their revisions, and decides everything the run will do.
async fn find_stage(
    stages: &mut Stages<'_>,
    ctx: &RunContext<'_>,
    c: &ContinueSettings,
    aws: &Aws,
) -> Result<Found, Failure> {
    let cluster = &ctx.settings.cluster;
    stages
        .run("find paused deployment", async {
            let services = describe_services(&aws.ecs, cluster, &ctx.settings.services)
                .await
                .map_err(|e| Failure::from_error("service", e))?;
            let found = services.iter().map(|svc| find_paused(aws, cluster, svc));
            // The scheduled tasks of the revisions being continued, read
            // beside the deployments.
            let (actions, scheduled) = tokio::join!(
                futures_util::future::try_join_all(found),
                read::of_services(aws.schedule_clients(), c.schedules.as_ref(), &services)
            );
            let actions = actions.map_err(|e| Failure::from_error("continue", e))?;
            let scheduled = scheduled.map_err(|e| Failure::from_error("scheduled-tasks", e))?;
            let exclude = c.schedules.as_ref().map(|s| s.exclude.as_slice());
            let moves = scheduled.map(|found| {
                let decided = decide_deploy(found, exclude.unwrap_or_default());
                to_continued_revisions(decided, &actions)
            });
            let watched: Vec<(String, Vec<String>)> = services
                .iter()
                .filter_map(|s| Some((s.service_name()?.to_string(), alarms::of_service(s))))
                .collect();
            let mut lines: Vec<String> = actions.iter().map(ContinueAction::describe).collect();
            lines.extend(watched.iter().filter_map(|(s, a)| plan::watched_line(s, a)));
            lines.extend(moves.iter().flatten().map(Decision::line));
            let headline = lines.join("; ");
            let found = Found {
                services,
                actions,
                moves,
                watched,
                lines,
            };
            Ok((found, headline))
        })
        .await
}

/// ContinueServiceDeployment (CONTINUE) of every paused deployment.
async fn continue_stage(
    stages: &mut Stages<'_>,
    aws: &Aws,
    services: &[Service],
    actions: &[ContinueAction],
) -> Result<Vec<Updated>, Failure> {
    let changes = services
        .iter()
        .zip(actions)
        .map(|(svc, a)| continue_change(&aws.ecs, svc, a))
        .collect();
    let line = |i: usize, _: &Updated| {
        let a = &actions[i];
        format!("{}: continued from {}", a.service, a.hook.stage)
    };
    change_stage(stages, "continue", "continue", changes, line).await
}

/// Each move names the revision it goes to, known before anything changes:
/// the one the continued deployment of its family rolls out (the first
/// service of a family wins).
fn to_continued_revisions(decided: Vec<Decision>, actions: &[ContinueAction]) -> Vec<Decision> {
    decided
        .into_iter()
        .map(|d| match d {
            Decision::Move { task, to: None } => {
                let to = actions
                    .iter()
                    .find(|a| family_of(&a.task_definition) == task.family())
                    .map(|a| a.task_definition.clone());
                Decision::Move { task, to }
            }
            other => other,
        })
        .collect()
}

/// The report row of one continued deployment.
fn row(action: &ContinueAction) -> TargetRow {
    let revision = last_segment(&action.task_definition);
    TargetRow {
        name: action.service.clone(),
        family: revision.split(':').next().unwrap_or_default().to_string(),
        origin: format!("continued from {}", action.hook.stage),
        revision: Some(revision.to_string()),
        task_definition_arn: Some(action.task_definition.clone()),
        deployment: Some(action.arn.clone()),
        ..Default::default()
    }
}

/// The deployment of `svc` that awaits ContinueServiceDeployment at a PAUSE
/// hook; anything else is bad input (exit 2, nothing changed).
async fn find_paused(
    aws: &Aws,
    cluster: &str,
    svc: &aws_sdk_ecs::types::Service,
) -> anyhow::Result<ContinueAction> {
    let name = svc.service_name().unwrap_or_default().to_string();
    let nothing = |why: String| {
        bad_input(
            "service",
            format!(
                "service {name} has no deployment paused at a PAUSE lifecycle hook: {why}; mode continue resumes what a deploy with wait-until: paused left paused"
            ),
        )
    };
    if !matches!(
        Strategy::of(cluster, svc, CodeDeployNames::default())?,
        Strategy::Native(_)
    ) {
        return Err(nothing(
            "it does not deploy ECS-natively (blue/green, linear or canary)".into(),
        ));
    }
    let Some((arn, deployment)) = native::in_progress_described(&aws.ecs, cluster, &name).await?
    else {
        return Err(nothing("no deployment of it is in progress".into()));
    };
    let paused = deployment.as_ref().and_then(|d| native::paused_at(d, None));
    let Some(paused) = paused else {
        let stage = deployment
            .as_ref()
            .and_then(|d| d.lifecycle_stage())
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|| "?".into());
        return Err(nothing(format!(
            "its deployment {} is at {stage} and no hook awaits action",
            last_segment(&arn)
        )));
    };
    Ok(ContinueAction {
        service: name,
        arn,
        task_definition: svc.task_definition().unwrap_or_default().to_string(),
        hook: paused,
    })
}
