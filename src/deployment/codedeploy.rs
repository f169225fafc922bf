//! Services with the CODE_DEPLOY controller: a CodeDeploy blue/green
//! deployment created from the rendered AppSpec, followed until Succeeded,
//! Failed or Stopped, with the ECS target's lifecycle events printed as they
//! change.

use std::collections::HashSet;
use std::time::Duration;

use aws_sdk_codedeploy::types::{DeploymentStatus, RevisionLocation, RevisionLocationType};

use super::assess::{Followed, Verdict};
use super::follow::{Deployment, Read};
use super::wait::WaitResult;
use anyhow::anyhow;

use crate::error::{OrFailed, aws_code, aws_failed, aws_message, bad_input, is_transient};
use crate::plan::CodeDeployTarget;
use crate::poll::PollSchedule;
use crate::runner::Runner;

/// Proves the application and group exist, before anything is registered;
/// returns the CloudWatch alarms the group watches its deployments with.
pub async fn check(
    cd: &aws_sdk_codedeploy::Client,
    t: &CodeDeployTarget,
) -> anyhow::Result<Vec<String>> {
    let group =
        |out: aws_sdk_codedeploy::operation::get_deployment_group::GetDeploymentGroupOutput| {
            out.deployment_group_info()
                .map(super::alarms::of_group)
                .unwrap_or_default()
        };
    cd.get_deployment_group().application_name(&t.application).deployment_group_name(&t.group).send().await.map(group).map_err(|e| {
        match aws_code(&e) {
            Some("ApplicationDoesNotExistException") | Some("DeploymentGroupDoesNotExistException") => bad_input("codedeploy-deployment-group", format!(
                    "service {} is deployed by CodeDeploy, but application `{}` / deployment group `{}` does not exist: set `codedeploy-application` and `codedeploy-deployment-group`",
                    t.service, t.application, t.group
                )),
            _ => aws_failed(format!("GetDeploymentGroup {}/{}", t.application, t.group), &e),
        }
    })
}

/// CreateDeployment with the AppSpec as content; returns the deployment id.
pub async fn create(
    cd: &aws_sdk_codedeploy::Client,
    t: &CodeDeployTarget,
    appspec: &str,
    description: &str,
) -> anyhow::Result<String> {
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
        .or_failed(format!("CreateDeployment for {}", t.service))?;
    out.deployment_id()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("CreateDeployment returned no deployment id"))
}

/// Follows a CodeDeploy deployment until Succeeded, Failed or Stopped
/// (with `until_traffic`, until the AllowTraffic lifecycle event succeeded),
/// printing the ECS target's lifecycle events as they change.
pub async fn follow(
    cd: &aws_sdk_codedeploy::Client,
    runner: &Runner,
    followed: Followed,
    timeout: Duration,
    until_traffic: bool,
    schedule: PollSchedule,
) -> WaitResult {
    let deployment = CodeDeployDeployment {
        cd,
        name: followed.service.clone(),
        id: followed.deployment_id.clone(),
        until_traffic,
        targets: Vec::new(),
        seen: HashSet::new(),
        state: "Created".into(),
    };
    super::follow::follow(deployment, runner, followed, timeout, schedule).await
}

/// One CodeDeploy deployment and the lifecycle events of its ECS target.
struct CodeDeployDeployment<'a> {
    cd: &'a aws_sdk_codedeploy::Client,
    name: String,
    id: String,
    until_traffic: bool,
    /// The deployment's targets, once CodeDeploy lists them.
    targets: Vec<String>,
    /// Lifecycle events (`name/status`) already printed.
    seen: HashSet<String>,
    /// The status last printed.
    state: String,
}

impl Deployment for CodeDeployDeployment<'_> {
    async fn read(&mut self, runner: &Runner, events: &mut Vec<String>) -> Read {
        if self.targets.is_empty()
            && let Ok(out) = self
                .cd
                .list_deployment_targets()
                .deployment_id(&self.id)
                .send()
                .await
        {
            self.targets = out.target_ids().to_vec();
        }
        // The deployment's status and its target's lifecycle events, at the same time.
        let status_call = self.cd.get_deployment().deployment_id(&self.id).send();
        let (status_answer, traffic_shifted) =
            tokio::join!(status_call, self.read_lifecycle(runner, events));
        let out = match status_answer {
            Ok(out) => out,
            Err(e) if is_transient(&e) => {
                return Read::Transient(format!(
                    "GetDeployment failed ({}); still waiting",
                    aws_message(&e)
                ));
            }
            Err(e) => {
                return Read::Ended(Verdict::Failed {
                    reason: format!(
                        "cannot read CodeDeploy deployment {}: {}",
                        self.id,
                        aws_message(&e)
                    ),
                    rolled_back: false,
                });
            }
        };
        let info = out.deployment_info();
        let status = info.and_then(|i| i.status());
        let now = status.map(|s| s.as_str()).unwrap_or("?");
        if now != self.state {
            runner.info(&format!(
                "[{}] CodeDeploy deployment {}: {now}",
                self.name, self.id
            ));
            self.state = now.to_string();
        }
        let ended = matches!(
            status,
            Some(
                DeploymentStatus::Succeeded | DeploymentStatus::Failed | DeploymentStatus::Stopped
            )
        );
        if ended {
            // The events were read beside a status that may be newer: read
            // them once more so the log ends with how each one ended.
            self.read_lifecycle(runner, events).await;
        }
        match status {
            Some(DeploymentStatus::Succeeded) => Read::Ended(Verdict::Succeeded),
            Some(s @ (DeploymentStatus::Failed | DeploymentStatus::Stopped)) => {
                Read::Ended(self.failure(s, info))
            }
            _ if self.until_traffic && traffic_shifted => {
                runner.info(&format!(
                    "[{}] production traffic is on the new task set (wait-until: traffic-shifted)",
                    self.name
                ));
                Read::Ended(Verdict::Succeeded)
            }
            _ => Read::Going,
        }
    }

    fn timed_out(&self, events: &[String]) -> String {
        let at = events
            .last()
            .map(String::as_str)
            .unwrap_or("no lifecycle event yet");
        format!(
            "timed out waiting for CodeDeploy deployment {}; it was {}, last lifecycle event {at}",
            self.id, self.state
        )
    }
}

