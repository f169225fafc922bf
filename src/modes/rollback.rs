//! `mode: rollback` — credentials → plan (the previous good revision, or
//! the deployment in progress to stop) → roll back → wait → report. It says
//! what it rolls back from and to before it does.

use aws_sdk_ecs::types::Service;
use aws_smithy_types::DateTime;

use super::change::change_stage;
use super::prepare;
use super::report::{Report, TargetRow};
use super::wait::{WaitFor, wait_stage};
use crate::arn::last_segment;
use crate::aws::Aws;
use crate::context::RunContext;
use crate::deployment::Updated;
use crate::deployment::apply::{Change, rollback_change};
use crate::deployment::codedeploy;
use crate::deployment::native;
use crate::deployment::previous::previous_good;
use crate::error::{Failure, Outcome, bad_input};
use crate::inputs::RollbackSettings;
use crate::plan::{CodeDeployNames, DeploymentKind, RollbackAction, Strategy};
use crate::schedules::{Decision, ScheduledTask, Selection, decide_rollback, read};
use crate::service::describe_services;
use crate::stages::Stages;

pub async fn run(ctx: &RunContext<'_>, r: &RollbackSettings, report: &mut Report) -> Outcome {
    let (settings, runner, env) = (ctx.settings, ctx.runner, ctx.env);
    let mut stages = Stages::new(runner, 5 + usize::from(r.schedules.is_some()));
    let aws = prepare::credentials_stage(&mut stages, settings, runner, env).await?;
    let (services, actions, moves, plan) = stages
        .run("find previous good revision", async {
            let services = describe_services(&aws.ecs, &settings.cluster, &settings.services)
                .await
                .map_err(|e| Failure::from_error("service", e))?;
            let names = CodeDeployNames::from_settings(&r.follow, None);
            let plans = services
                .iter()
                .map(|svc| plan(&aws, &settings.cluster, svc, names));
            let (actions, found) = tokio::join!(
                futures_util::future::try_join_all(plans),
                read::of_services(aws.schedule_clients(), r.schedules.as_ref(), &services)
            );
            let actions = actions.map_err(|e| Failure::from_error("rollback", e))?;
            let found = found.map_err(|e| Failure::from_error("scheduled-tasks", e))?;
            let moves = schedules_back(found, r.schedules.as_ref(), &actions);
            let mut lines: Vec<String> = actions.iter().map(RollbackAction::describe).collect();
            for line in moves.iter().flatten().map(Decision::line) {
                runner.info(&line);
                lines.push(line);
            }
            let headline = lines[..actions.len()].join("; ");
            Ok(((services, actions, moves, lines), headline))
        })
        .await?;
    report.plan = plan;
    report.rows = actions.iter().map(row).collect();

    let since = DateTime::from(std::time::SystemTime::now());
    // From the first change on, a cancelled run says which deployments go on (in the wait).
    let _armed = ctx.cancel.arm();
    let updated = rollback_stage(&mut stages, &aws, &settings.cluster, &services, &actions).await?;
    for (r, u) in report.rows.iter_mut().zip(&updated) {
        r.record_deployment(&aws.region, last_segment(&settings.cluster), u);
    }
    let wait = WaitFor {
        settings: &r.follow,
        since,
        fail_fast: Default::default(),
        continued: Default::default(),
        on_cancel: Default::default(),
        alarms: Default::default(),
    };
    wait_stage(&mut stages, ctx, &aws, &updated, wait, report).await?;
    if let Some(moves) = &moves {
        let none = Default::default();
        report.schedules = super::schedules::move_stage(&mut stages, &aws, moves, &none).await?;
    }
    let lines: Vec<String> = report
        .rows
        .iter()
        .map(|r| match &r.revision {
            Some(rev) => format!("{} is back on {rev}", r.name),
            None => format!("{}: {}", r.name, r.outcome.as_deref().unwrap_or("?")),
        })
        .collect();
    stages.report(lines.join("; ")).await
}

/// Each service's rollback, as decided: UpdateService back, or its
/// deployment in progress stopped with rollback.
async fn rollback_stage(
    stages: &mut Stages<'_>,
    aws: &Aws,
    cluster: &str,
    services: &[Service],
    actions: &[RollbackAction],
) -> Result<Vec<Updated>, Failure> {
    let changes: Vec<Change> = services
        .iter()
        .zip(actions)
        .map(|(svc, a)| rollback_change(&aws.ecs, &aws.codedeploy, cluster, svc, a))
        .collect();
    let line = |i: usize, u: &Updated| done_line(u, &actions[i]);
    change_stage(stages, "roll back", "rollback", changes, line).await
}

