//! A deployment whose own tasks fail in a way that will not fix itself:
//! the image cannot be pulled, the task's resources cannot be set up
//! (secrets, registry auth, log group, network interface), the image is for
//! another CPU architecture, or the essential container starts and exits
//! with the same non-zero code again and again (a crash loop).
//!
//! ECS's circuit breaker stops the first kinds only at its threshold
//! (`min(max(3, ceil(desiredCount / 2)), 200)` failed tasks), and never
//! stops a crash loop: it counts a task as failed only when it cannot be
//! launched, never reaches RUNNING or fails its health checks, and its
//! count starts over once any task of the deployment runs — so a step
//! would wait its whole `timeout-minutes`. Found here from the deployment's
//! own stopped tasks, after [`MIN_TASKS`] of them failed the same way.

use aws_sdk_ecs::types::Task;

/// How many tasks failing the same way make a deployment hopeless.
pub const MIN_TASKS: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Class {
    /// `CannotPullContainerError`.
    CannotPull,
    /// `ResourceInitializationError`.
    ResourceInitialization,
    /// `exec format error`: the image is for another CPU architecture.
    ExecFormat,
    /// The essential container `container` exits with `code` each time.
    CrashLoop { container: String, code: i32 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hopeless {
    pub class: Class,
    /// How many of the deployment's tasks failed this way.
    pub tasks: usize,
    /// ECS's own words for the first of them (its stopped reason).
    pub reason: String,
}

impl Hopeless {
    /// The failure of a deployment fail-fast stopped: what failed, how it
    /// was stopped with rollback (`stopped`: what was done) or why it could
    /// not be, what to do.
    pub fn verdict(
        &self,
        deployment: &str,
        stopped: anyhow::Result<String>,
    ) -> super::assess::Verdict {
        let rolled_back = stopped.is_ok();
        let how = match stopped {
            Ok(how) => format!("stopped with rollback: {how}"),
            Err(e) => {
                format!("stopping it with rollback failed ({e:#}); roll it back with mode rollback")
            }
        };
        super::assess::Verdict::Failed {
            reason: format!(
                "fail-fast: {}; {how}; {}",
                self.summary(deployment),
                self.what_to_do()
            ),
            rolled_back,
        }
    }

    /// What is happening, for people.
    pub fn describe(&self, deployment: &str) -> String {
        let n = self.tasks;
        match &self.class {
            Class::CrashLoop { container, code } => format!(
                "crash loop: {n} tasks of deployment {deployment} started and then exited with code {code} ({container}), and none is running; ECS's circuit breaker does not count tasks that started, so ECS keeps relaunching them (with a growing back-off) until timeout-minutes"
            ),
            Class::CannotPull => format!(
                "{n} tasks of deployment {deployment} could not pull their image ({})",
                self.reason
            ),
            Class::ResourceInitialization => format!(
                "{n} tasks of deployment {deployment} could not be set up ({})",
                self.reason
            ),
            Class::ExecFormat => format!(
                "{n} tasks of deployment {deployment} could not run their image: exec format error ({})",
                self.reason
            ),
        }
    }

    /// What happened, named by its class: the failure fail-fast reports.
    pub fn summary(&self, deployment: &str) -> String {
        let n = self.tasks;
        match &self.class {
            Class::CrashLoop { container, code } => format!(
                "crash loop: {n} tasks of deployment {deployment} started and then exited with code {code} ({container}) while none ran"
            ),
            _ => format!("{}: {}", self.name(), self.describe(deployment)),
        }
    }

    /// The same, short, for the end of a timeout message.
    pub fn short(&self) -> String {
        match &self.class {
            Class::CrashLoop { container, code } => format!(
                "its tasks start and exit with code {code} ({container}) again and again ({} so far): a crash loop ECS's circuit breaker does not stop",
                self.tasks
            ),
            _ => format!("{} so far: {}", self.tasks, self.what_to_do()),
        }
    }

    /// The class, as the failure names it.
    pub fn name(&self) -> &'static str {
        self.class.name()
    }

    /// What to do about it.
    pub fn what_to_do(&self) -> String {
        self.class.what_to_do()
    }
}

impl Class {
    /// The class, as a failure names it.
    pub fn name(&self) -> &'static str {
        match self {
            Class::CannotPull => "CannotPullContainerError",
            Class::ResourceInitialization => "ResourceInitializationError",
            Class::ExecFormat => "exec format error",
            Class::CrashLoop { .. } => "crash loop",
        }
    }

    /// What to do about it.
    pub fn what_to_do(&self) -> String {
        match self {
            Class::CannotPull => "the image cannot be pulled: check that it exists in its registry, that the execution role may pull it (ecr:GetAuthorizationToken, ecr:BatchGetImage) and that the tasks' subnets reach the registry (a NAT gateway or VPC endpoints)".into(),
            Class::ResourceInitialization => "the task's resources cannot be set up: check that the execution role may read its secrets and parameters, that its log group exists, and that the tasks' subnets reach Secrets Manager, SSM and CloudWatch Logs".into(),
            Class::ExecFormat => "the image was built for another CPU architecture than the task's runtimePlatform.cpuArchitecture (X86_64 unless set): build it for that architecture, or set runtimePlatform".into(),
            Class::CrashLoop { container, .. } => format!(
                "the container {container} starts and exits: read its log (the stopped tasks are listed below) and fix the revision"
            ),
        }
    }
}

