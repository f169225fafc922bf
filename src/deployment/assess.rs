//! The truth about one rolling deployment, from one DescribeServices answer.
//!
//! Pure: given the service and the deployment this run created, say whether
//! it succeeded, failed (and why), or is still going. The generic "services
//! stable" test is deliberately not used: it is true after a circuit-breaker
//! rollback too.

use crate::arn::last_segment;
use aws_sdk_ecs::types::{Deployment, DeploymentRolloutState, Service};

/// The deployment a run follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Followed {
    pub service: String,
    pub deployment_id: String,
    pub task_definition: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Still going; the text says where it stands.
    Waiting(String),
    Succeeded,
    Failed {
        reason: String,
        rolled_back: bool,
    },
    /// Awaits ContinueServiceDeployment at a PAUSE lifecycle hook, as
    /// `wait-until: paused` asked: the wait ends, the deployment does not.
    Paused(PausedAt),
}

pub use crate::plan::PausedAt;

impl Verdict {
    /// A failure's reason and whether the deployment was rolled back.
    pub fn failure(&self) -> Option<(&str, bool)> {
        match self {
            Verdict::Failed {
                reason,
                rolled_back,
            } => Some((reason, *rolled_back)),
            _ => None,
        }
    }
}

/// Whether two task-definition references name the same revision
/// (`family:rev` and its full ARN compare equal).
pub fn same_revision(a: &str, b: &str) -> bool {
    a == b || last_segment(a) == last_segment(b)
}

fn primary(svc: &Service) -> Option<&Deployment> {
    svc.deployments()
        .iter()
        .find(|d| d.status() == Some("PRIMARY"))
}

fn mentions_rollback(d: &Deployment) -> bool {
    d.rollout_state_reason().is_some_and(|r| {
        let r = r.to_ascii_lowercase();
        r.contains("rolling back") || r.contains("rollback") || r.contains("rolled back")
    })
}

/// Where a deployment stands, for people: `IN_PROGRESS, 1/2 running, 1 pending, 3 failed tasks`.
pub fn describe_state(d: &Deployment) -> String {
    let mut s = format!(
        "{}, {}/{} running",
        d.rollout_state()
            .map(|r| r.as_str())
            .unwrap_or("no rollout state"),
        d.running_count(),
        d.desired_count()
    );
    if d.pending_count() > 0 {
        s.push_str(&format!(", {} pending", d.pending_count()));
    }
    if d.failed_tasks() > 0 {
        s.push_str(&format!(", {} failed tasks", d.failed_tasks()));
    }
    s
}

pub fn assess(svc: &Service, f: &Followed) -> Verdict {
    if let Some(other) = svc.status().filter(|s| *s != "ACTIVE") {
        return Verdict::Failed {
            reason: format!("service {} became {other} during the deployment", f.service),
            rolled_back: false,
        };
    }
    let primary = primary(svc);
    let Some(ours) = svc
        .deployments()
        .iter()
        .find(|d| d.id() == Some(f.deployment_id.as_str()))
    else {
        return gone(f, primary);
    };
    if ours.rollout_state() == Some(&DeploymentRolloutState::Failed) {
        return failed(f, ours, primary);
    }
    if ours.status() != Some("PRIMARY")
        && let Some(p) = primary
    {
        return superseded(f, p);
    }
    let done = ours.running_count() >= ours.desired_count() && ours.pending_count() == 0;
    match ours.rollout_state() {
        Some(DeploymentRolloutState::Completed) if done => Verdict::Succeeded,
        // No rollout state (older controllers): the only deployment, fully running.
        None if done && svc.deployments().len() == 1 => Verdict::Succeeded,
        _ => Verdict::Waiting(describe_state(ours)),
    }
}

/// Our deployment is no longer listed: success only if the primary one
/// runs our revision to completion.
fn gone(f: &Followed, primary: Option<&Deployment>) -> Verdict {
    match primary {
        Some(p) if same_revision(p.task_definition().unwrap_or(""), &f.task_definition) => {
            if p.rollout_state() == Some(&DeploymentRolloutState::Completed) {
                Verdict::Succeeded
            } else {
                Verdict::Waiting(format!(
                    "deployment {} replaced ours with the same revision: {}",
                    p.id().unwrap_or("?"),
                    describe_state(p)
                ))
            }
        }
        Some(p) => Verdict::Failed {
            reason: format!(
                "deployment {} is gone and the service now runs {} (deployment {}{})",
                f.deployment_id,
                last_segment(p.task_definition().unwrap_or("?")),
                p.id().unwrap_or("?"),
                p.rollout_state_reason()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ),
            rolled_back: mentions_rollback(p),
        },
        None => Verdict::Failed {
            reason: format!(
                "deployment {} is gone and the service has no primary deployment",
                f.deployment_id
            ),
            rolled_back: false,
        },
    }
}

/// Our deployment FAILED; a rollback when the primary one is another revision.
fn failed(f: &Followed, ours: &Deployment, primary: Option<&Deployment>) -> Verdict {
    let rolled_back = primary.filter(|p| {
        p.id() != ours.id() && !same_revision(p.task_definition().unwrap_or(""), &f.task_definition)
    });
    let reason = ours
        .rollout_state_reason()
        .unwrap_or("the deployment failed");
    let reason = match rolled_back {
        Some(p) => format!(
            "{}. ECS is rolling back to {} ({}).",
            reason.trim_end_matches('.'),
            last_segment(p.task_definition().unwrap_or("?")),
            describe_state(p)
        ),
        None => reason.to_string(),
    };
    Verdict::Failed {
        reason,
        rolled_back: rolled_back.is_some(),
    }
}

