//! Scheduled tasks moved with the release: the EventBridge rules' ECS
//! targets and the EventBridge Scheduler schedules that run a deployed
//! family in the cluster. What is found is read before anything changes
//! (`read`), what happens to each is decided here from what was read (pure),
//! and the moves are made once the deployments succeeded (`apply`).

pub mod apply;
pub mod read;

use std::fmt;

use crate::arn::last_segment;

/// Where a scheduled task lives: a rule on an event bus, or a schedule in
/// a schedule group (each `default` unless named).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Place {
    Rule { bus: String, name: String },
    Schedule { group: String, name: String },
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rule { bus, name } if bus == "default" => write!(f, "rule/{name}"),
            Self::Rule { bus, name } => write!(f, "rule/{bus}/{name}"),
            Self::Schedule { group, name } => write!(f, "schedule/{group}/{name}"),
        }
    }
}

impl Place {
    /// One entry of `scheduled-tasks` / `scheduled-tasks-exclude`:
    /// `rule/NAME`, `rule/BUS/NAME`, `schedule/NAME`, `schedule/GROUP/NAME`,
    /// or the rule's or schedule's ARN.
    pub fn parse(entry: &str) -> Result<Self, String> {
        let resource = match entry.strip_prefix("arn:") {
            Some(rest) => rest.splitn(5, ':').nth(4).unwrap_or_default(),
            None => entry,
        };
        let (kind, path) = resource.split_once('/').unwrap_or((resource, ""));
        let parts: Vec<&str> = path.split('/').collect();
        let place = |outer: &str, name: &str| match kind {
            "rule" => Some(Self::Rule {
                bus: outer.to_string(),
                name: name.to_string(),
            }),
            "schedule" => Some(Self::Schedule {
                group: outer.to_string(),
                name: name.to_string(),
            }),
            _ => None,
        };
        let parsed = match parts.as_slice() {
            [name] if !name.is_empty() => place("default", name),
            [outer, name] if !outer.is_empty() && !name.is_empty() => place(outer, name),
            _ => None,
        };
        parsed.ok_or_else(|| {
            format!(
                "`{entry}` names no rule or schedule: write rule/NAME, rule/BUS/NAME, schedule/NAME, schedule/GROUP/NAME or its ARN"
            )
        })
    }
}

/// `scheduled-tasks` (and `scheduled-tasks-exclude`) as given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// `auto`: every rule target and schedule that runs a deployed family
    /// in the cluster.
    pub auto: bool,
    pub named: Vec<Place>,
    pub exclude: Vec<Place>,
}

/// One ECS target of a rule, or one schedule, as read.
#[derive(Debug, Clone)]
pub struct ScheduledTask {
    pub place: Place,
    /// The task definition it runs now (an ARN, with or without revision).
    pub task_definition: String,
    pub body: Body,
}

/// What is written back, the task definition changed and all else kept.
#[derive(Debug, Clone)]
pub enum Body {
    /// The rule's target, as ListTargetsByRule answered it.
    Rule(Box<aws_sdk_eventbridge::types::Target>),
    /// The schedule, as GetSchedule answered it.
    Schedule(Box<aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput>),
}

impl ScheduledTask {
    /// `rule/nightly (target etl)` or `schedule/default/hourly`.
    pub fn name(&self) -> String {
        match &self.body {
            Body::Rule(t) => format!("{} (target {})", self.place, t.id()),
            Body::Schedule(_) => self.place.to_string(),
        }
    }

    /// The cluster it runs its task in (its target's ARN).
    pub fn cluster(&self) -> Option<&str> {
        match &self.body {
            Body::Rule(t) => Some(t.arn()),
            Body::Schedule(s) => s.target().map(|t| t.arn()),
        }
    }

    /// The family it runs (`web` of `…:task-definition/web:3`).
    pub fn family(&self) -> &str {
        family_of(&self.task_definition)
    }

    /// Its revision, `None` when it names the family only (then EventBridge
    /// runs the family's latest ACTIVE revision).
    pub fn revision(&self) -> Option<&str> {
        last_segment(&self.task_definition)
            .split_once(':')
            .map(|(_, r)| r)
    }
}

/// The family of a task definition ARN or `family:revision`.
pub fn family_of(task_definition: &str) -> &str {
    let short = last_segment(task_definition);
    short.split_once(':').map_or(short, |(f, _)| f)
}

/// What a run does with one scheduled task.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Moved to `to` once the deployments succeeded: a task definition ARN
    /// (rollback), or `None` for the revision this deploy registers or
    /// reuses for the family.
    Move {
        task: ScheduledTask,
        to: Option<String>,
    },
    /// Left as it is, with why.
    Leave { task: ScheduledTask, why: String },
}

impl Decision {
    pub fn task(&self) -> &ScheduledTask {
        match self {
            Self::Move { task, .. } | Self::Leave { task, .. } => task,
        }
    }

    /// The plan's line.
    pub fn line(&self) -> String {
        let task = self.task();
        let on = last_segment(&task.task_definition);
        match self {
            Self::Move { to: Some(to), .. } => format!(
                "scheduled task {}: move from {on} to {} once the deployments succeeded",
                task.name(),
                last_segment(to)
            ),
            Self::Move { to: None, .. } => format!(
                "scheduled task {}: move from {on} to the revision deployed for {} once the deployments succeeded",
                task.name(),
                task.family()
            ),
            Self::Leave { why, .. } => {
                format!("scheduled task {}: left on {on} ({why})", task.name())
            }
        }
    }
}

/// What a deploy does with what was found: each task that names a
/// revision moves to the family's deployed one, unless excluded.
pub fn decide_deploy(found: Vec<ScheduledTask>, exclude: &[Place]) -> Vec<Decision> {
    found
        .into_iter()
        .map(|task| {
            if exclude.contains(&task.place) {
                Decision::Leave {
                    task,
                    why: "scheduled-tasks-exclude".into(),
                }
            } else if task.revision().is_none() {
                Decision::Leave {
                    task,
                    why: "it names the family without a revision, so it runs the latest ACTIVE one"
                        .into(),
                }
            } else {
                Decision::Move { task, to: None }
            }
        })
        .collect()
}

/// What a rollback does: a task on a service's current revision (`from`)
/// goes back with it to `to`; any other is left where it is.
pub fn decide_rollback(
    found: Vec<ScheduledTask>,
    exclude: &[Place],
    back: &[(String, String)],
) -> Vec<Decision> {
    found
        .into_iter()
        .map(|task| {
            let with = back
                .iter()
                .find(|(from, _)| last_segment(from) == last_segment(&task.task_definition));
            match with {
                _ if exclude.contains(&task.place) => Decision::Leave {
                    task,
                    why: "scheduled-tasks-exclude".into(),
                },
                Some((_, to)) => Decision::Move {
                    task,
                    to: Some(to.clone()),
                },
                None => Decision::Leave {
                    task,
                    why: "not on a revision this rollback moves a service from".into(),
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
