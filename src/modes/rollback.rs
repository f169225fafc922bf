//! `mode: rollback` — credentials → find previous good revision → roll back
//! → wait → report. It says what it rolls back from and to before it does.

use crate::arn::last_segment;
use std::sync::Arc;

use aws_smithy_types::DateTime;
use tokio::task::JoinSet;

use super::deploy::{update_native_aware, wait_stage};
use super::prepare;
use super::report::{Report, TargetRow};
use crate::deploy::Updated;
use crate::deploy::assess::Followed;
use crate::deploy::codedeploy::{self, CodeDeployTarget};
use crate::deploy::native;
use crate::deploy::rollback::{RollbackPlan, plan_rollback};
use crate::error::Failure;
use crate::inputs::Settings;
use crate::runner::Runner;
use crate::service::describe_services;
use crate::stages::Stages;

/// What rollback does for one service.
enum Action {
    /// Rolling: UpdateService back to an earlier revision.
    Rolling(RollbackPlan),
    /// CodeDeploy: stop the deployment in progress with automatic rollback.
    StopCodeDeploy {
        target: CodeDeployTarget,
        deployment: String,
    },
    /// Native blue/green: StopServiceDeployment with ROLLBACK, then follow the rollback.
    StopNative {
        service: String,
        arn: String,
        current: String,
    },
}

pub async fn run(
    settings: &Settings,
    runner: &Arc<Runner>,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
    report: &mut Report,
) -> Result<(), Failure> {
    let mut stages = Stages::new(runner, 5);
    let aws = prepare::credentials_stage(&mut stages, settings, runner, env).await?;
    let (services, actions) = stages
        .run("find previous good revision", async {
            let services = describe_services(&aws.ecs, &settings.cluster, &settings.services).await?;
            let mut calls = JoinSet::new();
            for (i, svc) in services.iter().enumerate() {
                let (ecs, cd, cluster, svc) = (aws.ecs.clone(), aws.codedeploy.clone(), settings.cluster.clone(), svc.clone());
                let target = CodeDeployTarget::new(
                    &settings.cluster,
                    svc.service_name().unwrap_or_default(),
                    settings.codedeploy_application.as_deref(),
                    settings.codedeploy_deployment_group.as_deref(),
                    None,
                );
                calls.spawn(async move { (i, plan(&ecs, &cd, &cluster, &svc, target).await) });
            }
            let mut actions: Vec<(usize, Action)> = Vec::new();
            while let Some(joined) = calls.join_next().await {
                let (i, action) = joined.map_err(|e| Failure::failed("rollback", format!("rollback planning failed: {e}")))?;
                actions.push((i, action?));
            }
            actions.sort_by_key(|(i, _)| *i);
            let actions: Vec<Action> = actions.into_iter().map(|(_, a)| a).collect();
            let lines: Vec<String> = actions
                .iter()
                .map(|a| match a {
                    Action::Rolling(p) => format!("{}: from {} to {} — {}", p.service, last_segment(&p.from), last_segment(&p.to), p.why),
                    Action::StopCodeDeploy { target, deployment } => {
                        format!("{}: CodeDeploy deployment {deployment} is in progress; it will be stopped with automatic rollback", target.service)
                    }
                    Action::StopNative { service, arn, current } => {
                        format!("{service}: service deployment {} of {} is in progress; it will be stopped and rolled back", last_segment(arn), last_segment(current))
                    }
                })
                .collect();
            Ok(((services, actions), lines.join("; ")))
        })
        .await?;
    report.rows = actions
        .iter()
        .map(|a| match a {
            Action::Rolling(p) => TargetRow {
                name: p.service.clone(),
                family: last_segment(&p.to)
                    .split(':')
                    .next()
                    .unwrap_or_default()
                    .to_string(),
                origin: format!("rollback from {}", last_segment(&p.from)),
                revision: Some(last_segment(&p.to).to_string()),
                task_definition_arn: Some(p.to.clone()),
                ..Default::default()
            },
            Action::StopCodeDeploy { target, deployment } => TargetRow {
                name: target.service.clone(),
                origin: format!("stop of CodeDeploy deployment {deployment}"),
                deployment: Some(deployment.clone()),
                ..Default::default()
            },
            Action::StopNative { service, arn, .. } => TargetRow {
                name: service.clone(),
                origin: format!("stop of service deployment {}", last_segment(arn)),
                revision: Some("the previous revision".into()),
                deployment: Some(arn.clone()),
                ..Default::default()
            },
        })
        .collect();

    let since = DateTime::from(std::time::SystemTime::now());
    // From UpdateService on, a cancelled run says which deployments go on (in the wait).
    let _armed = crate::poll::Cancel::current().arm();
    let updated: Vec<Updated> = stages
        .run("roll back", async {
            let mut calls = JoinSet::new();
            let mut lines = Vec::new();
            for (i, (svc, action)) in services.iter().zip(&actions).enumerate() {
                match action {
                    Action::Rolling(plan) => {
                        let (ecs, cluster, svc, to) = (aws.ecs.clone(), settings.cluster.clone(), svc.clone(), plan.to.clone());
                        calls.spawn(async move { (i, update_native_aware(&ecs, &cluster, &svc, &to, false, None).await) });
                    }
                    Action::StopNative { service, arn, current } => {
                        native::stop_with_rollback(&aws.ecs, arn).await?;
                        lines.push(format!("{service}: StopServiceDeployment (ROLLBACK) of {}", last_segment(arn)));
                        let followed = Followed { service: service.clone(), deployment_id: arn.clone(), task_definition: current.clone() };
                        let stopped = Updated { followed, new_deployment: false, desired_count: svc.desired_count(), codedeploy: false, native: true, expect_rollback: true };
                        calls.spawn(async move { (i, Ok(stopped)) });
                    }
                    Action::StopCodeDeploy { target, deployment } => {
                        // Beside the other services (finding the rollback deployment can take
                        // seconds); followed to its end like any CodeDeploy deployment.
                        let (cd, deployment) = (aws.codedeploy.clone(), deployment.clone());
                        let followed = Followed { service: target.service.clone(), deployment_id: String::new(), task_definition: svc.task_definition().unwrap_or_default().to_string() };
                        let desired_count = svc.desired_count();
                        calls.spawn(async move {
                            let rollback = codedeploy::stop_with_rollback(&cd, &deployment).await.map(|id| Updated {
                                followed: Followed { deployment_id: id, ..followed },
                                new_deployment: true,
                                desired_count,
                                codedeploy: true,
                                native: false,
                                expect_rollback: false,
                            });
                            (i, rollback)
                        });
                    }
                }
            }
            let mut done: Vec<(usize, Updated)> = Vec::new();
            while let Some(joined) = calls.join_next().await {
                let (i, u) = joined.map_err(|e| Failure::failed("rollback", format!("update task failed: {e}")))?;
                done.push((i, u?));
            }
            done.sort_by_key(|(i, _)| *i);
            lines.extend(done.iter().filter(|(_, u)| !u.expect_rollback).map(|(i, u)| match &actions[*i] {
                Action::StopCodeDeploy { deployment, .. } => format!("{}: stopped CodeDeploy deployment {deployment}; rollback deployment {}", u.followed.service, u.followed.deployment_id),
                _ => format!("{}: deployment {} to {}", u.followed.service, u.followed.deployment_id, last_segment(&u.followed.task_definition)),
            }));
            let updated: Vec<Updated> = done.into_iter().map(|(_, u)| u).collect();
            Ok((updated, lines.join("; ")))
        })
        .await?;
    for u in &updated {
        if let Some(r) = report
            .rows
            .iter_mut()
            .find(|r| r.name == u.followed.service)
        {
            r.record_deployment(&aws.region, last_segment(&settings.cluster), u);
        }
    }
    wait_stage(&mut stages, settings, &aws, runner, &updated, since, report).await?;
    let lines: Vec<String> = report
        .rows
        .iter()
        .map(|r| match &r.revision {
            Some(rev) => format!("{} is back on {rev}", r.name),
            None => format!("{}: {}", r.name, r.outcome.as_deref().unwrap_or("?")),
        })
        .collect();
    stages
        .run("report", async { Ok(((), lines.join("; "))) })
        .await
}

