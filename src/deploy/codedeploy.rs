//! Services with the CODE_DEPLOY controller: a CodeDeploy blue/green
//! deployment created from the rendered AppSpec, followed until Succeeded,
//! Failed or Stopped, with the ECS target's lifecycle events printed as they
//! change.

use std::collections::HashSet;
use std::time::Duration;

use aws_sdk_codedeploy::types::{DeploymentStatus, RevisionLocation, RevisionLocationType};
use tokio::time::Instant;

use super::assess::{Followed, Verdict};
use super::wait::WaitResult;
use crate::error::{Failure, aws_code, aws_message, is_transient};
use crate::plan::CodeDeployTarget;
use crate::poll::PollSchedule;
use crate::runner::Runner;

/// Proves the application and group exist, before anything is registered.
pub async fn check(cd: &aws_sdk_codedeploy::Client, t: &CodeDeployTarget) -> Result<(), Failure> {
    cd.get_deployment_group().application_name(&t.application).deployment_group_name(&t.group).send().await.map(|_| ()).map_err(|e| {
        match aws_code(&e) {
            Some("ApplicationDoesNotExistException") | Some("DeploymentGroupDoesNotExistException") => Failure::input(
                "codedeploy-deployment-group",
                format!(
                    "service {} is deployed by CodeDeploy, but application `{}` / deployment group `{}` does not exist: set `codedeploy-application` and `codedeploy-deployment-group`",
                    t.service, t.application, t.group
                ),
            ),
            _ => Failure::failed("codedeploy", format!("GetDeploymentGroup {}/{} failed: {}", t.application, t.group, aws_message(&e))),
        }
    })
}

/// CreateDeployment with the AppSpec as content; returns the deployment id.
pub async fn create(
    cd: &aws_sdk_codedeploy::Client,
    t: &CodeDeployTarget,
    appspec: &str,
    description: &str,
) -> Result<String, Failure> {
    let revision = RevisionLocation::builder()
        .revision_type(RevisionLocationType::AppSpecContent)
        .app_spec_content(
            aws_sdk_codedeploy::types::AppSpecContent::builder()
                .content(appspec)
                .build(),
        )
        .build();
    let out = cd
        .create_deployment()
        .application_name(&t.application)
        .deployment_group_name(&t.group)
        .set_deployment_config_name(t.config.clone())
        .revision(revision)
        .description(description)
        .send()
        .await
        .map_err(|e| {
            Failure::failed(
                "codedeploy",
                format!(
                    "CreateDeployment for {} failed: {}",
                    t.service,
                    aws_message(&e)
                ),
            )
        })?;
    out.deployment_id()
        .map(str::to_string)
        .ok_or_else(|| Failure::failed("codedeploy", "CreateDeployment returned no deployment id"))
}

