//! Fail-fast for ECS-native blue/green, linear and canary deployments: while
//! the new (green) revision scales up and none of its tasks runs, its
//! stopped tasks are read now and then; when they failed the same way that
//! will not fix itself ([`hopeless`]), the deployment is stopped with
//! StopServiceDeployment ROLLBACK — before the circuit breaker's threshold,
//! or where there is no circuit breaker at all, ECS would retry until the
//! step's timeout.

use std::time::Duration;

use aws_sdk_ecs::types::{ServiceDeployment, ServiceDeploymentStatus as S, Task};
use tokio::time::Instant;

use super::assess::same_revision;
use super::hopeless::{self, Hopeless};
use super::stopped::stopped_tasks_where;

/// How often, at most, the stopped tasks are read while nothing runs.
const EVERY: Duration = Duration::from_secs(10);

/// The stages before the new revision takes any traffic.
const SCALING: [&str; 4] = [
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "SCALE_UP",
    "POST_SCALE_UP",
];

/// One followed service deployment's fail-fast watch.
#[derive(Debug)]
pub struct Watch {
    /// The revision the deployment rolls out.
    task_definition: String,
    last_read: Option<Instant>,
}

impl Watch {
    pub fn new(task_definition: &str) -> Self {
        Self {
            task_definition: task_definition.to_string(),
            last_read: None,
        }
    }

    /// Whether `d` is worth a look at its stopped tasks now: in progress,
    /// scaling up, none of the new revision's tasks running, and the last
    /// look at least [`EVERY`] ago.
    fn due(&self, d: &ServiceDeployment) -> bool {
        let stage = d.lifecycle_stage().map(|s| s.as_str()).unwrap_or("");
        let none_running = d
            .target_service_revision()
            .is_none_or(|r| r.running_task_count() == 0);
        d.status() == Some(&S::InProgress)
            && SCALING.contains(&stage)
            && none_running
            && self.last_read.is_none_or(|t| t.elapsed() >= EVERY)
    }

    /// The deployment's hopeless failure, if its stopped tasks show one:
    /// the tasks of the new revision started since the deployment did.
    pub async fn check(
        &mut self,
        ecs: &aws_sdk_ecs::Client,
        service: &str,
        d: &ServiceDeployment,
    ) -> Option<(Hopeless, String)> {
        if !self.due(d) {
            return None;
        }
        self.last_read = Some(Instant::now());
        let cluster = d.cluster_arn()?;
        let since = d.started_at().or(d.created_at()).map(|t| t.secs());
        let ours = |t: &Task| {
            t.task_definition_arn()
                .is_some_and(|td| same_revision(td, &self.task_definition))
                && since.is_none_or(|s| t.created_at().is_none_or(|c| c.secs() >= s))
        };
        let tasks = stopped_tasks_where(ecs, cluster, service, ours)
            .await
            .ok()?;
        // The tasks of one deployment share its `startedBy`.
        let started_by = tasks.iter().find_map(|t| t.started_by())?.to_string();
        let found = hopeless::detect(&tasks, &started_by)?;
        Some((found, started_by))
    }
}
