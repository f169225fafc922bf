//! Waiting for the one-off task to stop: DescribeTasks polled adaptively
//! (never waiting for RUNNING: short tasks go PENDING → STOPPED between
//! polls), logs streamed as they arrive, and the task stopped on timeout
//! or cancellation.

use std::future::Future;
use std::time::{Duration, SystemTime};

use aws_sdk_ecs::types::Task;
use tokio::time::Instant;

use super::logs::{LOG_GRACE_MAX, LOG_GRACE_MIN, LogFollower};
use crate::error::{aws_message, is_transient};
use crate::poll::PollSchedule;
use crate::runner::Runner;

#[derive(Debug)]
pub enum Ended {
    Stopped(Box<Task>),
    /// The wait ran past `timeout-minutes`.
    TimedOut {
        stopped: bool,
    },
    /// SIGINT/SIGTERM: the workflow was cancelled.
    Cancelled {
        signal: &'static str,
        stopped: bool,
    },
}

pub struct Waiter<'a> {
    pub ecs: &'a aws_sdk_ecs::Client,
    pub runner: &'a Runner,
    pub cluster: &'a str,
    pub task_arn: &'a str,
    pub timeout: Duration,
    pub stop_on_cancel: bool,
    pub schedule: PollSchedule,
}

impl Waiter<'_> {
    pub async fn wait(
        &mut self,
        logs: &mut Option<LogFollower>,
        cancel: impl Future<Output = &'static str>,
    ) -> Ended {
        let deadline = Instant::now() + self.timeout;
        let mut cancel = std::pin::pin!(cancel);
        let mut last_status = String::new();
        let mut warned = false;
        // Before the first poll too, unless the schedule polls at once.
        let mut delay = self.schedule.first_delay();
        loop {
            if !delay.is_zero() {
                tokio::select! {
                    signal = &mut cancel => {
                        let stopped = self.stop(&format!("fargate-deploy: the workflow run was cancelled ({signal})")).await;
                        return Ended::Cancelled { signal, stopped };
                    }
                    _ = tokio::time::sleep_until(deadline) => {
                        let minutes = self.timeout.as_secs_f64() / 60.0;
                        let stopped = self.stop(&format!("fargate-deploy: timed out after {minutes} minutes (timeout-minutes)")).await;
                        if let Some(l) = logs.as_mut() {
                            l.poll(self.runner).await;
                        }
                        return Ended::TimedOut { stopped };
                    }
                    _ = tokio::time::sleep(delay) => {}
                }
            }

            // The task's status and its new log lines are read at the same time.
            let runner = self.runner;
            let described = self
                .ecs
                .describe_tasks()
                .cluster(self.cluster)
                .tasks(self.task_arn)
                .send();
            let read_logs = async {
                if let Some(l) = logs.as_mut() {
                    l.poll(runner).await;
                }
            };
            let (described, ()) = tokio::join!(described, read_logs);
            match described {
                Ok(out) => {
                    if let Some(task) = out.tasks().first() {
                        let status = task.last_status().unwrap_or("?").to_string();
                        if status != last_status {
                            self.runner.info(&format!("task is {status}"));
                            last_status = status;
                        }
                        if last_status == "STOPPED" {
                            self.drain(logs, grace_left(task, SystemTime::now())).await;
                            return Ended::Stopped(Box::new(task.clone()));
                        }
                    }
                }
                Err(e) => {
                    if !warned || !is_transient(&e) {
                        self.runner.warning(
                            "wait",
                            &format!("DescribeTasks failed ({}); still waiting", aws_message(&e)),
                        );
                        warned = true;
                    }
                }
            }
            delay = self.schedule.next_delay();
        }
    }

    /// Reads the log stream on after the stop (late lines exist) until a
    /// read finds nothing new once `grace_left` has passed: at once while
    /// lines keep coming, otherwise only when the grace is over.
    async fn drain(&self, logs: &mut Option<LogFollower>, grace_left: Duration) {
        let Some(l) = logs.as_mut() else { return };
        let seen = Instant::now();
        let (quiet_from, give_up) = (seen + grace_left, seen + LOG_GRACE_MAX);
        loop {
            let new = l.poll(self.runner).await;
            let now = Instant::now();
            if (new == 0 && now >= quiet_from) || now >= give_up {
                return;
            }
            let next = if new == 0 {
                quiet_from
            } else {
                now + Duration::from_millis(250)
            };
            tokio::time::sleep_until(next.min(give_up)).await;
        }
    }

    /// StopTask unless told not to; returns whether it was stopped.
    async fn stop(&self, reason: &str) -> bool {
        if !self.stop_on_cancel {
            self.runner.warning(
                "run task",
                &format!(
                    "leaving task {} running (stop-task-on-cancel: false)",
                    super::task_id(self.task_arn)
                ),
            );
            return false;
        }
        let reason: String = reason.chars().take(255).collect();
        match self
            .ecs
            .stop_task()
            .cluster(self.cluster)
            .task(self.task_arn)
            .reason(&reason)
            .send()
            .await
        {
            Ok(_) => {
                self.runner.info(&format!(
                    "stopped task {}: {reason}",
                    super::task_id(self.task_arn)
                ));
                true
            }
            Err(e) => {
                self.runner.error(
                    "run task",
                    &format!(
                        "could not stop task {}: {}; stop it by hand",
                        self.task_arn,
                        aws_message(&e)
                    ),
                );
                false
            }
        }
    }
}

/// What is left of `LOG_GRACE_MIN` after the container stopped: the task's
/// `executionStoppedAt` (its containers exited), else `stoppedAt`; all of it
/// when ECS gives neither or the clocks disagree.
pub(crate) fn grace_left(task: &Task, now: SystemTime) -> Duration {
    let Some(stopped) = task.execution_stopped_at().or(task.stopped_at()) else {
        return LOG_GRACE_MIN;
    };
    let Ok(stopped) = SystemTime::try_from(*stopped) else {
        return LOG_GRACE_MIN;
    };
    match now.duration_since(stopped) {
        Ok(since) => LOG_GRACE_MIN.saturating_sub(since),
        Err(_) => LOG_GRACE_MIN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_types::DateTime;

    fn at(secs: f64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs_f64(secs)
    }

    #[test]
    fn the_grace_counts_from_when_the_container_stopped() {
        let base = 1_800_000_000.0;
        let task = |exec: Option<f64>, stopped: Option<f64>| {
            Task::builder()
                .set_execution_stopped_at(exec.map(DateTime::from_secs_f64))
                .set_stopped_at(stopped.map(DateTime::from_secs_f64))
                .build()
        };
        // Fargate: the container exited 20 s before STOPPED was seen.
        let t = task(Some(base), Some(base + 19.0));
        assert_eq!(grace_left(&t, at(base + 20.0)), Duration::ZERO);
        // Only stoppedAt known, 0.3 s ago: 0.7 s left.
        let t = task(None, Some(base));
        let left = grace_left(&t, at(base + 0.3));
        assert!((left.as_secs_f64() - 0.7).abs() < 1e-3, "{left:?}");
        // executionStoppedAt wins over stoppedAt.
        let t = task(Some(base), Some(base + 0.5));
        assert!(grace_left(&t, at(base + 0.6)) < Duration::from_millis(401));
        // Neither, or a clock behind AWS's: the whole grace.
        assert_eq!(grace_left(&task(None, None), at(base)), LOG_GRACE_MIN);
        assert_eq!(
            grace_left(&task(None, Some(base + 5.0)), at(base)),
            LOG_GRACE_MIN
        );
    }
}