/// The words ECS stopped a task with: its stopped reason and its
/// containers' reasons.
fn reasons(t: &Task) -> impl Iterator<Item = &str> {
    t.stopped_reason()
        .into_iter()
        .chain(t.containers().iter().filter_map(|c| c.reason()))
}

/// How one stopped task failed, if in a way that will not fix itself, and
/// ECS's words for it.
pub fn class_of(t: &Task) -> Option<(Class, String)> {
    let said = |needle: &str| reasons(t).find(|r| r.contains(needle)).map(str::to_string);
    if let Some(r) = said("CannotPullContainerError") {
        return Some((Class::CannotPull, r));
    }
    if let Some(r) = said("ResourceInitializationError") {
        return Some((Class::ResourceInitialization, r));
    }
    if let Some(r) = said("exec format error") {
        return Some((Class::ExecFormat, r));
    }
    if t.stop_code().map(|c| c.as_str()) != Some("EssentialContainerExited") {
        return None;
    }
    let c = t
        .containers()
        .iter()
        .find(|c| c.exit_code().is_some_and(|code| code != 0))?;
    let class = Class::CrashLoop {
        container: c.name().unwrap_or("?").to_string(),
        code: c.exit_code().unwrap_or(0),
    };
    Some((class, t.stopped_reason().unwrap_or("stopped").to_string()))
}

/// The way most of `deployment_id`'s stopped tasks failed, when at least
/// [`MIN_TASKS`] failed that way.
pub fn detect(tasks: &[Task], deployment_id: &str) -> Option<Hopeless> {
    let mut counts: Vec<Hopeless> = Vec::new();
    for t in tasks
        .iter()
        .filter(|t| t.started_by() == Some(deployment_id))
    {
        let Some((class, reason)) = class_of(t) else {
            continue;
        };
        match counts.iter_mut().find(|h| h.class == class) {
            Some(h) => h.tasks += 1,
            None => counts.push(Hopeless {
                class,
                tasks: 1,
                reason,
            }),
        }
    }
    counts
        .into_iter()
        .max_by_key(|h| h.tasks)
        .filter(|h| h.tasks >= MIN_TASKS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::types::{Container, TaskStopCode};

    fn task(by: &str, stop: TaskStopCode, code: Option<i32>) -> Task {
        Task::builder()
            .started_by(by)
            .stop_code(stop)
            .stopped_reason("Essential container in task exited")
            .containers(Container::builder().name("web").set_exit_code(code).build())
            .build()
    }

    fn failed_to_start(by: &str, reason: &str) -> Task {
        Task::builder()
            .started_by(by)
            .stop_code(TaskStopCode::TaskFailedToStart)
            .stopped_reason(reason)
            .containers(Container::builder().name("web").reason(reason).build())
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
        let found = detect(&tasks, "ecs-svc/2").unwrap();
        assert_eq!(
            found.class,
            Class::CrashLoop {
                container: "web".into(),
                code: 3
            }
        );
        assert_eq!(found.tasks, 3);
        assert_eq!(
            found.summary("ecs-svc/2"),
            "crash loop: 3 tasks of deployment ecs-svc/2 started and then exited with code 3 (web) while none ran"
        );
        assert_eq!(detect(&tasks[..3], "ecs-svc/2"), None, "two are not a loop");
    }

    #[test]
    fn other_deployments_and_clean_exits_do_not_count() {
        let tasks = vec![
            task("ecs-svc/1", TaskStopCode::EssentialContainerExited, Some(3)),
            task("ecs-svc/1", TaskStopCode::EssentialContainerExited, Some(3)),
            task("ecs-svc/1", TaskStopCode::EssentialContainerExited, Some(3)),
            task("ecs-svc/2", TaskStopCode::EssentialContainerExited, Some(0)),
            task("ecs-svc/2", TaskStopCode::TaskFailedToStart, None),
        ];
        assert_eq!(detect(&tasks, "ecs-svc/2"), None);
    }

    #[test]
    fn launch_failures_are_classed_by_ecs_words() {
        for (reason, class, name) in [
            (
                "CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref: not found",
                Class::CannotPull,
                "CannotPullContainerError",
            ),
            (
                "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed",
                Class::ResourceInitialization,
                "ResourceInitializationError",
            ),
            (
                "CannotStartContainerError: exec /app/server: exec format error",
                Class::ExecFormat,
                "exec format error",
            ),
        ] {
            let tasks: Vec<Task> = (0..3)
                .map(|_| failed_to_start("ecs-svc/2", reason))
                .collect();
            let found = detect(&tasks, "ecs-svc/2").unwrap();
            assert_eq!((found.class.clone(), found.name()), (class, name));
            assert_eq!(found.reason, reason);
            assert!(
                found
                    .describe("ecs-svc/2")
                    .starts_with("3 tasks of deployment ecs-svc/2")
            );
            assert!(!found.what_to_do().is_empty());
            assert_eq!(detect(&tasks[..2], "ecs-svc/2"), None);
        }
    }
}
