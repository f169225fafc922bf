//! Carrying a plan out: one change per service, all at once, and every one
//! joined before the stage ends — a failure never abandons a call in
//! flight, and it names the services already changed (their deployments go
//! on in AWS).

use std::future::Future;
use std::pin::Pin;

use aws_smithy_types::DateTime;
use tokio::task::JoinSet;

use super::assess::Followed;
use super::{Updated, codedeploy, native, update_service};
use crate::error::{Failure, OrFailed};
use crate::plan::{ContinueAction, DeploymentKind, RollbackAction};

/// One service's change, as a future the stage runs beside the others.
pub type Change = Pin<Box<dyn Future<Output = anyhow::Result<Updated>> + Send>>;

/// At most this many changes (UpdateService, CreateDeployment, …) in
/// flight at once: ECS throttles its service writes far below its reads,
/// per account and Region, so fifty services are updated ten at a time
/// (each call retried with back-off by the SDK when throttled).
pub const CHANGES_AT_ONCE: usize = 10;

/// Runs the changes concurrently, at most [`CHANGES_AT_ONCE`] at a time,
/// and waits for all of them, in plan order. The edge of the stage
/// `stage`: each error becomes a [`Failure`].
pub async fn apply_all(stage: &str, changes: Vec<Change>) -> Result<Vec<Updated>, Failure> {
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(CHANGES_AT_ONCE));
    let mut calls = JoinSet::new();
    for (i, change) in changes.into_iter().enumerate() {
        let permits = permits.clone();
        calls.spawn(async move {
            let _permit = permits
                .acquire()
                .await
                .expect("the semaphore is never closed");
            (i, change.await)
        });
    }
    let mut results: Vec<(usize, anyhow::Result<Updated>)> = Vec::new();
    let mut lost: Vec<Failure> = Vec::new();
    while let Some(joined) = calls.join_next().await {
        match joined {
            Ok(result) => results.push(result),
            Err(e) => lost.push(Failure::failed(
                stage,
                format!("a change failed to run: {e}"),
            )),
        }
    }
    results.sort_by_key(|(i, _)| *i);
    let (mut changed, mut failures) = (Vec::new(), Vec::new());
    for (_, result) in results {
        match result {
            Ok(u) => changed.push(u),
            Err(e) => failures.push(Failure::from_error(stage, e)),
        }
    }
    failures.extend(lost);
    if failures.is_empty() {
        return Ok(changed);
    }
    let first = failures.remove(0);
    if changed.is_empty() && failures.is_empty() {
        return Err(first);
    }
    // Something changed, or several failed: the run failed (exit 1),
    // whatever the first cause was.
    let mut f = Failure::failed(stage, first.headline);
    f.detail = first.detail;
    for other in failures {
        f = f.with_detail(other.headline);
    }
    for u in &changed {
        f = f.with_detail(format!(
            "{} was changed (deployment {}) and goes on in AWS without being watched",
            u.followed.service, u.followed.deployment_id
        ));
    }
    Err(f)
}

/// UpdateService to `task_definition`; for a native service the deployment
/// followed is the service deployment the update created.
pub async fn update(
    ecs: aws_sdk_ecs::Client,
    cluster: String,
    before: aws_sdk_ecs::types::Service,
    task_definition: String,
    force: bool,
    desired_count: Option<i32>,
    kind: DeploymentKind,
) -> anyhow::Result<Updated> {
    let since = DateTime::from(std::time::SystemTime::now());
    let mut updated = update_service(
        &ecs,
        &cluster,
        &before,
        &task_definition,
        force,
        desired_count,
    )
    .await?;
    if kind == DeploymentKind::Native && updated.new_deployment {
        updated.followed.deployment_id =
            native::created_since(&ecs, &cluster, &updated.followed.service, since).await?;
        updated.kind = DeploymentKind::Native;
    }
    Ok(updated)
}

