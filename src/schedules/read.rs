//! Finding the scheduled tasks: by name, or every one whose ECS target is
//! the cluster (`auto`). Reads only, concurrent and paginated. A rule's
//! targets come from ListTargetsByRule, the rules that name the cluster
//! from ListRuleNamesByTarget; a schedule from GetSchedule, those that name
//! the cluster from ListSchedules (whose summaries carry the target's ARN).

use anyhow::Context;
use futures_util::{StreamExt, TryStreamExt, stream};

use super::{Body, Place, ScheduledTask, Selection};
use crate::error::{OrFailed, aws_code, aws_failed, bad_input};

/// At most this many reads at once (EventBridge and Scheduler throttle
/// per account; a cluster with many schedules stays under it).
const READS_AT_ONCE: usize = 8;

/// The two clients the scheduled tasks are read and moved with.
#[derive(Clone, Copy)]
pub struct Clients<'a> {
    pub events: &'a aws_sdk_eventbridge::Client,
    pub scheduler: &'a aws_sdk_scheduler::Client,
}

/// The scheduled tasks `selection` names that run one of `families` in the
/// cluster; `None` when not asked (none without a cluster to search).
pub async fn of_families(
    clients: Clients<'_>,
    selection: Option<&Selection>,
    cluster_arn: Option<&str>,
    families: impl IntoIterator<Item = String>,
) -> anyhow::Result<Option<Vec<ScheduledTask>>> {
    let Some(selection) = selection else {
        return Ok(None);
    };
    let Some(cluster_arn) = cluster_arn else {
        return Ok(Some(Vec::new()));
    };
    let mut distinct: Vec<String> = Vec::new();
    for family in families {
        if !distinct.contains(&family) {
            distinct.push(family);
        }
    }
    select(clients, selection, cluster_arn, &distinct)
        .await
        .map(Some)
}

/// The scheduled tasks `selection` names that run the family a service
/// runs now, in the services' cluster (rollback, continue).
pub async fn of_services(
    clients: Clients<'_>,
    selection: Option<&Selection>,
    services: &[aws_sdk_ecs::types::Service],
) -> anyhow::Result<Option<Vec<ScheduledTask>>> {
    let cluster_arn = services.iter().find_map(|s| s.cluster_arn());
    let families = services
        .iter()
        .map(|s| super::family_of(s.task_definition().unwrap_or_default()).to_string());
    of_families(clients, selection, cluster_arn, families).await
}

/// What `selection` names among the tasks that run one of `families` in
/// the cluster: a named one that does not exist, or does not run a
/// deployed family there, is bad input.
pub async fn select(
    clients: Clients<'_>,
    selection: &Selection,
    cluster_arn: &str,
    families: &[String],
) -> anyhow::Result<Vec<ScheduledTask>> {
    let runs_ours = |t: &ScheduledTask| families.iter().any(|f| f == t.family());
    // The search (`auto`) and the named reads at once.
    let searched = async {
        match selection.auto {
            true => in_cluster(clients, cluster_arn).await,
            false => Ok(Vec::new()),
        }
    };
    let named = read_each(&selection.named, |place| async move {
        let tasks = by_place(clients, place, cluster_arn).await?;
        let ours: Vec<ScheduledTask> = tasks.into_iter().filter(runs_ours).collect();
        if ours.is_empty() {
            return Err(bad_input(
                "scheduled-tasks",
                format!(
                    "input `scheduled-tasks`: {place} runs no task of {} in cluster {}: name a rule or schedule whose ECS target does, or remove it",
                    families.join(", "),
                    crate::arn::last_segment(cluster_arn)
                ),
            ));
        }
        Ok(ours)
    });
    let (searched, named) = tokio::join!(searched, named);
    let (searched, named) = (searched?, named?);
    let mut found: Vec<ScheduledTask> = searched.into_iter().filter(runs_ours).collect();
    for task in named {
        if !found.iter().any(|f| f.name() == task.name()) {
            found.push(task);
        }
    }
    Ok(found)
}

