//! Following deployments to their end: one batched DescribeServices per
//! poll for all services still going, new events printed once each, and on
//! failure the reason, the last events and the stopped tasks' reasons.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_ecs::types::{Service, Task};
use aws_smithy_types::DateTime;
use tokio::time::Instant;

use super::assess::{Followed, Verdict, assess};
use super::crashed::{self, CrashLog};
use super::hopeless::{self, Hopeless};
use super::stopped::reasons_of;
pub use super::stopped::{explain_failure, stopped_task_reasons, stopped_tasks};
use crate::poll::PollSchedule;
use crate::runner::Runner;
use crate::service::{DescribeError, Described, describe_batched, find};

/// How many recent events a failure report carries.
pub const LAST_EVENTS: usize = 5;

#[derive(Debug, Clone)]
pub struct WaitResult {
    pub followed: Followed,
    pub verdict: Verdict,
    /// Newest last.
    pub last_events: Vec<String>,
    pub stopped_reasons: Vec<String>,
    /// On failure, the last log lines of some of the stopped tasks.
    pub crash_logs: Vec<CrashLog>,
    /// On failure, the CloudWatch alarms watching it that are in ALARM.
    pub alarms: Vec<super::alarms::FiredAlarm>,
    pub took: Duration,
}

/// Prints each service event once, oldest first, only those newer than the update.
#[derive(Debug)]
pub struct EventLog {
    since: Option<DateTime>,
    seen: HashSet<String>,
    recent: HashMap<String, Vec<String>>,
}

impl EventLog {
    pub fn new(since: Option<DateTime>) -> Self {
        Self {
            since,
            seen: HashSet::new(),
            recent: HashMap::new(),
        }
    }

    /// Returns the events not printed before, oldest first.
    pub fn take_new(&mut self, svc: &Service) -> Vec<String> {
        let name = svc.service_name().unwrap_or("?").to_string();
        // ECS lists events newest first; reverse, then a stable sort keeps ties in order.
        let mut events: Vec<_> = svc.events().iter().rev().collect();
        events.sort_by_key(|e| e.created_at().map(|t| (t.secs(), t.subsec_nanos())));
        let recent = self.recent.entry(name.clone()).or_default();
        *recent = events
            .iter()
            .rev()
            .take(LAST_EVENTS)
            .rev()
            .filter_map(|e| e.message().map(str::to_string))
            .collect();
        let mut fresh = Vec::new();
        for e in events {
            let id = e
                .id()
                .map(str::to_string)
                .unwrap_or_else(|| format!("{:?}{:?}", e.created_at(), e.message()));
            if !self.seen.insert(format!("{name}/{id}")) {
                continue;
            }
            let newer = match (self.since, e.created_at()) {
                (Some(since), Some(at)) => {
                    (at.secs(), at.subsec_nanos()) >= (since.secs(), since.subsec_nanos())
                }
                _ => true,
            };
            if newer && let Some(m) = e.message() {
                fresh.push(m.to_string());
            }
        }
        fresh
    }

    pub fn recent(&self, service: &str) -> Vec<String> {
        self.recent.get(service).cloned().unwrap_or_default()
    }
}

/// How rolling deployments are watched: the cluster, the time of the
/// update (events before it are not printed), the timeout, the polling, and
/// for fail-fast each service's revision to roll a hopeless deployment back to.
#[derive(Debug, Clone)]
pub struct Watch<'a> {
    pub cluster: &'a str,
    pub since: Option<DateTime>,
    pub timeout: Duration,
    pub schedule: PollSchedule,
    /// Service → the revision it ran before (`fail-fast`); empty: off.
    pub fail_fast: HashMap<String, String>,
    /// Where to read a failed deployment's crashed tasks' logs (the SDK
    /// configuration and the default region); `None`: not read.
    pub logs: Option<(SdkConfig, String)>,
}

impl<'a> Watch<'a> {
    /// Watching without fail-fast, from no particular time.
    pub fn new(cluster: &'a str, timeout: Duration, schedule: PollSchedule) -> Self {
        Self {
            cluster,
            since: None,
            timeout,
            schedule,
            fail_fast: HashMap::new(),
            logs: None,
        }
    }
}

