//! Moving the scheduled tasks, as the plan decided, once the deployments
//! succeeded: a rule's targets with PutTargets (each target as it was read,
//! its task definition changed), a schedule with UpdateSchedule (every
//! field it had: UpdateSchedule replaces the whole schedule).

use std::collections::HashMap;

use anyhow::anyhow;
use futures_util::{StreamExt, stream};

use super::read::Clients;
use super::{Body, Decision, Place, ScheduledTask};
use crate::arn::last_segment;
use crate::error::OrFailed;

/// At most this many updates at once: EventBridge's and Scheduler's
/// mutating calls have lower rate limits than their reads.
const UPDATES_AT_ONCE: usize = 5;

/// The tasks of one rule or one schedule, each with where it moves.
type Batch = Vec<(ScheduledTask, String)>;

/// What the moves did: one line per task moved (or already there), and one
/// per task that could not be moved, with AWS's reason.
#[derive(Debug, Default)]
pub struct Moved {
    pub moved: Vec<String>,
    pub failed: Vec<String>,
}

/// Makes the plan's moves; `deployed` maps a family to the task definition
/// ARN this run deployed for it (deploy's `Move { to: None }`).
pub async fn move_all(
    clients: Clients<'_>,
    decisions: &[Decision],
    deployed: &HashMap<String, String>,
) -> Moved {
    // One PutTargets per rule (a rule has at most five targets), one
    // UpdateSchedule per schedule.
    let mut calls: Vec<(Place, Batch)> = Vec::new();
    let mut moved = Moved::default();
    for d in decisions {
        let Decision::Move { task, to } = d else {
            continue;
        };
        let Some(to) = to.clone().or_else(|| deployed.get(task.family()).cloned()) else {
            moved.failed.push(format!(
                "{}: no revision of {} was deployed",
                task.name(),
                task.family()
            ));
            continue;
        };
        if last_segment(&to) == last_segment(&task.task_definition) {
            moved
                .moved
                .push(format!("{}: already on {}", task.name(), last_segment(&to)));
            continue;
        }
        match calls.iter_mut().find(|(p, _)| *p == task.place) {
            Some((_, tasks)) => tasks.push((task.clone(), to)),
            None => calls.push((task.place.clone(), vec![(task.clone(), to)])),
        }
    }
    let results: Vec<(Batch, anyhow::Result<()>)> = stream::iter(calls)
        .map(|(place, tasks)| async move {
            let done = update(clients, &place, &tasks).await;
            (tasks, done)
        })
        .buffer_unordered(UPDATES_AT_ONCE)
        .collect()
        .await;
    for (tasks, done) in results {
        for (task, to) in tasks {
            let line = format!(
                "{}: {} → {}",
                task.name(),
                last_segment(&task.task_definition),
                last_segment(&to)
            );
            match &done {
                Ok(()) => moved.moved.push(line),
                Err(e) => moved.failed.push(format!("{line} failed: {e:#}")),
            }
        }
    }
    moved.moved.sort();
    moved.failed.sort();
    moved
}

/// Whether `date` is still to come.
fn is_ahead(date: &aws_smithy_types::DateTime) -> bool {
    let now = aws_smithy_types::DateTime::from(std::time::SystemTime::now());
    date.secs() > now.secs()
}

/// The one call that moves `tasks`, all of one rule or one schedule.
async fn update(
    clients: Clients<'_>,
    place: &Place,
    tasks: &[(ScheduledTask, String)],
) -> anyhow::Result<()> {
    match place {
        Place::Rule { bus, name } => {
            let targets = tasks.iter().filter_map(|(task, to)| match &task.body {
                Body::Rule(target) => {
                    let mut target = (**target).clone();
                    if let Some(ecs) = target.ecs_parameters.as_mut() {
                        ecs.task_definition_arn = to.clone();
                    }
                    Some(target)
                }
                Body::Schedule(_) => None,
            });
            let out = clients
                .events
                .put_targets()
                .rule(name)
                .event_bus_name(bus)
                .set_targets(Some(targets.collect()))
                .send()
                .await
                .or_failed("events:PutTargets")?;
            match out.failed_entries().first() {
                None if out.failed_entry_count() == 0 => Ok(()),
                first => Err(anyhow!(
                    "events:PutTargets failed for {} target(s): {}",
                    out.failed_entry_count(),
                    first.map_or("no detail".to_string(), |f| format!(
                        "{}: {}",
                        f.error_code().unwrap_or("?"),
                        f.error_message().unwrap_or("")
                    ))
                )),
            }
        }
        Place::Schedule { .. } => {
            let Some((
                ScheduledTask {
                    body: Body::Schedule(schedule),
                    ..
                },
                to,
            )) = tasks.first()
            else {
                return Err(anyhow!("no schedule was read"));
            };
            update_schedule(clients.scheduler, schedule, to).await
        }
    }
}

/// UpdateSchedule with every field the schedule had, its ECS target's task
/// definition changed — but a `StartDate` already past: CreateSchedule
/// refuses one earlier than five minutes ago, UpdateSchedule documents no
/// exception, and a start that has passed constrains nothing, so it is
/// left out rather than risk a refusal.
async fn update_schedule(
    scheduler: &aws_sdk_scheduler::Client,
    s: &aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput,
    to: &str,
) -> anyhow::Result<()> {
    let mut target = s.target().cloned();
    if let Some(ecs) = target.as_mut().and_then(|t| t.ecs_parameters.as_mut()) {
        ecs.task_definition_arn = to.to_string();
    }
    scheduler
        .update_schedule()
        .set_name(s.name().map(str::to_string))
        .set_group_name(s.group_name().map(str::to_string))
        .set_schedule_expression(s.schedule_expression().map(str::to_string))
        .set_schedule_expression_timezone(s.schedule_expression_timezone().map(str::to_string))
        .set_start_date(s.start_date().filter(|d| is_ahead(d)).cloned())
        .set_end_date(s.end_date().cloned())
        .set_description(s.description().map(str::to_string))
        .set_state(s.state().cloned())
        .set_kms_key_arn(s.kms_key_arn().map(str::to_string))
        .set_flexible_time_window(s.flexible_time_window().cloned())
        .set_action_after_completion(s.action_after_completion().cloned())
        .set_target(target)
        .send()
        .await
        .or_failed("scheduler:UpdateSchedule")?;
    Ok(())
}
