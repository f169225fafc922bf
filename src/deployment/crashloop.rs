//! A deployment whose tasks start, run and exit again and again.
//!
//! ECS's circuit breaker counts a task as failed only when it cannot be
//! launched, never reaches RUNNING, or fails its health checks, and its
//! count starts over once any task of the deployment runs; tasks that start
//! and then exit may never trip it, and the scheduler keeps relaunching them
//! with a growing back-off (up to 27 minutes). Without this, a step waits
//! its whole `timeout-minutes` and then says only "timed out". Found here
//! from the deployment's own stopped tasks, while it waits.

use aws_sdk_ecs::types::Task;

/// How many tasks exiting the same way make a crash loop.
pub const MIN_TASKS: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrashLoop {
    pub container: String,
    pub code: i32,
    pub tasks: usize,
}

impl CrashLoop {
    /// What is happening, for people.
    pub fn describe(&self, deployment: &str) -> String {
        format!(
            "crash loop: {} tasks of deployment {deployment} started and then exited with code {} ({}), and none is running; ECS's circuit breaker does not count tasks that started, so ECS keeps relaunching them (with a growing back-off) until timeout-minutes",
            self.tasks, self.code, self.container
        )
    }

    /// The same, short, for the end of a timeout message.
    pub fn short(&self) -> String {
        format!(
            "its tasks start and exit with code {} ({}) again and again ({} so far): a crash loop ECS's circuit breaker does not stop",
            self.code, self.container, self.tasks
        )
    }
}

/// The crash loop among `tasks` (stopped tasks of `deployment_id`): the
/// most frequent (container, non-zero exit code) of tasks that stopped
/// because an essential container exited, when it is at least [`MIN_TASKS`].
pub fn detect(tasks: &[Task], deployment_id: &str) -> Option<CrashLoop> {
    let mut counts: Vec<(String, i32, usize)> = Vec::new();
    for t in tasks
        .iter()
        .filter(|t| t.started_by() == Some(deployment_id))
        .filter(|t| t.stop_code().map(|c| c.as_str()) == Some("EssentialContainerExited"))
    {
        let Some(c) = t
            .containers()
            .iter()
            .find(|c| c.exit_code().is_some_and(|code| code != 0))
        else {
            continue;
        };
        let (name, code) = (
            c.name().unwrap_or("?").to_string(),
            c.exit_code().unwrap_or(0),
        );
        match counts.iter_mut().find(|(n, k, _)| *n == name && *k == code) {
            Some(entry) => entry.2 += 1,
            None => counts.push((name, code, 1)),
        }
    }
    counts
        .into_iter()
        .max_by_key(|(_, _, n)| *n)
        .filter(|(_, _, n)| *n >= MIN_TASKS)
        .map(|(container, code, tasks)| CrashLoop {
            container,
            code,
            tasks,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::types::{Container, TaskStopCode};

    fn task(by: &str, stop: TaskStopCode, code: Option<i32>) -> Task {
        Task::builder()
            .started_by(by)
            .stop_code(stop)
            .containers(Container::builder().name("web").set_exit_code(code).build())
            .build()
    }

    #[test]
    fn three_exits_with_the_same_code_are_a_crash_loop() {
        let exited = |code| {
            task(
                "ecs-svc/2",
                TaskStopCode::EssentialContainerExited,
                Some(code),
            )
        };
        let tasks = vec![exited(3), exited(3), exited(1), exited(3)];
        assert_eq!(
            detect(&tasks, "ecs-svc/2"),
            Some(CrashLoop {
                container: "web".into(),
                code: 3,
                tasks: 3
            })
        );
        assert_eq!(detect(&tasks[..3], "ecs-svc/2"), None, "two are not a loop");
    }

    #[test]
    fn other_deployments_and_launch_failures_do_not_count() {
        let tasks = vec![
            task("ecs-svc/1", TaskStopCode::EssentialContainerExited, Some(3)),
            task("ecs-svc/1", TaskStopCode::EssentialContainerExited, Some(3)),
            task("ecs-svc/1", TaskStopCode::EssentialContainerExited, Some(3)),
            task("ecs-svc/2", TaskStopCode::TaskFailedToStart, None),
            task("ecs-svc/2", TaskStopCode::TaskFailedToStart, None),
            task("ecs-svc/2", TaskStopCode::TaskFailedToStart, None),
            task("ecs-svc/2", TaskStopCode::EssentialContainerExited, Some(0)),
        ];
        assert_eq!(detect(&tasks, "ecs-svc/2"), None);
    }
}
