//! A cancelled run's rollback (`on-cancel: rollback`): every deployment it
//! started is stopped with rollback at once, then followed for as long as
//! the runner's grace period allows — it sends SIGTERM 7.5 s after SIGINT
//! and kills the step 2.5 s later — and each service's line says where its
//! rollback stands when the run must end.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use super::Updated;
use super::apply::stop_with_rollback_to;
use super::assess::{describe_state, same_revision};
use super::codedeploy;
use crate::arn::last_segment;
use crate::plan::DeploymentKind;

/// How long a cancelled run may take over its rollbacks, by the signal
/// that cancelled it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grace {
    /// For the stop calls.
    pub stop_within: Duration,
    /// For the stops and following them, from the signal.
    pub follow_until: Duration,
}

impl Grace {
    pub fn after(signal: &str) -> Self {
        match signal {
            // SIGTERM follows 7.5 s later, the kill 10 s later.
            "SIGINT" => Self {
                stop_within: Duration::from_secs(4),
                follow_until: Duration::from_secs(7),
            },
            // SIGTERM (or the last signal): the kill follows 2.5 s later.
            _ => Self {
                stop_within: Duration::from_millis(1500),
                follow_until: Duration::from_secs(2),
            },
        }
    }
}

/// Stops every deployment of `updated` with rollback — CodeDeploy ones with
/// StopDeployment (automatic rollback), the others back to the revision the
/// plan names (`back_to`) — then follows the ECS ones until they are back
/// or the grace period is over. One line per service: what was done and
/// where it stands, or why not.
pub async fn roll_back_on_cancel(
    ecs: &aws_sdk_ecs::Client,
    cd: &aws_sdk_codedeploy::Client,
    cluster: &str,
    updated: &[Updated],
    back_to: &HashMap<String, String>,
    grace: Grace,
) -> Vec<String> {
    let started = Instant::now();
    let stops = updated.iter().map(|u| async move {
        let service = &u.followed.service;
        let done = match (u.kind, back_to.get(service)) {
            (DeploymentKind::CodeDeploy, _) => {
                codedeploy::stop_with_rollback(cd, &u.followed.deployment_id)
                    .await
                    .map(|id| {
                        format!("StopDeployment with automatic rollback (rollback deployment {id})")
                    })
            }
            (_, Some(to)) => stop_with_rollback_to(ecs, cluster, service, to).await,
            (_, None) => {
                return (
                    None,
                    format!("{service}: left going (no revision to return to)"),
                );
            }
        };
        match done {
            Ok(how) => {
                let follow = (u.kind != DeploymentKind::CodeDeploy).then(|| {
                    (
                        service.clone(),
                        back_to.get(service).cloned().unwrap_or_default(),
                    )
                });
                (follow, format!("{service}: stopped with rollback: {how}"))
            }
            Err(e) => (
                None,
                format!("{service}: not rolled back ({e:#}); roll it back with mode rollback"),
            ),
        }
    });
    let all = futures_util::future::join_all(stops);
    let Ok(stopped) = tokio::time::timeout(grace.stop_within, all).await else {
        return vec![format!(
            "the rollbacks did not answer within {:.1} s; check the services and roll back with mode rollback",
            grace.stop_within.as_secs_f64()
        )];
    };
    let rolled: Vec<(String, String)> = stopped.iter().filter_map(|(f, _)| f.clone()).collect();
    let left = grace.follow_until.saturating_sub(started.elapsed());
    let mut states = settle(ecs, cluster, &rolled, left).await;
    stopped
        .into_iter()
        .map(
            |(follow, line)| match follow.and_then(|(s, _)| states.remove(&s)) {
                Some(state) => format!("{line}; {state}"),
                None => line,
            },
        )
        .collect()
}

/// Follows the rolled-back services (service, revision it returns to) with
/// one DescribeServices a second until each runs that revision again,
/// rollout COMPLETED, or `within` is over: where each stands.
pub async fn settle(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    rolled: &[(String, String)],
    within: Duration,
) -> HashMap<String, String> {
    let deadline = Instant::now() + within;
    let names: Vec<String> = rolled.iter().map(|(s, _)| s.clone()).collect();
    let mut states = HashMap::new();
    while !rolled.is_empty() {
        let next = Instant::now() + Duration::from_secs(1);
        if next > deadline {
            break;
        }
        tokio::time::sleep_until(next).await;
        let Ok(services) = crate::service::describe_services(ecs, cluster, &names).await else {
            continue;
        };
        let mut all_back = true;
        for (name, to) in rolled {
            let primary = services
                .iter()
                .find(|s| s.service_name() == Some(name.as_str()))
                .and_then(|s| {
                    s.deployments()
                        .iter()
                        .find(|d| d.status() == Some("PRIMARY"))
                });
            let Some(p) = primary else { continue };
            let back = same_revision(p.task_definition().unwrap_or(""), to)
                && p.rollout_state().is_some_and(|r| r.as_str() == "COMPLETED")
                && p.running_count() >= p.desired_count();
            all_back &= back;
            let state = match back {
                true => format!("back on {} (rollout COMPLETED)", last_segment(to)),
                false => format!(
                    "its rollback was under way when the run had to end: {}",
                    describe_state(p)
                ),
            };
            states.insert(name.clone(), state);
        }
        if all_back && states.len() == rolled.len() {
            break;
        }
    }
    states
}
