//! Deployments in AWS: updating a service (and identifying the deployment
//! the update created), carrying a plan out, and following each kind of
//! deployment — rolling, ECS-native, CodeDeploy — to its real end. (The
//! mode that drives them is `modes::deploy`.)

pub mod alarms;
pub mod apply;
pub mod assess;
pub mod codedeploy;
pub mod crashed;
pub mod follow;
pub mod history;
pub mod hopeless;
pub mod native;
pub mod native_fail_fast;
pub mod on_cancel;
pub mod previous;
pub mod retention;
pub mod stopped;
pub mod wait;

use aws_sdk_ecs::types::Service;

use anyhow::anyhow;

use crate::error::OrFailed;
use crate::plan::DeploymentKind;
use assess::Followed;

/// What an UpdateService started.
#[derive(Debug, Clone)]
pub struct Updated {
    pub followed: Followed,
    /// False when ECS started no new deployment (same revision, not forced).
    pub new_deployment: bool,
    pub desired_count: i32,
    /// What is followed: a rolling deployment (an ECS deployment id), a
    /// native service deployment (its ARN) or a CodeDeploy deployment (its id).
    pub kind: DeploymentKind,
    /// Success is the rollback finishing (mode rollback stopped the deployment).
    pub expect_rollback: bool,
}

/// UpdateService to `task_definition`; the PRIMARY deployment of the answer
/// is the one this run follows (a new id unless nothing changed).
pub async fn update_service(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    before: &Service,
    task_definition: &str,
    force_new_deployment: bool,
    desired_count: Option<i32>,
) -> anyhow::Result<Updated> {
    let name = before.service_name().unwrap_or_default().to_string();
    let previous = before
        .deployments()
        .iter()
        .find(|d| d.status() == Some("PRIMARY"))
        .and_then(|d| d.id())
        .map(str::to_string);
    let out = ecs
        .update_service()
        .cluster(cluster)
        .service(&name)
        .task_definition(task_definition)
        .force_new_deployment(force_new_deployment)
        .set_desired_count(desired_count)
        .send()
        .await
        .or_failed(format!("UpdateService of {name}"))?;
    let svc = out
        .service()
        .ok_or_else(|| anyhow!("UpdateService of {name} returned no service"))?;
    let primary = svc
        .deployments()
        .iter()
        .find(|d| d.status() == Some("PRIMARY"))
        .ok_or_else(|| anyhow!("service {name} has no PRIMARY deployment after UpdateService"))?;
    let id = primary.id().unwrap_or_default().to_string();
    Ok(Updated {
        new_deployment: previous.as_deref() != Some(id.as_str()),
        followed: Followed {
            service: name,
            deployment_id: id,
            task_definition: task_definition.to_string(),
        },
        desired_count: svc.desired_count(),
        kind: DeploymentKind::Rolling,
        expect_rollback: false,
    })
}