impl CodeDeployDeployment<'_> {
    /// Reads the ECS target's lifecycle events (listing the target first
    /// when it is not known yet) and prints the new ones; returns whether
    /// AllowTraffic succeeded. A failed read prints nothing: the status
    /// read beside it decides.
    async fn read_lifecycle(&mut self, runner: &Runner, events: &mut Vec<String>) -> bool {
        if self.targets.is_empty() {
            return false;
        }
        let call = self
            .cd
            .batch_get_deployment_targets()
            .deployment_id(&self.id)
            .set_target_ids(Some(self.targets.clone()));
        match call.send().await {
            Ok(out) => self.lifecycle(&out, runner, events),
            Err(_) => false,
        }
    }

    /// Prints each lifecycle event of the ECS target once it started;
    /// returns whether AllowTraffic succeeded (production traffic shifted).
    fn lifecycle(
        &mut self,
        out: &aws_sdk_codedeploy::operation::batch_get_deployment_targets::BatchGetDeploymentTargetsOutput,
        runner: &Runner,
        events: &mut Vec<String>,
    ) -> bool {
        let mut traffic_shifted = false;
        let lifecycle = out.deployment_targets().iter().flat_map(|t| {
            t.ecs_target()
                .map(|e| e.lifecycle_events())
                .unwrap_or_default()
        });
        for ev in lifecycle {
            let name = ev.lifecycle_event_name().unwrap_or("?");
            let status = ev.status().map(|s| s.as_str()).unwrap_or("?");
            traffic_shifted |= name == "AllowTraffic" && status == "Succeeded";
            if matches!(status, "Pending" | "Skipped")
                || !self.seen.insert(format!("{name}/{status}"))
            {
                continue;
            }
            let mut line = format!("{name}: {status}");
            if let Some(d) = ev.diagnostics().and_then(|d| d.message()) {
                line.push_str(&format!(" — {d}"));
            }
            runner.info(&format!("[{}] {line}", self.name));
            events.push(line);
        }
        traffic_shifted
    }

    /// A failed or stopped deployment: CodeDeploy's error and, when it
    /// started one, the rollback deployment.
    fn failure(
        &self,
        status: &DeploymentStatus,
        info: Option<&aws_sdk_codedeploy::types::DeploymentInfo>,
    ) -> Verdict {
        let what = match status {
            DeploymentStatus::Stopped => "was stopped",
            _ => "failed",
        };
        let error = match info.and_then(|i| i.error_information()) {
            Some(e) => format!(
                "{}: {}",
                e.code().map(|c| c.as_str()).unwrap_or("?"),
                e.message().unwrap_or("")
            ),
            None => "no error information".into(),
        };
        let mut reason = format!("CodeDeploy deployment {} {what}: {error}", self.id);
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
        Verdict::Failed {
            reason,
            rolled_back: rollback.is_some(),
        }
    }
}

/// The deployment of `t` still under way, if any (newest first).
pub async fn in_progress(
    cd: &aws_sdk_codedeploy::Client,
    t: &CodeDeployTarget,
) -> anyhow::Result<Option<String>> {
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
        .or_failed(format!("ListDeployments of {}/{}", t.application, t.group))?;
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
) -> anyhow::Result<String> {
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
            return Err(anyhow!(
                "CodeDeploy deployment {id} completed before it could be stopped; run the rollback again to roll back from what it deployed"
            ));
        }
        Err(e) => {
            return Err(aws_failed(format!("StopDeployment {id}"), &e));
        }
    }
    rollback_deployment(cd, id).await
}

/// How long CodeDeploy gets to name the rollback of a stopped deployment.
const ROLLBACK_NAMED_WITHIN: Duration = Duration::from_secs(60);

/// The id of the rollback deployment of `id`, once `rollbackInfo` names it.
async fn rollback_deployment(cd: &aws_sdk_codedeploy::Client, id: &str) -> anyhow::Result<String> {
    let started = tokio::time::Instant::now();
    let mut delay = Duration::from_millis(250);
    loop {
        let out = cd
            .get_deployment()
            .deployment_id(id)
            .send()
            .await
            .or_failed(format!("GetDeployment {id}"))?;
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
            return Err(anyhow!(
                "CodeDeploy deployment {id} is {} but CodeDeploy started no rollback deployment for it; roll the service back by hand",
                status.as_deref().unwrap_or("in an unknown state")
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
