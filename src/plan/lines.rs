//! The plan as it is printed: a line per service, then one per promise
//! (the wait, fail-fast, on-cancel, scheduled tasks, retention), and the
//! plan stage's one-line result.

use std::collections::HashMap;

use super::{DeployPlan, DeploymentKind, Revision};
use crate::arn::last_segment;
use crate::inputs::WaitUntil;

/// The plan line of a service whose deployment `alarms` watch; none without.
pub fn watched_line(service: &str, alarms: &[String]) -> Option<String> {
    (!alarms.is_empty()).then(|| {
        format!(
            "{service}: watched by CloudWatch alarm(s) {}; should its deployment fail, each one in ALARM is reported with its state reason",
            alarms.join(", ")
        )
    })
}

/// `what (web to web:1, worker to worker:1)`, services in name order; none
/// without targets.
fn back_to_line(what: &str, targets: HashMap<String, String>) -> Option<String> {
    let mut targets: Vec<(String, String)> = targets.into_iter().collect();
    if targets.is_empty() {
        return None;
    }
    targets.sort();
    let back: Vec<String> = targets
        .iter()
        .map(|(s, from)| format!("{s} to {}", last_segment(from)))
        .collect();
    Some(format!("{what} ({})", back.join(", ")))
}

impl DeployPlan {
    /// What "done" means for every service.
    fn wait_line(&self) -> Option<String> {
        let (until, timeout) = self.wait?;
        let minutes = timeout.as_secs_f64() / 60.0;
        Some(match until {
            WaitUntil::Complete => {
                format!("then wait until every deployment completes (at most {minutes:.0} min)")
            }
            WaitUntil::TrafficShifted => format!(
                "then wait until production traffic is on the new revision (at most {minutes:.0} min)"
            ),
            WaitUntil::Paused => format!(
                "then wait until every deployment pauses at its PAUSE lifecycle hook, and return; mode continue resumes it (at most {minutes:.0} min)"
            ),
            WaitUntil::None => "then return without waiting (wait-until: none)".into(),
        })
    }

    /// The plan as printed, one line per service and one for the wait.
    pub fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .services
            .iter()
            .map(|s| {
                let revision = match &s.same_as {
                    Some(other) => format!("the new revision registered for {other}"),
                    None => s.revision.describe(&s.family),
                };
                format!(
                    "{}: {revision}; {} from {}",
                    s.service,
                    s.strategy.describe(),
                    last_segment(&s.from)
                )
            })
            .collect();
        lines.extend(self.alarm_lines());
        lines.extend(self.wait_line());
        lines.extend(self.fail_fast_line());
        lines.extend(self.on_cancel_line());
        lines.extend(self.schedule_lines());
        lines.extend(self.retention_line());
        lines
    }

    /// What happens to each scheduled task, or that none was found.
    fn schedule_lines(&self) -> Vec<String> {
        match &self.schedules {
            None => Vec::new(),
            Some(found) if found.is_empty() => vec![format!(
                "scheduled tasks: none in {} runs {}",
                last_segment(&self.cluster),
                self.families().join(", ")
            )],
            Some(found) => found.iter().map(crate::schedules::Decision::line).collect(),
        }
    }

    fn retention_line(&self) -> Option<String> {
        let r = self.retention?;
        let delete = match r.delete {
            true => ", and delete their INACTIVE revisions not in use",
            false => "",
        };
        Some(format!(
            "then, once every deployment succeeded: keep the newest {} ACTIVE revisions of {} (and any a service, a running task, a scheduled task or a rollback uses), deregister the older ones{delete}",
            r.keep,
            self.families().join(", ")
        ))
    }

    /// One line per service that alarms watch, in plan order.
    fn alarm_lines(&self) -> Vec<String> {
        self.services
            .iter()
            .filter_map(|s| watched_line(&s.service, &s.alarms))
            .collect()
    }

    fn on_cancel_line(&self) -> Option<String> {
        back_to_line(
            "on-cancel: a cancelled run stops every deployment it started with rollback",
            self.on_cancel_targets(),
        )
    }

    fn fail_fast_line(&self) -> Option<String> {
        back_to_line(
            "fail-fast: once 3 tasks of a rolling or ECS-native deployment fail the same way for a reason that will not fix itself and none runs, it is stopped with rollback",
            self.fail_fast_targets(),
        )
    }

    /// The one-line result of the plan stage.
    pub fn headline(&self) -> String {
        let new = self
            .services
            .iter()
            .filter(|s| matches!(s.revision, Revision::New { .. }) && s.same_as.is_none())
            .count();
        let count = |k: DeploymentKind| {
            self.services
                .iter()
                .filter(|s| s.strategy.kind() == k)
                .count()
        };
        let kinds: Vec<String> = [
            (DeploymentKind::Rolling, "rolling"),
            (DeploymentKind::Native, "ECS-native"),
            (DeploymentKind::CodeDeploy, "CodeDeploy"),
        ]
        .into_iter()
        .filter(|(k, _)| count(*k) > 0)
        .map(|(k, name)| format!("{} {name}", count(k)))
        .collect();
        format!(
            "{} service(s) in {}: {new} new revision(s) to register, {} reused; {}",
            self.services.len(),
            last_segment(&self.cluster),
            self.services
                .iter()
                .filter(|s| matches!(
                    s.revision,
                    Revision::Reuse { .. } | Revision::Promote { .. }
                ))
                .count(),
            kinds.join(", ")
        )
    }
}
