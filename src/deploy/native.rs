//! ECS-native BLUE_GREEN / LINEAR / CANARY deployments: followed through
//! the service-deployment API by status and lifecycle stage.

use crate::arn::last_segment;
use std::collections::HashSet;
use std::time::Duration;

use aws_sdk_ecs::types::{
    DeploymentLifecycleHookStatus, ServiceDeploymentStatus as S, StopServiceDeploymentStopType,
};
use aws_smithy_types::DateTime;
use tokio::time::Instant;

use super::assess::{Followed, Verdict};
use super::wait::WaitResult;
use crate::error::{Failure, aws_message, is_transient};
use crate::poll::PollSchedule;
use crate::runner::Runner;

/// Production traffic is on the new revision from these stages on.
const TRAFFIC_SHIFTED: [&str; 3] = ["POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP"];

/// True while a lifecycle hook of the deployment awaits ContinueServiceDeployment.
fn awaiting_action(d: &aws_sdk_ecs::types::ServiceDeployment) -> bool {
    d.lifecycle_hook_details()
        .iter()
        .any(|h| h.status() == Some(&DeploymentLifecycleHookStatus::AwaitingAction))
}

/// The newest service deployment of `service` created since `since`
/// (ListServiceDeployments is eventually consistent: a few quick retries).
pub async fn created_since(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
    since: DateTime,
) -> Result<String, Failure> {
    let mut delay = Duration::from_millis(200);
    for _ in 0..6 {
        let listed = super::history::service_deployments(
            ecs,
            cluster,
            service,
            &[],
            Some(DateTime::from_secs(since.secs() - 5)),
        )
        .await
        .map_err(|e| {
            Failure::failed(
                "update service",
                format!(
                    "ListServiceDeployments of {service} failed: {}",
                    aws_message(&e)
                ),
            )
        })?;
        let newest = listed
            .iter()
            .filter(|d| d.created_at().is_some_and(|t| t.secs() >= since.secs() - 5))
            .max_by_key(|d| d.created_at().map(|t| (t.secs(), t.subsec_nanos())));
        if let Some(arn) = newest.and_then(|d| d.service_deployment_arn()) {
            return Ok(arn.to_string());
        }
        tokio::time::sleep(delay).await;
        delay *= 2;
    }
    Err(Failure::failed(
        "update service",
        format!("ECS reported no service deployment for {service} after the update"),
    ))
}

/// The service deployment in progress, if any.
pub async fn in_progress(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
) -> Result<Option<String>, Failure> {
    let listed = super::history::service_deployments(
        ecs,
        cluster,
        service,
        &[S::InProgress, S::Pending],
        None,
    )
    .await
    .map_err(|e| {
        Failure::failed(
            "rollback",
            format!(
                "ListServiceDeployments of {service} failed: {}",
                aws_message(&e)
            ),
        )
    })?;
    Ok(listed
        .first()
        .and_then(|d| d.service_deployment_arn())
        .map(str::to_string))
}

pub async fn stop_with_rollback(ecs: &aws_sdk_ecs::Client, arn: &str) -> Result<(), Failure> {
    ecs.stop_service_deployment()
        .service_deployment_arn(arn)
        .stop_type(StopServiceDeploymentStopType::Rollback)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            Failure::failed(
                "rollback",
                format!("StopServiceDeployment {arn} failed: {}", aws_message(&e)),
            )
        })
}