/// Every rule target and schedule whose ECS target is the cluster, any family.
pub async fn in_cluster(
    clients: Clients<'_>,
    cluster_arn: &str,
) -> anyhow::Result<Vec<ScheduledTask>> {
    let (rules, schedules) = tokio::join!(
        rules_in_cluster(clients.events, cluster_arn),
        schedules_in_cluster(clients.scheduler, cluster_arn)
    );
    let mut all = rules?;
    all.extend(schedules?);
    Ok(all)
}

/// The ECS targets of one named rule or schedule that run in the cluster;
/// one that does not exist is bad input.
async fn by_place(
    clients: Clients<'_>,
    place: &Place,
    cluster_arn: &str,
) -> anyhow::Result<Vec<ScheduledTask>> {
    match place {
        Place::Rule { bus, name } => rule_targets(clients.events, bus, name, cluster_arn).await,
        Place::Schedule { group, name } => {
            let task = schedule(clients.scheduler, group, name).await?;
            Ok(task
                .filter(|t| runs_in(t, cluster_arn))
                .into_iter()
                .collect())
        }
    }
}

fn runs_in(task: &ScheduledTask, cluster_arn: &str) -> bool {
    match &task.body {
        Body::Rule(t) => t.arn() == cluster_arn,
        Body::Schedule(s) => s.target().is_some_and(|t| t.arn() == cluster_arn),
    }
}

async fn rules_in_cluster(
    events: &aws_sdk_eventbridge::Client,
    cluster_arn: &str,
) -> anyhow::Result<Vec<ScheduledTask>> {
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let out = events
            .list_rule_names_by_target()
            .target_arn(cluster_arn)
            .set_next_token(token)
            .send()
            .await
            .or_failed("events:ListRuleNamesByTarget")?;
        names.extend(out.rule_names().iter().cloned());
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    read_each(names, |name| async move {
        rule_targets(events, "default", &name, cluster_arn).await
    })
    .await
}

/// `read` of each item, at most [`READS_AT_ONCE`] at a time, what each
/// found in the items' order; the first error ends it.
async fn read_each<I, F, Fut, C>(items: I, read: F) -> anyhow::Result<Vec<C::Item>>
where
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<C>>,
    C: IntoIterator,
{
    let found = stream::iter(items)
        .map(read)
        .buffered(READS_AT_ONCE)
        .try_collect::<Vec<C>>()
        .await?;
    Ok(found.into_iter().flatten().collect())
}

/// A rule's ECS targets in the cluster, every page.
async fn rule_targets(
    events: &aws_sdk_eventbridge::Client,
    bus: &str,
    name: &str,
    cluster_arn: &str,
) -> anyhow::Result<Vec<ScheduledTask>> {
    let place = Place::Rule {
        bus: bus.to_string(),
        name: name.to_string(),
    };
    let mut tasks = Vec::new();
    let mut token = None;
    loop {
        let answer = events
            .list_targets_by_rule()
            .rule(name)
            .event_bus_name(bus)
            .set_next_token(token)
            .send()
            .await;
        let out = answer.map_err(|e| {
            not_found_or(
                e,
                &place,
                "events:ListTargetsByRule",
                &format!(" on event bus {bus}: check its name and bus"),
            )
        })?;
        for target in out.targets() {
            let Some(ecs) = target
                .ecs_parameters()
                .filter(|_| target.arn() == cluster_arn)
            else {
                continue;
            };
            tasks.push(ScheduledTask {
                place: place.clone(),
                task_definition: ecs.task_definition_arn().to_string(),
                body: Body::Rule(Box::new(target.clone())),
            });
        }
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(tasks);
        }
    }
}

async fn schedules_in_cluster(
    scheduler: &aws_sdk_scheduler::Client,
    cluster_arn: &str,
) -> anyhow::Result<Vec<ScheduledTask>> {
    schedules_where(scheduler, |target| target == cluster_arn).await
}

