//! `mode: rollback` — credentials → find previous good revision → roll back
//! → wait → report. It says what it rolls back from and to before it does.

use std::sync::Arc;

use aws_smithy_types::DateTime;
use tokio::task::JoinSet;

use super::deploy::wait_stage;
use super::prepare;
use super::report::{Report, TargetRow};
use crate::deploy::rollback::{RollbackPlan, plan_rollback};
use crate::deploy::{Updated, update_service};
use crate::error::Failure;
use crate::inputs::Settings;
use crate::runner::Runner;
use crate::service::describe_services;
use crate::stages::Stages;

fn short(td: &str) -> &str {
    td.rsplit('/').next().unwrap_or(td)
}

pub async fn run(
    settings: &Settings,
    runner: &Arc<Runner>,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
    report: &mut Report,
) -> Result<(), Failure> {
    let mut stages = Stages::new(runner, 5);
    let aws = prepare::credentials_stage(&mut stages, settings, runner, env).await?;
    let (services, plans) = stages
        .run("find previous good revision", async {
            let services = describe_services(&aws.ecs, &settings.cluster, &settings.services).await?;
            for svc in &services {
                let controller = svc.deployment_controller().map(|c| c.r#type().as_str().to_string());
                if controller.as_deref().is_some_and(|c| c != "ECS") {
                    return Err(Failure::input("service", format!(
                        "service {} uses the {} deployment controller; rollback of CodeDeploy deployments is not available in this version yet",
                        svc.service_name().unwrap_or("?"),
                        controller.unwrap_or_default()
                    )));
                }
            }
            let mut calls = JoinSet::new();
            for (i, svc) in services.iter().enumerate() {
                let (ecs, cluster, svc) = (aws.ecs.clone(), settings.cluster.clone(), svc.clone());
                calls.spawn(async move { (i, plan_rollback(&ecs, &cluster, &svc).await) });
            }
            let mut plans: Vec<(usize, RollbackPlan)> = Vec::new();
            while let Some(joined) = calls.join_next().await {
                let (i, plan) = joined.map_err(|e| Failure::failed("rollback", format!("rollback planning failed: {e}")))?;
                plans.push((i, plan?));
            }
            plans.sort_by_key(|(i, _)| *i);
            let plans: Vec<RollbackPlan> = plans.into_iter().map(|(_, p)| p).collect();
            let lines: Vec<String> = plans.iter().map(|p| format!("{}: from {} to {} — {}", p.service, short(&p.from), short(&p.to), p.why)).collect();
            Ok(((services, plans), lines.join("; ")))
        })
        .await?;
    report.rows = plans
        .iter()
        .map(|p| TargetRow {
            name: p.service.clone(),
            family: short(&p.to)
                .split(':')
                .next()
                .unwrap_or_default()
                .to_string(),
            origin: format!("rollback from {}", short(&p.from)),
            revision: Some(short(&p.to).to_string()),
            task_definition_arn: Some(p.to.clone()),
            ..Default::default()
        })
        .collect();

    let since = DateTime::from(std::time::SystemTime::now());
    let updated: Vec<Updated> = stages
        .run("roll back", async {
            let mut calls = JoinSet::new();
            for (i, (svc, plan)) in services.iter().zip(&plans).enumerate() {
                let (ecs, cluster, svc, to) = (
                    aws.ecs.clone(),
                    settings.cluster.clone(),
                    svc.clone(),
                    plan.to.clone(),
                );
                calls.spawn(async move {
                    (
                        i,
                        update_service(&ecs, &cluster, &svc, &to, false, None).await,
                    )
                });
            }
            let mut done: Vec<(usize, Updated)> = Vec::new();
            while let Some(joined) = calls.join_next().await {
                let (i, u) = joined
                    .map_err(|e| Failure::failed("rollback", format!("update task failed: {e}")))?;
                done.push((i, u?));
            }
            done.sort_by_key(|(i, _)| *i);
            let updated: Vec<Updated> = done.into_iter().map(|(_, u)| u).collect();
            let lines: Vec<String> = updated
                .iter()
                .map(|u| {
                    format!(
                        "{}: deployment {} to {}",
                        u.followed.service,
                        u.followed.deployment_id,
                        short(&u.followed.task_definition)
                    )
                })
                .collect();
            Ok((updated, lines.join("; ")))
        })
        .await?;
    for (r, u) in report.rows.iter_mut().zip(&updated) {
        r.deployment = Some(u.followed.deployment_id.clone());
    }
    wait_stage(&mut stages, settings, &aws, runner, &updated, since, report).await?;
    let lines: Vec<String> = report
        .rows
        .iter()
        .map(|r| {
            format!(
                "{} is back on {}",
                r.name,
                r.revision.as_deref().unwrap_or("?")
            )
        })
        .collect();
    stages
        .run("report", async { Ok(((), lines.join("; "))) })
        .await
}