/// Follows one service deployment. With `expect_rollback` (mode rollback
/// stopped it), ROLLBACK_SUCCESSFUL is the success.
pub async fn follow(
    ecs: &aws_sdk_ecs::Client,
    runner: &Runner,
    followed: Followed,
    timeout: Duration,
    until_traffic: bool,
    expect_rollback: bool,
    mut schedule: PollSchedule,
) -> WaitResult {
    let started = Instant::now();
    let deadline = started + timeout;
    let (name, arn) = (followed.service.clone(), followed.deployment_id.clone());
    let mut stage = String::new();
    let mut status = String::new();
    let mut told: HashSet<String> = HashSet::new();
    let mut events: Vec<String> = Vec::new();
    let finish = |verdict: Verdict, events: &Vec<String>| WaitResult {
        followed: followed.clone(),
        verdict,
        last_events: events.iter().rev().take(8).rev().cloned().collect(),
        stopped_reasons: Vec::new(),
        took: started.elapsed(),
    };
    loop {
        match ecs
            .describe_service_deployments()
            .service_deployment_arns(&arn)
            .send()
            .await
        {
            Ok(out) => {
                if let Some(d) = out.service_deployments().first() {
                    let now_stage = d
                        .lifecycle_stage()
                        .map(|s| s.as_str())
                        .unwrap_or("")
                        .to_string();
                    let now_status = d.status().map(|s| s.as_str()).unwrap_or("?").to_string();
                    if now_stage != stage || now_status != status {
                        let line = format!(
                            "{now_status} · {}",
                            if now_stage.is_empty() {
                                "—"
                            } else {
                                &now_stage
                            }
                        );
                        runner.info(&format!("[{name}] {line}"));
                        events.push(line);
                        stage = now_stage;
                        status = now_status;
                    }
                    for hook in d.lifecycle_hook_details() {
                        if hook.status() == Some(&DeploymentLifecycleHookStatus::AwaitingAction)
                            && told.insert(hook.hook_id().unwrap_or("?").to_string())
                        {
                            let line = format!(
                                "paused at {stage}: lifecycle hook {} ({}) awaits ContinueServiceDeployment{}{}",
                                hook.hook_id().unwrap_or("?"),
                                hook.target_type().map(|t| t.as_str()).unwrap_or("?"),
                                hook.expires_at()
                                    .map(|t| format!("; it times out at {t}"))
                                    .unwrap_or_default(),
                                hook.timeout_action()
                                    .map(|a| format!(", then {}", a.as_str()))
                                    .unwrap_or_default()
                            );
                            runner.warning("deploy", &format!("{name}: {line}"));
                            events.push(line);
                        }
                    }
                    let reason = || {
                        d.rollback()
                            .and_then(|r| r.reason())
                            .or(d.status_reason())
                            .map(str::to_string)
                            .unwrap_or_else(|| "no reason given".into())
                    };
                    match d.status() {
                        Some(S::Successful) if !expect_rollback => {
                            return finish(Verdict::Succeeded, &events);
                        }
                        Some(S::RollbackSuccessful) if expect_rollback => {
                            return finish(Verdict::Succeeded, &events);
                        }
                        Some(
                            S::RollbackRequested
                            | S::RollbackInProgress
                            | S::RollbackSuccessful
                            | S::RollbackFailed,
                        ) if !expect_rollback => {
                            let what = d.status().map(|s| s.as_str()).unwrap_or("?");
                            return finish(
                                Verdict::Failed {
                                    reason: format!(
                                        "service deployment {} is {what}: {}",
                                        last_segment(&arn),
                                        reason()
                                    ),
                                    rolled_back: true,
                                },
                                &events,
                            );
                        }
                        Some(S::RollbackFailed) => {
                            return finish(
                                Verdict::Failed {
                                    reason: format!(
                                        "the rollback of {} failed: {}",
                                        last_segment(&arn),
                                        reason()
                                    ),
                                    rolled_back: false,
                                },
                                &events,
                            );
                        }
                        Some(S::Stopped | S::StopRequested) => {
                            return finish(
                                Verdict::Failed {
                                    reason: format!(
                                        "service deployment {} was stopped: {}",
                                        last_segment(&arn),
                                        reason()
                                    ),
                                    rolled_back: false,
                                },
                                &events,
                            );
                        }
                        Some(S::Successful) => {
                            return finish(
                                Verdict::Failed {
                                    reason: format!(
                                        "service deployment {} completed instead of rolling back",
                                        last_segment(&arn)
                                    ),
                                    rolled_back: false,
                                },
                                &events,
                            );
                        }
                        // Never a success while a hook awaits action: it
                        // rolls back when it times out (by default).
                        _ if until_traffic
                            && !expect_rollback
                            && TRAFFIC_SHIFTED.contains(&stage.as_str())
                            && !awaiting_action(d) =>
                        {
                            runner.info(&format!("[{name}] production traffic is on the new revision (wait-until: traffic-shifted); not waiting through bake time"));
                            return finish(Verdict::Succeeded, &events);
                        }
                        _ => {}
                    }
                }
            }
            Err(e) if is_transient(&e) => runner.warning(
                "wait",
                &format!(
                    "DescribeServiceDeployments failed ({}); still waiting",
                    aws_message(&e)
                ),
            ),
            Err(e) => {
                return finish(
                    Verdict::Failed {
                        reason: format!(
                            "cannot read service deployment {arn}: {}",
                            aws_message(&e)
                        ),
                        rolled_back: false,
                    },
                    &events,
                );
            }
        }
        let now = Instant::now();
        if now >= deadline {
            return finish(
                Verdict::Failed {
                    reason: format!(
                        "timed out waiting for service deployment {}; it was {status} at lifecycle stage {stage}",
                        last_segment(&arn)
                    ),
                    rolled_back: false,
                },
                &events,
            );
        }
        tokio::time::sleep(schedule.next_delay().min(deadline - now)).await;
    }
}
