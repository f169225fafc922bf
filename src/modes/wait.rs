//! The wait stage deploy and rollback share: every deployment followed at
//! once — rolling ones together (one DescribeServices per poll), ECS-native
//! and CodeDeploy ones each by its own reader — until each ends, the run is
//! cancelled, or `timeout-minutes` passes; each result goes in its report row.

use std::collections::HashMap;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_smithy_types::DateTime;

use super::report::Report;
use crate::aws::Aws;
use crate::context::RunContext;
use crate::deployment::Updated;
use crate::deployment::alarms;
use crate::deployment::assess::Verdict;
use crate::deployment::codedeploy;
use crate::deployment::native;
use crate::deployment::on_cancel::{Grace, roll_back_on_cancel};
use crate::deployment::wait::{WaitResult, Watch, explain_failure, wait_all};
use crate::error::Failure;
use crate::inputs::{Following, WaitUntil};
use crate::plan::DeploymentKind;
use crate::poll::PollSchedule;
use crate::stages::Stages;

/// What the wait is for: the inputs that say how to follow, the time of the
/// first change, and (deploy's plan) the rolling services a hopeless
/// deployment of which is rolled back, with the revision to return to.
pub struct WaitFor<'a> {
    pub settings: &'a Following,
    pub since: DateTime,
    pub fail_fast: HashMap<String, String>,
    /// `on-cancel: rollback`: each service and the revision a cancelled run
    /// returns it to; empty: the deployments are left going.
    pub on_cancel: HashMap<String, String>,
    /// Mode continue: each service and the PAUSE hook it continued.
    pub continued: HashMap<String, String>,
    /// Each service and the CloudWatch alarms that watch its deployment:
    /// a failed one says which are in ALARM, and why.
    pub alarms: HashMap<String, Vec<String>>,
}

pub async fn wait_stage(
    stages: &mut Stages<'_>,
    ctx: &RunContext<'_>,
    aws: &Aws,
    updated: &[Updated],
    wait: WaitFor<'_>,
    report: &mut Report,
) -> Result<(), Failure> {
    let (settings, runner) = (wait.settings, ctx.runner.as_ref());
    let on_cancel = wait.on_cancel;
    stages
        .run("wait for deployment", async {
            if settings.wait_until == WaitUntil::None {
                for r in &mut report.rows {
                    r.outcome = Some("not waited for".into());
                }
                return Ok(((), "not waiting (wait-until: none)".to_string()));
            }
            let mut results = Vec::new();
            let mut follow = Vec::new();
            let mut codedeploy_follows = Vec::new();
            let mut native_follows = Vec::new();
            for u in updated {
                if u.kind == DeploymentKind::Native {
                    let until = native::Until { wait: settings.wait_until, expect_rollback: u.expect_rollback, continued: wait.continued.get(&u.followed.service).cloned(), fail_fast: wait.fail_fast.contains_key(&u.followed.service) };
                    native_follows.push(native::follow(&aws.ecs, runner, u.followed.clone(), settings.timeout, until, PollSchedule::default()));
                } else if u.kind == DeploymentKind::CodeDeploy {
                    let until_traffic = settings.wait_until == WaitUntil::TrafficShifted;
                    codedeploy_follows.push(codedeploy::follow(&aws.codedeploy, runner, u.followed.clone(), settings.timeout, until_traffic, PollSchedule::default()));
                } else if u.desired_count == 0 {
                    runner.notice("deploy", &format!("{} has desired count 0: nothing to start; it is set to {} and will run it when scaled up", u.followed.service, crate::arn::last_segment(&u.followed.task_definition)));
                    results.push(WaitResult { followed: u.followed.clone(), verdict: Verdict::Succeeded, last_events: vec![], stopped_reasons: vec![], crash_logs: vec![], alarms: vec![], took: Duration::ZERO });
                } else {
                    follow.push(u.followed.clone());
                }
            }
            // A deployment UpdateService has just started is IN_PROGRESS: the
            // first poll waits a second, unless one was not new (it may be done).
            let mut schedule = PollSchedule::default();
            if updated.iter().filter(|u| u.kind == DeploymentKind::Rolling).all(|u| u.new_deployment) {
                schedule = schedule.waiting_first();
            }
            // Rolling and CodeDeploy deployments are followed at the same time.
            let logs = Some((aws.config.clone(), aws.region.clone()));
            let watch = Watch { since: Some(wait.since), fail_fast: wait.fail_fast, logs: logs.clone(), ..Watch::new(&ctx.settings.cluster, settings.timeout, schedule) };
            let rolling = wait_all(&aws.ecs, runner, follow, watch);
            let all = async {
                tokio::join!(
                    rolling,
                    futures_util::future::join_all(codedeploy_follows),
                    futures_util::future::join_all(native_follows)
                )
            };
            // A cancelled workflow run ends the wait at once; the deployments
            // go on in AWS, or (on-cancel: rollback) are stopped with rollback.
            let cancel = &ctx.cancel;
            let (rolled, deployed, natively) = tokio::select! {
                all = all => all,
                signal = cancel.signalled() => {
                    return Err(cancelled(ctx, aws, updated, &on_cancel, signal, report).await);
                }
            };
            results.extend(rolled);
            // Why a native or CodeDeploy deployment failed, as for rolling ones.
            // Which alarms fired is read beside those stopped tasks.
            let others: Vec<WaitResult> = deployed.into_iter().chain(natively).collect();
            let results = explained(ctx, aws, &wait.alarms, logs.as_ref(), results, others).await;
            let (ok, paused) = record(report, &results)?;
            if paused > 0 {
                set_paused_output(runner, report)?;
            }
            Ok(((), match paused {
                0 => format!("{ok} of {} deployments completed", updated.len()),
                _ => format!("{paused} of {} deployments paused at a PAUSE hook, awaiting mode continue", updated.len()),
            }))
        })
        .await
}