/// Stops the deployment of `service` in progress with rollback (fail-fast,
/// on-cancel): StopServiceDeployment ROLLBACK on its service deployment in
/// progress where the service has them, else — as mode rollback does —
/// UpdateService back to `back_to`. Says what it did.
pub async fn stop_with_rollback_to(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
    back_to: &str,
) -> anyhow::Result<String> {
    let short = crate::arn::last_segment(back_to);
    if let Ok(Some(arn)) = native::in_progress(ecs, cluster, service).await {
        let id = crate::arn::last_segment(&arn);
        // Paused at a lifecycle hook, it awaits ContinueServiceDeployment:
        // ROLLBACK there is how ECS rolls a paused deployment back. (Not
        // read, it is taken as not paused: StopServiceDeployment.)
        let described = native::describe(ecs, &arn).await.ok().flatten();
        if let Some(hook) = described.as_ref().and_then(|d| native::paused_at(d, None)) {
            native::continue_paused(ecs, &arn, &hook.hook_id, true).await?;
            return Ok(format!(
                "ContinueServiceDeployment (ROLLBACK) of service deployment {id}, paused at {}, back to {short}",
                hook.stage
            ));
        }
        native::stop_with_rollback(ecs, &arn).await?;
        return Ok(format!(
            "StopServiceDeployment (ROLLBACK) of service deployment {id}, back to {short}"
        ));
    }
    ecs.update_service()
        .cluster(cluster)
        .service(service)
        .task_definition(back_to)
        .send()
        .await
        .or_failed(format!("UpdateService of {service}"))?;
    Ok(format!("UpdateService back to {short}"))
}

/// One service's rollback, as the plan says: UpdateService back, or
/// StopServiceDeployment / StopDeployment with rollback (then followed).
pub fn rollback_change(
    ecs: &aws_sdk_ecs::Client,
    cd: &aws_sdk_codedeploy::Client,
    cluster: &str,
    svc: &aws_sdk_ecs::types::Service,
    action: &RollbackAction,
) -> Change {
    let (ecs, cd, cluster, desired_count) = (
        ecs.clone(),
        cd.clone(),
        cluster.to_string(),
        svc.desired_count(),
    );
    match action.clone() {
        RollbackAction::Update { to, kind } => {
            Box::pin(update(ecs, cluster, svc.clone(), to.to, false, None, kind))
        }
        RollbackAction::StopNative {
            service,
            arn,
            current,
            paused,
        } => Box::pin(async move {
            match paused {
                Some(hook) => native::continue_paused(&ecs, &arn, &hook.hook_id, true).await?,
                None => native::stop_with_rollback(&ecs, &arn).await?,
            }
            Ok(Updated {
                followed: Followed {
                    service,
                    deployment_id: arn,
                    task_definition: current,
                },
                new_deployment: false,
                desired_count,
                kind: DeploymentKind::Native,
                expect_rollback: true,
            })
        }),
        RollbackAction::StopCodeDeploy { target, deployment } => {
            let task_definition = svc.task_definition().unwrap_or_default().to_string();
            Box::pin(async move {
                // Finding the rollback deployment CodeDeploy starts can take seconds.
                let rollback = codedeploy::stop_with_rollback(&cd, &deployment).await?;
                Ok(Updated {
                    followed: Followed {
                        service: target.service,
                        deployment_id: rollback,
                        task_definition,
                    },
                    new_deployment: true,
                    desired_count,
                    kind: DeploymentKind::CodeDeploy,
                    expect_rollback: false,
                })
            })
        }
    }
}

/// One service's `mode: continue`: ContinueServiceDeployment (CONTINUE) of
/// the hook the plan found paused; the deployment is then followed.
pub fn continue_change(
    ecs: &aws_sdk_ecs::Client,
    svc: &aws_sdk_ecs::types::Service,
    action: &ContinueAction,
) -> Change {
    let (ecs, action, desired_count) = (ecs.clone(), action.clone(), svc.desired_count());
    Box::pin(async move {
        native::continue_paused(&ecs, &action.arn, &action.hook.hook_id, false).await?;
        Ok(Updated {
            followed: Followed {
                service: action.service,
                deployment_id: action.arn,
                task_definition: action.task_definition,
            },
            new_deployment: false,
            desired_count,
            kind: DeploymentKind::Native,
            expect_rollback: false,
        })
    })
}