async fn plan(
    ecs: &aws_sdk_ecs::Client,
    cd: &aws_sdk_codedeploy::Client,
    cluster: &str,
    svc: &aws_sdk_ecs::types::Service,
    target: CodeDeployTarget,
) -> Result<Action, Failure> {
    let controller = svc
        .deployment_controller()
        .map(|c| c.r#type().as_str().to_string());
    match controller.as_deref() {
        None | Some("ECS") => {
            if native::strategy(svc).is_some() {
                let service = svc.service_name().unwrap_or_default().to_string();
                if let Some(arn) = native::in_progress(ecs, cluster, &service).await? {
                    let current = svc.task_definition().unwrap_or_default().to_string();
                    return Ok(Action::StopNative {
                        service,
                        arn,
                        current,
                    });
                }
            }
            Ok(Action::Rolling(plan_rollback(ecs, cluster, svc).await?))
        }
        Some("CODE_DEPLOY") => {
            codedeploy::check(cd, &target).await?;
            match codedeploy::in_progress(cd, &target).await? {
                Some(deployment) => Ok(Action::StopCodeDeploy { target, deployment }),
                None => Err(Failure::input(
                    "service",
                    format!(
                        "no CodeDeploy deployment of {} is in progress, so there is nothing to stop; CodeDeploy already rolls back failed deployments — to return to an earlier revision, run mode deploy with task-definition family:revision",
                        target.service
                    ),
                )),
            }
        }
        Some(other) => Err(Failure::input(
            "service",
            format!(
                "service {} uses the {other} deployment controller, which fargate-deploy does not drive",
                svc.service_name().unwrap_or("?")
            ),
        )),
    }
}