/// Every result, rolling ones first, with why the native and CodeDeploy
/// deployments that failed did (their stopped tasks, as a rolling one's
/// already say) and which of the alarms watching the failed ones fired —
/// read at the same time.
async fn explained(
    ctx: &RunContext<'_>,
    aws: &Aws,
    watching: &HashMap<String, Vec<String>>,
    logs: Option<&(SdkConfig, String)>,
    mut results: Vec<WaitResult>,
    mut others: Vec<WaitResult>,
) -> Vec<WaitResult> {
    let failed = alarms::failed(results.iter().chain(&others));
    let cluster = &ctx.settings.cluster;
    let explained = others
        .iter_mut()
        .map(|r| explain_failure(&aws.ecs, cluster, logs, r));
    let (_, fired) = tokio::join!(
        futures_util::future::join_all(explained),
        alarms::fired(&aws.cloudwatch, watching, &failed)
    );
    results.extend(others);
    match fired {
        Ok(fired) => alarms::assign(&mut results, fired),
        Err(warning) => ctx.runner.warning("deploy", &warning),
    }
    results
}

/// The failure of a run cancelled while it waited: the deployments it
/// started go on in AWS, or are stopped with rollback (`on-cancel`).
async fn cancelled(
    ctx: &RunContext<'_>,
    aws: &Aws,
    updated: &[Updated],
    on_cancel: &HashMap<String, String>,
    signal: &str,
    report: &mut Report,
) -> Failure {
    if on_cancel.is_empty() {
        for r in &mut report.rows {
            r.outcome = Some("cancelled while deploying".into());
        }
        let ids: Vec<String> = updated
            .iter()
            .map(|u| format!("{} ({})", u.followed.service, u.followed.deployment_id))
            .collect();
        return Failure::failed(
            "deploy",
            format!(
                "cancelled ({signal}) while waiting; the deployments go on in AWS without being watched: {}",
                ids.join(", ")
            ),
        );
    }
    let cluster = &ctx.settings.cluster;
    let lines = roll_back_on_cancel(
        &aws.ecs,
        &aws.codedeploy,
        cluster,
        updated,
        on_cancel,
        Grace::after(signal),
    )
    .await;
    for r in &mut report.rows {
        r.outcome = Some("cancelled; rolled back".into());
    }
    let mut f = Failure::failed(
        "deploy",
        format!(
            "cancelled ({signal}) while waiting; on-cancel: rollback: {}",
            lines.join("; ")
        ),
    );
    for line in lines {
        f = f.with_detail(line);
    }
    f
}