/// The schedules whose target ARN `keep` accepts, each read whole.
async fn schedules_where(
    scheduler: &aws_sdk_scheduler::Client,
    keep: impl Fn(&str) -> bool,
) -> anyhow::Result<Vec<ScheduledTask>> {
    let mut places = Vec::new();
    let mut pages = scheduler.list_schedules().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.or_failed("scheduler:ListSchedules")?;
        for s in page.schedules() {
            if s.target().is_some_and(|t| keep(t.arn())) {
                places.push((
                    s.group_name().unwrap_or("default").to_string(),
                    s.name().unwrap_or_default().to_string(),
                ));
            }
        }
    }
    read_each(places, |(group, name)| async move {
        schedule(scheduler, &group, &name).await
    })
    .await
}

/// One schedule, if its target runs an ECS task; one that does not exist
/// is bad input.
async fn schedule(
    scheduler: &aws_sdk_scheduler::Client,
    group: &str,
    name: &str,
) -> anyhow::Result<Option<ScheduledTask>> {
    let place = Place::Schedule {
        group: group.to_string(),
        name: name.to_string(),
    };
    let answer = scheduler
        .get_schedule()
        .group_name(group)
        .name(name)
        .send()
        .await;
    let out = answer.map_err(|e| {
        not_found_or(
            e,
            &place,
            "scheduler:GetSchedule",
            ": check its name and schedule group",
        )
    })?;
    let task_definition = out
        .target()
        .and_then(|t| t.ecs_parameters())
        .map(|e| e.task_definition_arn().to_string());
    Ok(task_definition.map(|task_definition| ScheduledTask {
        place,
        task_definition,
        body: Body::Schedule(Box::new(out)),
    }))
}

/// A rule or schedule that does not exist is bad input (`said` tells what
/// to check); any other failed read is the run's.
fn not_found_or<E>(
    e: crate::error::AwsError<E>,
    place: &Place,
    action: &str,
    said: &str,
) -> anyhow::Error
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
{
    match aws_code(&e) {
        Some("ResourceNotFoundException") => bad_input(
            "scheduled-tasks",
            format!("input `scheduled-tasks`: {place} does not exist{said}"),
        ),
        _ => aws_failed(format!("{action} of {place}"), &e),
    }
}

/// The revisions scheduled tasks run (for retention), each with why it is
/// kept: those of every cluster of the account and Region, not only this
/// one — a task definition belongs to neither, and a deregistered revision
/// starts no new task wherever a rule or schedule points at it.
pub async fn revisions_in_use(
    clients: Clients<'_>,
    ecs: &aws_sdk_ecs::Client,
    cluster_arn: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    let events = clients.events;
    let rules = async {
        let clusters = cluster_arns(ecs, cluster_arn).await?;
        read_each(clusters, |arn| async move {
            rules_in_cluster(events, &arn).await
        })
        .await
    };
    let (rules, schedules) = tokio::join!(
        rules,
        schedules_where(clients.scheduler, |target| {
            target.starts_with("arn:") && target.contains(":ecs:") && target.contains(":cluster/")
        })
    );
    let mut tasks = rules.context("reading the scheduled tasks of the account's clusters")?;
    tasks.extend(schedules.context("reading the account's schedules")?);
    Ok(tasks
        .iter()
        .filter(|t| t.revision().is_some())
        .map(|t| {
            let of = match t.cluster() {
                Some(other) if other != cluster_arn => {
                    format!(" of cluster {}", crate::arn::last_segment(other))
                }
                _ => String::new(),
            };
            (
                t.task_definition.clone(),
                format!("scheduled task {}{of}", t.name()),
            )
        })
        .collect())
}

/// Every cluster of the account and Region (ListClusters, every page),
/// `cluster_arn` among them.
async fn cluster_arns(ecs: &aws_sdk_ecs::Client, cluster_arn: &str) -> anyhow::Result<Vec<String>> {
    let mut arns = vec![cluster_arn.to_string()];
    let mut pages = ecs.list_clusters().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.or_failed("ecs:ListClusters")?;
        for arn in page.cluster_arns() {
            if !arns.contains(arn) {
                arns.push(arn.clone());
            }
        }
    }
    Ok(arns)
}
