//! ECS-native BLUE_GREEN / LINEAR / CANARY deployments: followed through
//! the service-deployment API by status and lifecycle stage.

use crate::arn::last_segment;
use std::collections::HashSet;
use std::time::Duration;

use aws_sdk_ecs::types::{
    DeploymentLifecycleHookAction, DeploymentLifecycleHookDetail, DeploymentLifecycleHookStatus,
    DeploymentLifecycleHookTargetType, ServiceDeployment as ServiceDeploymentShape,
    ServiceDeploymentStatus as S, StopServiceDeploymentStopType,
};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;

use super::assess::{Followed, PausedAt, Verdict};
use super::follow::{Deployment, Read};
use super::native_fail_fast;
use super::wait::WaitResult;
use anyhow::anyhow;

use crate::error::{OrFailed, aws_message, is_transient};
use crate::inputs::WaitUntil;
use crate::poll::PollSchedule;
use crate::runner::Runner;

/// Production traffic is on the new revision from these stages on.
const TRAFFIC_SHIFTED: [&str; 3] = ["POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP"];

/// True while a lifecycle hook of the deployment awaits ContinueServiceDeployment.
fn awaiting_action(d: &ServiceDeploymentShape) -> bool {
    d.lifecycle_hook_details().iter().any(awaits)
}

fn awaits(h: &DeploymentLifecycleHookDetail) -> bool {
    h.status() == Some(&DeploymentLifecycleHookStatus::AwaitingAction)
}

/// The PAUSE hook of `d` that awaits ContinueServiceDeployment, other than
/// `past` (one already acted on, which ECS may still show for a moment).
pub fn paused_at(d: &ServiceDeploymentShape, past: Option<&str>) -> Option<PausedAt> {
    let hook = d.lifecycle_hook_details().iter().find(|h| {
        awaits(h)
            && h.target_type() == Some(&DeploymentLifecycleHookTargetType::Pause)
            && h.hook_id().is_some()
            && h.hook_id() != past
    })?;
    Some(PausedAt {
        stage: d
            .lifecycle_stage()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        hook_id: hook.hook_id().unwrap_or_default().to_string(),
        expires_at: hook.expires_at().and_then(|t| t.fmt(Format::DateTime).ok()),
        timeout_action: hook.timeout_action().map(|a| a.as_str().to_string()),
    })
}

/// The service deployment `arn` as DescribeServiceDeployments answers it.
pub async fn describe(
    ecs: &aws_sdk_ecs::Client,
    arn: &str,
) -> anyhow::Result<Option<ServiceDeploymentShape>> {
    let out = ecs
        .describe_service_deployments()
        .service_deployment_arns(arn)
        .send()
        .await
        .or_failed(format!("DescribeServiceDeployments {arn}"))?;
    Ok(out.service_deployments().first().cloned())
}

/// The service deployment of `service` in progress — its ARN, and the
/// deployment as DescribeServiceDeployments shows it — if there is one:
/// what mode rollback and mode continue decide on.
pub async fn in_progress_described(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
) -> anyhow::Result<Option<(String, Option<ServiceDeploymentShape>)>> {
    let Some(arn) = in_progress(ecs, cluster, service).await? else {
        return Ok(None);
    };
    let described = describe(ecs, &arn).await?;
    Ok(Some((arn, described)))
}

/// ContinueServiceDeployment of the paused hook `hook_id`: on to the next
/// stage, or (`rollback`) back to the previous revision.
pub async fn continue_paused(
    ecs: &aws_sdk_ecs::Client,
    arn: &str,
    hook_id: &str,
    rollback: bool,
) -> anyhow::Result<()> {
    let action = match rollback {
        true => DeploymentLifecycleHookAction::Rollback,
        false => DeploymentLifecycleHookAction::Continue,
    };
    ecs.continue_service_deployment()
        .service_deployment_arn(arn)
        .hook_id(hook_id)
        .action(action.clone())
        .send()
        .await
        .map(|_| ())
        .or_failed(format!(
            "ContinueServiceDeployment ({}) of {}",
            action.as_str(),
            last_segment(arn)
        ))
}

/// ListServiceDeployments of `service` (every page), its error said.
async fn listed(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
    statuses: &[S],
    created_after: Option<DateTime>,
) -> anyhow::Result<Vec<aws_sdk_ecs::types::ServiceDeploymentBrief>> {
    super::history::service_deployments(ecs, cluster, service, statuses, created_after)
        .await
        .or_failed(format!("ListServiceDeployments of {service}"))
}

