//! Waiting for the one-off task to stop: DescribeTasks polled adaptively
//! (never waiting for RUNNING: short tasks go PENDING → STOPPED between
//! polls), logs streamed as they arrive, and the task stopped on timeout
//! or cancellation.

use std::future::Future;
use std::time::Duration;

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
        loop {
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
                        if status == "STOPPED"
                            && let Some(l) = logs.as_mut()
                        {
                            l.poll(self.runner).await;
                        }
                        if status != last_status {
                            self.runner.info(&format!("task is {status}"));
                            last_status = status;
                        }
                        if last_status == "STOPPED" {
                            self.drain(logs).await;
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
            let delay = self.schedule.next_delay();
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
    }

    /// Reads the log stream on for a short grace period: late lines exist.
    async fn drain(&self, logs: &mut Option<LogFollower>) {
        let Some(l) = logs.as_mut() else { return };
        let seen = Instant::now();
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let new = l.poll(self.runner).await;
            let waited = seen.elapsed();
            if (new == 0 && waited >= LOG_GRACE_MIN) || waited >= LOG_GRACE_MAX {
                return;
            }
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