/// Follows every deployment in `followed` until each ends or the timeout passes.
pub async fn wait_all(
    ecs: &aws_sdk_ecs::Client,
    runner: &Runner,
    followed: Vec<Followed>,
    watch: Watch<'_>,
) -> Vec<WaitResult> {
    let (cluster, timeout, mut schedule) = (watch.cluster, watch.timeout, watch.schedule);
    let started = Instant::now();
    let deadline = started + timeout;
    let mut w = Rolling {
        ecs,
        runner,
        cluster,
        events: EventLog::new(watch.since),
        last_state: HashMap::new(),
        loops: HashMap::new(),
        failed_seen: HashMap::new(),
        fail_fast: watch.fail_fast,
        logs: watch.logs,
        judged_on: HashMap::new(),
    };
    let mut pending: Vec<Followed> = followed;
    let mut results: Vec<WaitResult> = Vec::new();
    let mut transient_errors = 0u32;
    if !pending.is_empty() {
        tokio::time::sleep(schedule.first_delay().min(timeout)).await;
    }
    loop {
        let mut ended = w.poll(&mut pending, &mut transient_errors).await;
        let now = Instant::now();
        if now >= deadline {
            let timed_out: Vec<_> = pending
                .drain(..)
                .map(|p| {
                    let v = w.timed_out(&p, timeout);
                    (p, v)
                })
                .collect();
            ended.extend(timed_out);
        }
        for (f, verdict) in ended {
            results.push(w.finish(f, verdict, started.elapsed()).await);
        }
        if pending.is_empty() {
            break;
        }
        tokio::time::sleep(schedule.next_delay().min(deadline - now)).await;
    }
    results
}

impl Rolling<'_> {
    /// One DescribeServices round for every pending deployment: those that
    /// ended, with their verdicts; the rest stay in `pending`. A transient
    /// error keeps them all pending (told on the first and every tenth).
    async fn poll(
        &mut self,
        pending: &mut Vec<Followed>,
        transient_errors: &mut u32,
    ) -> Vec<(Followed, Verdict)> {
        let names: Vec<String> = pending.iter().map(|f| f.service.clone()).collect();
        let mut ended: Vec<(Followed, Verdict)> = Vec::new();
        match describe_batched(self.ecs, self.cluster, &names).await {
            Ok(described) => {
                *transient_errors = 0;
                for f in std::mem::take(pending) {
                    match self.judge(&described, &f).await {
                        Verdict::Waiting(_) => pending.push(f),
                        done => ended.push((f, done)),
                    }
                }
            }
            Err(DescribeError::Transient(m)) => {
                *transient_errors += 1;
                if *transient_errors == 1 || transient_errors.is_multiple_of(10) {
                    self.runner.warning(
                        "wait",
                        &format!("DescribeServices failed ({m}); still waiting"),
                    );
                }
            }
            Err(DescribeError::Fatal(f)) => {
                let failed = |p| {
                    (
                        p,
                        Verdict::Failed {
                            reason: format!("{f:#}"),
                            rolled_back: false,
                        },
                    )
                };
                ended.extend(pending.drain(..).map(failed));
            }
        }
        ended
    }
}

/// What the wait keeps between polls.
struct Rolling<'a> {
    ecs: &'a aws_sdk_ecs::Client,
    runner: &'a Runner,
    cluster: &'a str,
    events: EventLog,
    /// The state last printed, per service.
    last_state: HashMap<String, String>,
    /// Services whose deployment is hopeless (a crash loop, tasks that
    /// cannot start), told once.
    loops: HashMap<String, Hopeless>,
    /// The deployment's `failedTasks` when its stopped tasks were last read.
    failed_seen: HashMap<String, i32>,
    /// Service → revision to roll a hopeless deployment back to (fail-fast).
    fail_fast: HashMap<String, String>,
    logs: Option<(SdkConfig, String)>,
    /// The stopped tasks fail-fast judged a deployment on, which its
    /// failure report reuses instead of reading them again.
    judged_on: HashMap<String, Vec<Task>>,
}