/// The newest service deployment of `service` created since `since`
/// (ListServiceDeployments is eventually consistent: a few quick retries).
pub async fn created_since(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
    since: DateTime,
) -> anyhow::Result<String> {
    let mut delay = Duration::from_millis(200);
    for _ in 0..6 {
        let after = Some(DateTime::from_secs(since.secs() - 5));
        let listed = listed(ecs, cluster, service, &[], after).await?;
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
    Err(anyhow!(
        "ECS reported no service deployment for {service} after the update"
    ))
}

/// The service deployment in progress, if any.
pub async fn in_progress(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
) -> anyhow::Result<Option<String>> {
    let listed = listed(ecs, cluster, service, &[S::InProgress, S::Pending], None).await?;
    Ok(listed
        .first()
        .and_then(|d| d.service_deployment_arn())
        .map(str::to_string))
}

pub async fn stop_with_rollback(ecs: &aws_sdk_ecs::Client, arn: &str) -> anyhow::Result<()> {
    ecs.stop_service_deployment()
        .service_deployment_arn(arn)
        .stop_type(StopServiceDeploymentStopType::Rollback)
        .send()
        .await
        .map(|_| ())
        .or_failed(format!("StopServiceDeployment {arn}"))
}

/// What ends the following of one service deployment.
#[derive(Debug, Clone)]
pub struct Until {
    /// `wait-until`: the end, production traffic shifted, or a pause.
    pub wait: WaitUntil,
    /// Mode rollback stopped it: ROLLBACK_SUCCESSFUL is the success.
    pub expect_rollback: bool,
    /// A PAUSE hook this run already continued (mode continue): not a pause.
    pub continued: Option<String>,
    /// `fail-fast`: a deployment whose new revision's tasks fail in a way
    /// that will not fix itself is stopped with rollback.
    pub fail_fast: bool,
}

impl Until {
    pub fn wait(wait: WaitUntil) -> Self {
        Self {
            wait,
            expect_rollback: false,
            continued: None,
            fail_fast: false,
        }
    }
}

/// Follows one service deployment until `until`.
pub async fn follow(
    ecs: &aws_sdk_ecs::Client,
    runner: &Runner,
    followed: Followed,
    timeout: Duration,
    until: Until,
    schedule: PollSchedule,
) -> WaitResult {
    let fail_fast = until
        .fail_fast
        .then(|| native_fail_fast::Watch::new(&followed.task_definition));
    let deployment = ServiceDeployment {
        ecs,
        name: followed.service.clone(),
        arn: followed.deployment_id.clone(),
        until,
        fail_fast,
        stage: String::new(),
        status: String::new(),
        told: HashSet::new(),
    };
    super::follow::follow(deployment, runner, followed, timeout, schedule).await
}

/// One service deployment as DescribeServiceDeployments shows it.
struct ServiceDeployment<'a> {
    ecs: &'a aws_sdk_ecs::Client,
    name: String,
    arn: String,
    until: Until,
    /// The lifecycle stage and status last printed.
    stage: String,
    status: String,
    /// The lifecycle hooks already said to await action.
    told: HashSet<String>,
    fail_fast: Option<native_fail_fast::Watch>,
}

impl Deployment for ServiceDeployment<'_> {
    async fn read(&mut self, runner: &Runner, events: &mut Vec<String>) -> Read {
        let answer = self
            .ecs
            .describe_service_deployments()
            .service_deployment_arns(&self.arn)
            .send()
            .await;
        let out = match answer {
            Ok(out) => out,
            Err(e) if is_transient(&e) => {
                return Read::Transient(format!(
                    "DescribeServiceDeployments failed ({}); still waiting",
                    aws_message(&e)
                ));
            }
            Err(e) => {
                return Read::Ended(failed(format!(
                    "cannot read service deployment {}: {}",
                    self.arn,
                    aws_message(&e)
                )));
            }
        };
        let Some(d) = out.service_deployments().first() else {
            return Read::Going;
        };
        self.progress(d, runner, events);
        if self.until.wait == WaitUntil::Paused
            && let Some(paused) = paused_at(d, self.until.continued.as_deref())
            && d.status() == Some(&S::InProgress)
        {
            let line = format!(
                "paused at {}: PAUSE hook {} awaits ContinueServiceDeployment (wait-until: paused){}",
                paused.stage,
                paused.hook_id,
                paused
                    .expires_at
                    .as_ref()
                    .map(|t| format!("; it times out at {t}"))
                    .unwrap_or_default()
            );
            runner.info(&format!("[{}] {line}", self.name));
            events.push(line);
            return Read::Ended(Verdict::Paused(paused));
        }
        self.hooks(d, runner, events);
        if let Some(watch) = &mut self.fail_fast
            && let Some((found, _)) = watch.check(self.ecs, &self.name, d).await
        {
            let id = last_segment(&self.arn);
            let stopped = stop_with_rollback(self.ecs, &self.arn)
                .await
                .map(|()| format!("StopServiceDeployment (ROLLBACK) of service deployment {id}"));
            return Read::Ended(found.verdict(id, stopped));
        }
        match self.verdict(d) {
            Some(verdict) => Read::Ended(verdict),
            None if self.traffic_shifted(d) => {
                runner.info(&format!("[{}] production traffic is on the new revision (wait-until: traffic-shifted); not waiting through bake time", self.name));
                Read::Ended(Verdict::Succeeded)
            }
            None => Read::Going,
        }
    }

    fn timed_out(&self, _events: &[String]) -> String {
        format!(
            "timed out waiting for service deployment {}; it was {} at lifecycle stage {}",
            last_segment(&self.arn),
            self.status,
            self.stage
        )
    }
}

