//! What a deploy of the rendered targets would do, decided from what was
//! read: each service's strategy from its deployment controller and each
//! revision reused or new. `deploy` prints it before changing anything;
//! `render` prints it as what `deploy` would do.

use serde_json::Value;

use super::templates::Target;
use crate::aws::Aws;
use crate::deployment::{alarms, codedeploy};
use crate::error::Failure;
use crate::inputs::{DeploySettings, OnCancel, Settings, WaitUntil};
use crate::plan::{CodeDeployNames, DeployPlan, Revision, ServicePlan, Strategy, check_pausable};
use crate::schedules::{ScheduledTask, Selection, decide_deploy, read};
use crate::taskdef::normalize;

/// Reads only, concurrently. With `deploy`'s settings, the plan deploy
/// carries out — each CodeDeploy application and group proved to exist,
/// and the wait included; without (render), what deploy would do with its
/// defaults, naming them only.
pub async fn plan(
    settings: &Settings,
    deploy: Option<&DeploySettings>,
    schedules: Option<&Selection>,
    aws: &Aws,
    targets: &[Target],
) -> Result<DeployPlan, Failure> {
    let for_deploy = deploy.is_some();
    let strategies = strategies(settings, deploy, targets)?;
    // Each service's watching alarms: its own deploymentConfiguration's,
    // or (CODE_DEPLOY) its deployment group's, read as the group is proved.
    let checks = targets
        .iter()
        .filter_map(|t| t.service.as_ref())
        .zip(&strategies)
        .map(|(svc, s)| async move {
            match s {
                Strategy::CodeDeploy(cd) if for_deploy => {
                    codedeploy::check(&aws.codedeploy, cd).await
                }
                Strategy::CodeDeploy(_) => Ok(Vec::new()),
                _ => Ok(alarms::of_service(svc)),
            }
        });
    let (checked, decisions, found) = tokio::join!(
        futures_util::future::join_all(checks),
        super::register::decide(aws, targets),
        find_schedules(aws, schedules, targets)
    );
    let found = found.map_err(|e| Failure::from_error("scheduled-tasks", e))?;
    let mut watched = checked
        .into_iter()
        .collect::<anyhow::Result<Vec<Vec<String>>>>()
        .map_err(|e| Failure::from_error("codedeploy", e))?
        .into_iter();
    let services = service_plans(targets, strategies, decisions?, &mut watched);
    Ok(DeployPlan {
        cluster: settings.cluster.clone(),
        services,
        wait: deploy.map(|d| (d.follow.wait_until, d.follow.timeout)),
        fail_fast: deploy.is_some_and(|d| d.fail_fast),
        rollback_on_cancel: deploy.is_some_and(|d| d.on_cancel == OnCancel::Rollback),
        retention: deploy.and_then(|d| d.retention),
        schedules: found.map(|found| {
            let exclude = schedules.map(|s| s.exclude.as_slice()).unwrap_or_default();
            decide_deploy(found, exclude)
        }),
    })
}

/// Each service's strategy, from its deployment controller; with
/// `wait-until: paused`, each must have a PAUSE lifecycle hook.
fn strategies(
    settings: &Settings,
    deploy: Option<&DeploySettings>,
    targets: &[Target],
) -> Result<Vec<Strategy>, Failure> {
    let names = deploy.map_or_else(CodeDeployNames::default, |d| {
        CodeDeployNames::from_settings(&d.follow, d.codedeploy_deployment_config.as_deref())
    });
    let services = || targets.iter().filter_map(|t| t.service.as_ref());
    let strategies = services()
        .map(|svc| Strategy::of(&settings.cluster, svc, names))
        .collect::<anyhow::Result<Vec<_>>>()
        .map_err(|e| Failure::from_error("deploy", e))?;
    if deploy.is_some_and(|d| d.follow.wait_until == WaitUntil::Paused) {
        for (svc, strategy) in services().zip(&strategies) {
            check_pausable(svc, strategy).map_err(|e| Failure::from_error("wait-until", e))?;
        }
    }
    Ok(strategies)
}

/// One plan per target, in order: its strategy, revision decision and
/// watching alarms; targets whose new definitions are equal share one
/// registration (`same_as` names the first).
fn service_plans(
    targets: &[Target],
    strategies: Vec<Strategy>,
    decisions: Vec<Revision>,
    watched: &mut impl Iterator<Item = Vec<String>>,
) -> Vec<ServicePlan> {
    let keys: Vec<Value> = targets
        .iter()
        .map(|t| normalize(&t.rendered.definition))
        .collect();
    let same_as = |i: usize, revision: &Revision| match revision {
        Revision::New { .. } => keys[..i]
            .iter()
            .position(|k| *k == keys[i])
            .map(|j| targets[j].name.clone()),
        Revision::Reuse { .. } | Revision::Promote { .. } => None,
    };
    targets
        .iter()
        .zip(strategies)
        .zip(decisions)
        .enumerate()
        .map(|(i, ((t, strategy), revision))| ServicePlan {
            same_as: same_as(i, &revision),
            service: t.name.clone(),
            family: t.rendered.family().to_string(),
            from: t
                .service
                .as_ref()
                .and_then(|s| s.task_definition())
                .unwrap_or_default()
                .to_string(),
            revision,
            strategy,
            alarms: watched.next().unwrap_or_default(),
        })
        .collect()
}

/// The scheduled tasks `selection` names that run a deployed family in
/// the services' cluster; `None` when not asked.
async fn find_schedules(
    aws: &Aws,
    selection: Option<&Selection>,
    targets: &[Target],
) -> anyhow::Result<Option<Vec<ScheduledTask>>> {
    let cluster_arn = targets
        .iter()
        .find_map(|t| t.service.as_ref().and_then(|s| s.cluster_arn()));
    let families = targets.iter().map(|t| t.rendered.family().to_string());
    read::of_families(aws.schedule_clients(), selection, cluster_arn, families).await
}