/// Puts each result in its report row; fails if any deployment failed.
/// How many ended well, and how many of those are paused.
fn record(report: &mut Report, results: &[WaitResult]) -> Result<(usize, usize), Failure> {
    let mut failures = Vec::new();
    let (mut ok, mut paused) = (0, 0);
    for r in &mut report.rows {
        let Some(res) = results.iter().find(|w| w.followed.service == r.name) else {
            continue;
        };
        r.took = Some(res.took);
        match &res.verdict {
            Verdict::Succeeded => {
                ok += 1;
                r.outcome = Some("success".into());
            }
            Verdict::Failed {
                reason,
                rolled_back,
            } => {
                r.outcome = Some(if *rolled_back {
                    "rolled back".into()
                } else {
                    "failure".into()
                });
                r.failure = Some((
                    reason.clone(),
                    res.last_events.clone(),
                    res.stopped_reasons.clone(),
                ));
                r.crash_logs = res.crash_logs.clone();
                r.alarms = res.alarms.iter().map(|a| a.line()).collect();
                failures.push((r.name.clone(), reason.clone(), res));
            }
            Verdict::Paused(at) => {
                (ok, paused) = (ok + 1, paused + 1);
                r.outcome = Some(format!("paused at {}", at.stage));
                r.paused = Some(at.clone());
            }
            Verdict::Waiting(_) => r.outcome = Some("unknown".into()),
        }
    }
    let Some((name, reason, first)) = failures.first() else {
        return Ok((ok, paused));
    };
    let headline = if failures.len() == 1 {
        format!("deployment of {name} failed: {reason}")
    } else {
        format!(
            "{} of {} services failed; {name}: {reason}",
            failures.len(),
            report.rows.len()
        )
    };
    let mut f = Failure::failed("deploy", headline);
    for (other, why, _) in failures.iter().skip(1) {
        f = f.with_detail(format!("{other}: {why}"));
    }
    for a in &first.alarms {
        f = f.with_detail(a.line());
    }
    for e in &first.last_events {
        f = f.with_detail(format!("event: {e}"));
    }
    for s in &first.stopped_reasons {
        f = f.with_detail(format!("stopped {s}"));
    }
    for log in &first.crash_logs {
        f = f.with_detail(format!("{}:", log.title));
        for line in &log.lines {
            f = f.with_detail(format!("│ {line}"));
        }
    }
    Err(f)
}

/// `paused`: each paused service's deployment, stage and hook, as JSON.
fn set_paused_output(runner: &crate::runner::Runner, report: &Report) -> Result<(), Failure> {
    let paused: serde_json::Map<String, serde_json::Value> = report
        .rows
        .iter()
        .filter_map(|r| {
            let at = r.paused.as_ref()?;
            let value = serde_json::json!({
                "serviceDeploymentArn": r.deployment,
                "stage": at.stage,
                "hookId": at.hook_id,
                "expiresAt": at.expires_at,
                "timeoutAction": at.timeout_action,
            });
            Some((r.name.clone(), value))
        })
        .collect();
    runner
        .set_output("paused", &serde_json::Value::Object(paused).to_string())
        .map_err(super::report::output_failure)
}