/// What happens to each scheduled task: back with its service where it
/// runs the revision the service leaves.
fn schedules_back(
    found: Option<Vec<ScheduledTask>>,
    selection: Option<&Selection>,
    actions: &[RollbackAction],
) -> Option<Vec<Decision>> {
    let back: Vec<(String, String)> = actions
        .iter()
        .filter_map(|a| match a {
            RollbackAction::Update { to, .. } => Some((to.from.clone(), to.to.clone())),
            _ => None,
        })
        .collect();
    let exclude = selection.map(|s| s.exclude.as_slice()).unwrap_or_default();
    found.map(|found| decide_rollback(found, exclude, &back))
}

/// The report row of one planned rollback.
fn row(action: &RollbackAction) -> TargetRow {
    match action {
        RollbackAction::Update { to, .. } => TargetRow {
            name: to.service.clone(),
            family: last_segment(&to.to)
                .split(':')
                .next()
                .unwrap_or_default()
                .to_string(),
            origin: format!("rollback from {}", last_segment(&to.from)),
            revision: Some(last_segment(&to.to).to_string()),
            task_definition_arn: Some(to.to.clone()),
            ..Default::default()
        },
        RollbackAction::StopCodeDeploy { target, deployment } => TargetRow {
            name: target.service.clone(),
            origin: format!("stop of CodeDeploy deployment {deployment}"),
            deployment: Some(deployment.clone()),
            ..Default::default()
        },
        RollbackAction::StopNative { service, arn, .. } => TargetRow {
            name: service.clone(),
            origin: format!("stop of service deployment {}", last_segment(arn)),
            revision: Some("the previous revision".into()),
            deployment: Some(arn.clone()),
            ..Default::default()
        },
    }
}

/// What the roll back stage did for one service.
fn done_line(u: &crate::deployment::Updated, action: &RollbackAction) -> String {
    let service = &u.followed.service;
    match action {
        RollbackAction::StopNative {
            arn, paused: None, ..
        } => {
            format!(
                "{service}: StopServiceDeployment (ROLLBACK) of {}",
                last_segment(arn)
            )
        }
        RollbackAction::StopNative {
            arn,
            paused: Some(p),
            ..
        } => format!(
            "{service}: ContinueServiceDeployment (ROLLBACK) of {}, paused at {}",
            last_segment(arn),
            p.stage
        ),
        RollbackAction::StopCodeDeploy { deployment, .. } => format!(
            "{service}: stopped CodeDeploy deployment {deployment}; rollback deployment {}",
            u.followed.deployment_id
        ),
        RollbackAction::Update { .. } => format!(
            "{service}: deployment {} to {}",
            u.followed.deployment_id,
            last_segment(&u.followed.task_definition)
        ),
    }
}

/// What rollback does for one service, from its deployment controller
/// (the same dispatch as deploy) and what is in progress.
async fn plan(
    aws: &Aws,
    cluster: &str,
    svc: &aws_sdk_ecs::types::Service,
    names: CodeDeployNames<'_>,
) -> anyhow::Result<RollbackAction> {
    let strategy = Strategy::of(cluster, svc, names)?;
    let service = svc.service_name().unwrap_or_default().to_string();
    if let Strategy::CodeDeploy(target) = strategy {
        codedeploy::check(&aws.codedeploy, &target).await?;
        return match codedeploy::in_progress(&aws.codedeploy, &target).await? {
            Some(deployment) => Ok(RollbackAction::StopCodeDeploy { target, deployment }),
            None => Err(bad_input(
                "service",
                format!(
                    "no CodeDeploy deployment of {service} is in progress, so there is nothing to stop; CodeDeploy already rolls back failed deployments — to return to an earlier revision, run mode deploy with task-definition family:revision"
                ),
            )),
        };
    }
    let kind = strategy.kind();
    if kind == DeploymentKind::Native
        && let Some((arn, described)) =
            native::in_progress_described(&aws.ecs, cluster, &service).await?
    {
        let current = svc.task_definition().unwrap_or_default().to_string();
        let paused = described.and_then(|d| native::paused_at(&d, None));
        return Ok(RollbackAction::StopNative {
            service,
            arn,
            current,
            paused,
        });
    }
    let to = previous_good(&aws.ecs, cluster, svc).await?;
    Ok(RollbackAction::Update { to, kind })
}