/// Follows a CodeDeploy deployment to its end (or, with `until_traffic`,
/// until production traffic is on the replacement task set).
pub async fn follow(
    cd: &aws_sdk_codedeploy::Client,
    runner: &Runner,
    followed: Followed,
    timeout: Duration,
    until_traffic: bool,
    mut schedule: PollSchedule,
) -> WaitResult {
    let started = Instant::now();
    let deadline = started + timeout;
    let id = followed.deployment_id.clone();
    let name = followed.service.clone();
    let mut seen: HashSet<String> = HashSet::new();
    let mut events: Vec<String> = Vec::new();
    let mut targets: Vec<String> = Vec::new();
    let mut state = "Created".to_string();
    let finish = |verdict: Verdict, events: &Vec<String>| WaitResult {
        followed: followed.clone(),
        verdict,
        last_events: events.iter().rev().take(8).rev().cloned().collect(),
        stopped_reasons: Vec::new(),
        took: started.elapsed(),
    };
    loop {
        // Lifecycle events of the ECS target.
        if targets.is_empty()
            && let Ok(out) = cd.list_deployment_targets().deployment_id(&id).send().await
        {
            targets = out.target_ids().to_vec();
        }
        let mut traffic_shifted = false;
        // The deployment's status and its target's lifecycle events are read at the same time.
        let status_call = cd.get_deployment().deployment_id(&id).send();
        let targets_call = async {
            match targets.is_empty() {
                true => None,
                false => cd
                    .batch_get_deployment_targets()
                    .deployment_id(&id)
                    .set_target_ids(Some(targets.clone()))
                    .send()
                    .await
                    .ok(),
            }
        };
        let (status_answer, targets_answer) = tokio::join!(status_call, targets_call);
        if let Some(out) = targets_answer {
            for t in out.deployment_targets() {
                for ev in t
                    .ecs_target()
                    .map(|e| e.lifecycle_events())
                    .unwrap_or_default()
                {
                    let (ev_name, status) = (
                        ev.lifecycle_event_name().unwrap_or("?"),
                        ev.status().map(|s| s.as_str()).unwrap_or("?"),
                    );
                    if ev_name == "AllowTraffic" && status == "Succeeded" {
                        traffic_shifted = true;
                    }
                    if !matches!(status, "Pending" | "Skipped")
                        && seen.insert(format!("{ev_name}/{status}"))
                    {
                        let mut line = format!("{ev_name}: {status}");
                        if let Some(d) = ev.diagnostics().and_then(|d| d.message()) {
                            line.push_str(&format!(" — {d}"));
                        }
                        runner.info(&format!("[{name}] {line}"));
                        events.push(line);
                    }
                }
            }
        }
        match status_answer {
            Ok(out) => {
                let info = out.deployment_info();
                let status = info.and_then(|i| i.status()).cloned();
                let now = status
                    .as_ref()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_else(|| "?".into());
                if now != state {
                    runner.info(&format!("[{name}] CodeDeploy deployment {id}: {now}"));
                    state = now;
                }
                match status {
                    Some(DeploymentStatus::Succeeded) => {
                        return finish(Verdict::Succeeded, &events);
                    }
                    Some(DeploymentStatus::Failed) | Some(DeploymentStatus::Stopped) => {
                        let error = info.and_then(|i| i.error_information());
                        let mut reason = format!(
                            "CodeDeploy deployment {id} {}: {}",
                            if status == Some(DeploymentStatus::Stopped) {
                                "was stopped"
                            } else {
                                "failed"
                            },
                            match error {
                                Some(e) => format!(
                                    "{}: {}",
                                    e.code().map(|c| c.as_str()).unwrap_or("?"),
                                    e.message().unwrap_or("")
                                ),
                                None => "no error information".into(),
                            }
                        );
                        let rollback = info
                            .and_then(|i| i.rollback_info())
                            .filter(|r| r.rollback_deployment_id().is_some());
                        if let Some(r) = rollback {
                            reason.push_str(&format!(
                                "; rolled back by deployment {}{}",
                                r.rollback_deployment_id().unwrap_or("?"),
                                r.rollback_message()
                                    .map(|m| format!(": {m}"))
                                    .unwrap_or_default()
                            ));
                        }
                        return finish(
                            Verdict::Failed {
                                reason,
                                rolled_back: rollback.is_some(),
                            },
                            &events,
                        );
                    }
                    _ if until_traffic && traffic_shifted => {
                        runner.info(&format!("[{name}] production traffic is on the new task set (wait-until: traffic-shifted)"));
                        return finish(Verdict::Succeeded, &events);
                    }
                    _ => {}
                }
            }
            Err(e) if is_transient(&e) => runner.warning(
                "wait",
                &format!("GetDeployment failed ({}); still waiting", aws_message(&e)),
            ),
            Err(e) => {
                return finish(
                    Verdict::Failed {
                        reason: format!(
                            "cannot read CodeDeploy deployment {id}: {}",
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
            let at = events
                .last()
                .cloned()
                .unwrap_or_else(|| "no lifecycle event yet".into());
            return finish(
                Verdict::Failed {
                    reason: format!(
                        "timed out waiting for CodeDeploy deployment {id}; it was {state}, last lifecycle event {at}"
                    ),
                    rolled_back: false,
                },
                &events,
            );
        }
        tokio::time::sleep(schedule.next_delay().min(deadline - now)).await;
    }
}

/// The deployment of `t` still under way, if any (newest first).
pub async fn in_progress(
    cd: &aws_sdk_codedeploy::Client,
    t: &CodeDeployTarget,
) -> Result<Option<String>, Failure> {
    use aws_sdk_codedeploy::types::DeploymentStatus as S;
    let out = cd
        .list_deployments()
        .application_name(&t.application)
        .deployment_group_name(&t.group)
        .set_include_only_statuses(Some(vec![
            S::Created,
            S::Queued,
            S::InProgress,
            S::Baking,
            S::Ready,
        ]))
        .send()
        .await
        .map_err(|e| {
            Failure::failed(
                "codedeploy",
                format!(
                    "ListDeployments of {}/{} failed: {}",
                    t.application,
                    t.group,
                    aws_message(&e)
                ),
            )
        })?;
    Ok(out.deployments().first().cloned())
}

/// Stops a deployment with automatic rollback and finds the rollback
/// deployment CodeDeploy starts for it.
///
/// StopDeployment is asynchronous: it answers `Pending` or `Succeeded`
/// (StopStatus), or DeploymentAlreadyCompletedException when there is
/// nothing left to stop. The rollback is a deployment of its own, named by
/// the stopped deployment's `rollbackInfo.rollbackDeploymentId` once
/// CodeDeploy has created it; its outcome is the rollback's outcome.
pub async fn stop_with_rollback(
    cd: &aws_sdk_codedeploy::Client,
    id: &str,
) -> Result<String, Failure> {
    let stopped = cd
        .stop_deployment()
        .deployment_id(id)
        .auto_rollback_enabled(true)
        .send()
        .await;
    match stopped {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_deployment_already_completed_exception()) =>
        {
            return Err(Failure::failed(
                "rollback",
                format!(
                    "CodeDeploy deployment {id} completed before it could be stopped; run the rollback again to roll back from what it deployed"
                ),
            ));
        }
        Err(e) => {
            return Err(Failure::failed(
                "rollback",
                format!("StopDeployment {id} failed: {}", aws_message(&e)),
            ));
        }
    }
    rollback_deployment(cd, id).await
}

/// How long CodeDeploy gets to name the rollback of a stopped deployment.
const ROLLBACK_NAMED_WITHIN: Duration = Duration::from_secs(60);

/// The id of the rollback deployment of `id`, once `rollbackInfo` names it.
async fn rollback_deployment(cd: &aws_sdk_codedeploy::Client, id: &str) -> Result<String, Failure> {
    let started = tokio::time::Instant::now();
    let mut delay = Duration::from_millis(250);
    loop {
        let out = cd
            .get_deployment()
            .deployment_id(id)
            .send()
            .await
            .map_err(|e| {
                Failure::failed(
                    "rollback",
                    format!("GetDeployment {id} failed: {}", aws_message(&e)),
                )
            })?;
        let info = out.deployment_info();
        if let Some(rollback) = info
            .and_then(|i| i.rollback_info())
            .and_then(|r| r.rollback_deployment_id())
        {
            return Ok(rollback.to_string());
        }
        let status = info
            .and_then(|i| i.status())
            .map(|s| s.as_str().to_string());
        let finished = matches!(status.as_deref(), Some("Stopped" | "Failed" | "Succeeded"));
        if (finished && started.elapsed() > Duration::from_secs(10))
            || started.elapsed() > ROLLBACK_NAMED_WITHIN
        {
            return Err(Failure::failed(
                "rollback",
                format!(
                    "CodeDeploy deployment {id} is {} but CodeDeploy started no rollback deployment for it; roll the service back by hand",
                    status.as_deref().unwrap_or("in an unknown state")
                ),
            ));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(4));
    }
}

/// The deployment's page in the CodeDeploy console.
pub fn console_url(region: &str, deployment_id: &str) -> String {
    format!(
        "https://{region}.console.aws.amazon.com/codesuite/codedeploy/deployments/{deployment_id}?region={region}"
    )
}