impl Rolling<'_> {
    /// One service's verdict from this poll's answer, its new events and
    /// state printed; a crash loop the circuit breaker does not see is named once.
    async fn judge(&mut self, described: &Described, f: &Followed) -> Verdict {
        let Some(svc) = find(&described.services, &f.service) else {
            let reason = described
                .missing
                .iter()
                .find(|(n, _)| *n == f.service)
                .map(|(_, r)| r.as_str())
                .unwrap_or("MISSING");
            return Verdict::Failed {
                reason: format!(
                    "service {} disappeared during the deployment ({reason})",
                    f.service
                ),
                rolled_back: false,
            };
        };
        let fresh = self.events.take_new(svc);
        for line in &fresh {
            self.runner.info(&format!("[{}] {line}", f.service));
        }
        let verdict = assess(svc, f);
        if let Verdict::Waiting(state) = &verdict {
            if self.tasks_failed(svc, f, &fresh)
                && let Some(failed) = self.hopeless(svc, f).await
            {
                return failed;
            }
            if self.last_state.get(&f.service) != Some(state) {
                self.runner.info(&format!("[{}] {state}", f.service));
                self.last_state.insert(f.service.clone(), state.clone());
            }
        }
        verdict
    }

    /// Whether tasks of the deployment stopped since its stopped tasks were
    /// last read: an event says one stopped, or `failedTasks` grew.
    fn tasks_failed(&mut self, svc: &Service, f: &Followed, fresh: &[String]) -> bool {
        let failed = svc
            .deployments()
            .iter()
            .find(|d| d.id() == Some(f.deployment_id.as_str()))
            .map_or(0, |d| d.failed_tasks());
        let seen = self
            .failed_seen
            .insert(f.service.clone(), failed)
            .unwrap_or(0);
        failed > seen || fresh.iter().any(|l| l.contains("has stopped"))
    }

    /// A hopeless deployment — its tasks fail the same way again and again
    /// while none runs — is named once; with fail-fast it is stopped with
    /// rollback and its verdict is the failure.
    async fn hopeless(&mut self, svc: &Service, f: &Followed) -> Option<Verdict> {
        if self.loops.contains_key(&f.service) || !nothing_running(svc, f) {
            return None;
        }
        let tasks = stopped_tasks(self.ecs, self.cluster, f).await.ok()?;
        let found = hopeless::detect(&tasks, &f.deployment_id)?;
        self.loops.insert(f.service.clone(), found.clone());
        let Some(back_to) = self.fail_fast.get(&f.service).cloned() else {
            // Without fail-fast: named once, and left to ECS.
            let line = format!("{}: {}", f.service, found.describe(&f.deployment_id));
            self.runner.warning("deploy", &line);
            return None;
        };
        let stopped =
            super::apply::stop_with_rollback_to(self.ecs, self.cluster, &f.service, &back_to).await;
        self.judged_on.insert(f.service.clone(), tasks);
        Some(found.verdict(&f.deployment_id, stopped))
    }

    fn timed_out(&self, p: &Followed, timeout: Duration) -> Verdict {
        let state = self
            .last_state
            .get(&p.service)
            .map(String::as_str)
            .unwrap_or("no answer from ECS");
        let mut reason = format!(
            "timed out after {} waiting for deployment {}; it was {state}",
            human(timeout),
            p.deployment_id
        );
        if let Some(l) = self.loops.get(&p.service) {
            reason.push_str(&format!("; {}", l.short()));
        }
        Verdict::Failed {
            reason,
            rolled_back: false,
        }
    }
}

/// True when the followed deployment has no task running.
fn nothing_running(svc: &Service, f: &Followed) -> bool {
    svc.deployments()
        .iter()
        .find(|d| d.id() == Some(f.deployment_id.as_str()))
        .is_some_and(|d| d.running_count() == 0)
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s.is_multiple_of(60) {
        format!("{} min", s / 60)
    } else {
        format!("{s} s")
    }
}

impl Rolling<'_> {
    /// The result of one ended deployment; on failure, its stopped tasks'
    /// reasons and (with `logs`) their containers' last log lines.
    async fn finish(&mut self, followed: Followed, verdict: Verdict, took: Duration) -> WaitResult {
        let (mut stopped_reasons, mut crash_logs) = (Vec::new(), Vec::new());
        if let Verdict::Failed { .. } = verdict {
            let judged_on = self.judged_on.remove(&followed.service);
            let tasks = match judged_on {
                Some(tasks) => Ok(tasks),
                None => stopped_tasks(self.ecs, self.cluster, &followed).await,
            };
            match tasks {
                Ok(tasks) => {
                    stopped_reasons = reasons_of(&tasks);
                    crash_logs = self.crash_logs(&followed, &tasks).await;
                }
                Err(Some(m)) => stopped_reasons = vec![format!("(stopped tasks unavailable: {m})")],
                Err(None) => {}
            }
        }
        WaitResult {
            last_events: self.events.recent(&followed.service),
            followed,
            verdict,
            stopped_reasons,
            crash_logs,
            alarms: Vec::new(),
            took,
        }
    }

    async fn crash_logs(&self, f: &Followed, tasks: &[Task]) -> Vec<CrashLog> {
        let Some((config, region)) = &self.logs else {
            return Vec::new();
        };
        if tasks.is_empty() {
            return Vec::new();
        }
        match crate::taskdef::api::describe_task_definition(self.ecs, &f.task_definition).await {
            Ok(td) => crashed::last_words(config, region, tasks, &td).await,
            Err(_) => Vec::new(),
        }
    }
}
