//! What a deploy of the rendered targets would do, decided from what was
//! read: each service's strategy from its deployment controller and each
//! revision reused or new. `deploy` prints it before changing anything;
//! `render` prints it as what `deploy` would do.

use serde_json::Value;

use super::templates::Target;
use crate::aws::Aws;
use crate::deployment::codedeploy;
use crate::error::Failure;
use crate::inputs::Settings;
use crate::plan::{CodeDeployNames, DeployPlan, Revision, ServicePlan, Strategy};
use crate::taskdef::normalize;

/// Reads only, concurrently. `for_deploy`: the plan deploy carries out —
/// each CodeDeploy application and group proved to exist, and the wait
/// included; otherwise (render) what deploy would do, naming them only.
pub async fn plan(
    settings: &Settings,
    aws: &Aws,
    targets: &[Target],
    for_deploy: bool,
) -> Result<DeployPlan, Failure> {
    let names = CodeDeployNames::from_settings(settings, true);
    let strategies = targets
        .iter()
        .filter_map(|t| t.service.as_ref())
        .map(|svc| Strategy::of(&settings.cluster, svc, names))
        .collect::<Result<Vec<_>, Failure>>()?;
    let checks = strategies.iter().filter_map(|s| match s {
        Strategy::CodeDeploy(cd) if for_deploy => Some(codedeploy::check(&aws.codedeploy, cd)),
        _ => None,
    });
    let (checked, decisions) = tokio::join!(
        futures_util::future::join_all(checks),
        super::register::decide(aws, targets)
    );
    checked.into_iter().collect::<Result<Vec<()>, Failure>>()?;
    let decisions = decisions?;
    // Targets whose new definitions are equal share one registration.
    let keys: Vec<Value> = targets
        .iter()
        .map(|t| normalize(&t.rendered.definition))
        .collect();
    let same_as = |i: usize, revision: &Revision| match revision {
        Revision::New { .. } => keys[..i]
            .iter()
            .position(|k| *k == keys[i])
            .map(|j| targets[j].name.clone()),
        Revision::Reuse { .. } => None,
    };
    let services = targets
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
        })
        .collect();
    Ok(DeployPlan {
        cluster: settings.cluster.clone(),
        services,
        wait: for_deploy.then_some((settings.wait_until, settings.timeout)),
    })
}