/// Another deployment became primary: ours was replaced, or rolled back.
fn superseded(f: &Followed, p: &Deployment) -> Verdict {
    let rolled_back = mentions_rollback(p);
    let what = if rolled_back {
        "rolled back by"
    } else {
        "replaced by"
    };
    Verdict::Failed {
        reason: format!(
            "deployment {} was {what} deployment {} of {}{}",
            f.deployment_id,
            p.id().unwrap_or("?"),
            last_segment(p.task_definition().unwrap_or("?")),
            p.rollout_state_reason()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ),
        rolled_back,
    }
}

/// The ECS shapes the scenario tests build their answers from.
#[cfg(test)]
#[path = "../../tests/common/ecs.rs"]
#[allow(dead_code)] // the mocked answers serve the scenario tests only
mod ecs;

#[cfg(test)]
mod tests {
    use super::ecs;
    use super::*;
    use aws_sdk_ecs::types::DeploymentRolloutState as R;

    use ecs::{NEW, OLD, dep_of as dep};

    fn failure(v: Verdict) -> (String, bool) {
        match v.failure() {
            Some((reason, rolled_back)) => (reason.to_string(), rolled_back),
            None => panic!("not a failure: {v:?}"),
        }
    }

    fn svc(deps: Vec<Deployment>) -> Service {
        Service::builder()
            .service_name("web")
            .status("ACTIVE")
            .set_deployments(Some(deps))
            .build()
    }

    fn ours() -> Followed {
        Followed {
            service: "web".into(),
            deployment_id: "ecs-svc/2".into(),
            task_definition: NEW.into(),
        }
    }

    #[test]
    fn in_progress_waits_and_says_where_it_stands() {
        let s = svc(vec![
            dep("ecs-svc/2", "PRIMARY", NEW, R::InProgress, 1, 2),
            dep("ecs-svc/1", "ACTIVE", OLD, R::Completed, 2, 2),
        ]);
        assert_eq!(
            assess(&s, &ours()),
            Verdict::Waiting("IN_PROGRESS, 1/2 running, 1 pending".into())
        );
    }

    #[test]
    fn completed_at_full_count_succeeds() {
        let s = svc(vec![dep("ecs-svc/2", "PRIMARY", NEW, R::Completed, 2, 2)]);
        assert_eq!(assess(&s, &ours()), Verdict::Succeeded);
        let short_form = Followed {
            task_definition: "web:2".into(),
            ..ours()
        };
        assert_eq!(assess(&s, &short_form), Verdict::Succeeded);
    }

    #[test]
    fn circuit_breaker_failure_with_rollback_is_never_success() {
        let mut failed = dep("ecs-svc/2", "ACTIVE", NEW, R::Failed, 0, 2);
        failed.rollout_state_reason =
            Some("ECS deployment circuit breaker: tasks failed to start.".into());
        let rollback = dep("ecs-svc/3", "PRIMARY", OLD, R::InProgress, 1, 2);
        let (reason, rolled_back) = failure(assess(&svc(vec![rollback, failed]), &ours()));
        assert!(rolled_back);
        assert!(reason.starts_with("ECS deployment circuit breaker: tasks failed to start. ECS is rolling back to web:1"), "{reason}");
    }

    #[test]
    fn a_finished_rollback_that_removed_ours_is_a_failure() {
        // After the rollback completes, the only deployment left is the old revision, COMPLETED:
        // exactly the state in which "services stable" reports success.
        let mut back = dep("ecs-svc/3", "PRIMARY", OLD, R::Completed, 2, 2);
        back.rollout_state_reason =
            Some("ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1.".into());
        let (reason, rolled_back) = failure(assess(&svc(vec![back]), &ours()));
        assert!(rolled_back);
        assert!(reason.contains("now runs web:1"), "{reason}");
    }

    #[test]
    fn another_deployment_replacing_ours_is_a_failure() {
        let other = dep(
            "ecs-svc/9",
            "PRIMARY",
            "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:3",
            R::InProgress,
            0,
            2,
        );
        let ours_now = dep("ecs-svc/2", "ACTIVE", NEW, R::InProgress, 1, 2);
        let (reason, rolled_back) = failure(assess(&svc(vec![other, ours_now]), &ours()));
        assert!(!rolled_back);
        assert!(
            reason.contains("replaced by deployment ecs-svc/9 of web:3"),
            "{reason}"
        );
    }

    #[test]
    fn failed_without_rollback_keeps_the_reason() {
        let mut failed = dep("ecs-svc/2", "PRIMARY", NEW, R::Failed, 0, 2);
        failed.rollout_state_reason =
            Some("ECS deployment circuit breaker: tasks failed to start.".into());
        assert_eq!(
            assess(&svc(vec![failed]), &ours()),
            Verdict::Failed {
                reason: "ECS deployment circuit breaker: tasks failed to start.".into(),
                rolled_back: false
            }
        );
    }

    #[test]
    fn a_draining_service_fails() {
        let s = Service::builder()
            .service_name("web")
            .status("DRAINING")
            .build();
        assert!(matches!(assess(&s, &ours()), Verdict::Failed { .. }));
    }
}
