//! The one follow loop of a single deployment — an ECS-native service
//! deployment or a CodeDeploy deployment: read it, say what changed, decide;
//! a read that may succeed later is a warning and the wait goes on; the
//! deadline ends it, naming the state it was last seen in. (Rolling
//! deployments are followed together, one DescribeServices per poll for up
//! to ten services: `wait::wait_all`.)

use std::time::Duration;

use tokio::time::Instant;

use super::assess::{Followed, Verdict};
use super::wait::WaitResult;
use crate::poll::PollSchedule;
use crate::runner::Runner;

/// What one read of a deployment says.
pub(crate) enum Read {
    /// Still going.
    Going,
    /// It has ended, with this verdict.
    Ended(Verdict),
    /// The read failed in a way that may pass (throttling, 5xx): why.
    Transient(String),
}

/// A deployment kind's reading of its own deployment.
pub(crate) trait Deployment {
    /// Reads the deployment once; prints what changed and records it in `events`.
    async fn read(&mut self, runner: &Runner, events: &mut Vec<String>) -> Read;
    /// Why the wait timed out: the state the deployment was last seen in.
    fn timed_out(&self, events: &[String]) -> String;
}

/// Follows `deployment` until it ends or `timeout` passes.
pub(crate) async fn follow<D: Deployment>(
    mut deployment: D,
    runner: &Runner,
    followed: Followed,
    timeout: Duration,
    mut schedule: PollSchedule,
) -> WaitResult {
    let started = Instant::now();
    let deadline = started + timeout;
    let mut events: Vec<String> = Vec::new();
    let verdict = loop {
        match deployment.read(runner, &mut events).await {
            Read::Ended(verdict) => break verdict,
            Read::Transient(why) => runner.warning("wait", &why),
            Read::Going => {}
        }
        let now = Instant::now();
        if now >= deadline {
            break Verdict::Failed {
                reason: deployment.timed_out(&events),
                rolled_back: false,
            };
        }
        tokio::time::sleep(schedule.next_delay().min(deadline - now)).await;
    };
    WaitResult {
        followed,
        verdict,
        last_events: events.iter().rev().take(8).rev().cloned().collect(),
        stopped_reasons: Vec::new(),
        crash_logs: Vec::new(),
        alarms: Vec::new(),
        took: started.elapsed(),
    }
}