/// What ECS's own monitors said when they failed the deployment: the
/// CloudWatch alarms of `deploymentConfiguration.alarms` that went into
/// ALARM, or the circuit breaker's count ("" when neither tripped).
fn what_tripped(d: &ServiceDeploymentShape) -> String {
    use aws_sdk_ecs::types::ServiceDeploymentRollbackMonitorsStatus as Monitor;
    let mut said = String::new();
    if let Some(alarms) = d.alarms()
        && alarms.status() == Some(&Monitor::Triggered)
    {
        let names = match alarms.triggered_alarm_names() {
            [] => alarms.alarm_names().join(", "),
            names => names.join(", "),
        };
        said.push_str(&format!("; CloudWatch alarm {names} went into ALARM"));
    }
    if let Some(cb) = d.deployment_circuit_breaker()
        && cb.status() == Some(&Monitor::Triggered)
    {
        said.push_str(&format!(
            "; circuit breaker: {} of {} tasks failed",
            cb.failure_count(),
            cb.threshold()
        ));
    }
    said
}

fn failed(reason: String) -> Verdict {
    Verdict::Failed {
        reason,
        rolled_back: false,
    }
}

impl ServiceDeployment<'_> {
    /// Prints the status and lifecycle stage when either changed.
    fn progress(&mut self, d: &ServiceDeploymentShape, runner: &Runner, events: &mut Vec<String>) {
        let stage = d.lifecycle_stage().map(|s| s.as_str()).unwrap_or("");
        let status = d.status().map(|s| s.as_str()).unwrap_or("?");
        if stage == self.stage && status == self.status {
            return;
        }
        let line = format!("{status} · {}", if stage.is_empty() { "—" } else { stage });
        runner.info(&format!("[{}] {line}", self.name));
        events.push(line);
        (self.stage, self.status) = (stage.to_string(), status.to_string());
    }

    /// Warns once per lifecycle hook that awaits ContinueServiceDeployment.
    fn hooks(&mut self, d: &ServiceDeploymentShape, runner: &Runner, events: &mut Vec<String>) {
        for hook in d.lifecycle_hook_details() {
            let id = hook.hook_id().unwrap_or("?");
            if !awaits(hook)
                || self.until.continued.as_deref() == Some(id)
                || !self.told.insert(id.to_string())
            {
                continue;
            }
            let line = format!(
                "paused at {}: lifecycle hook {id} ({}) awaits ContinueServiceDeployment{}{}",
                self.stage,
                hook.target_type().map(|t| t.as_str()).unwrap_or("?"),
                hook.expires_at()
                    .map(|t| format!("; it times out at {t}"))
                    .unwrap_or_default(),
                hook.timeout_action()
                    .map(|a| format!(", then {}", a.as_str()))
                    .unwrap_or_default()
            );
            runner.warning("deploy", &format!("{}: {line}", self.name));
            events.push(line);
        }
    }

    /// The verdict once the status is final (or, following a rollback, once it ended).
    fn verdict(&self, d: &ServiceDeploymentShape) -> Option<Verdict> {
        let id = last_segment(&self.arn);
        let said = d
            .rollback()
            .and_then(|r| r.reason())
            .or(d.status_reason())
            .unwrap_or("no reason given");
        let reason = format!("{said}{}", what_tripped(d));
        let reason = reason.as_str();
        let status = d.status()?;
        let rolled_back = |reason: String| Verdict::Failed {
            reason,
            rolled_back: true,
        };
        Some(match (status, self.until.expect_rollback) {
            (S::Successful, false) | (S::RollbackSuccessful, true) => Verdict::Succeeded,
            (
                S::RollbackRequested
                | S::RollbackInProgress
                | S::RollbackSuccessful
                | S::RollbackFailed,
                false,
            ) => rolled_back(format!(
                "service deployment {id} is {}: {reason}",
                status.as_str()
            )),
            (S::RollbackFailed, true) => failed(format!("the rollback of {id} failed: {reason}")),
            (S::Stopped | S::StopRequested, _) => {
                failed(format!("service deployment {id} was stopped: {reason}"))
            }
            (S::Successful, true) => failed(format!(
                "service deployment {id} completed instead of rolling back"
            )),
            _ => return None,
        })
    }

    /// With `wait-until: traffic-shifted`: production traffic is on the new
    /// revision and no hook awaits action (it rolls back when it times out).
    fn traffic_shifted(&self, d: &ServiceDeploymentShape) -> bool {
        self.until.wait == WaitUntil::TrafficShifted
            && !self.until.expect_rollback
            && TRAFFIC_SHIFTED.contains(&self.stage.as_str())
            && !awaiting_action(d)
    }
}
