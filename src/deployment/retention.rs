//! Retiring old task definition revisions after a successful deploy
//! (`keep-revisions`, `delete-revisions`): of each deployed family, the
//! newest N ACTIVE revisions are kept and the older ones deregistered —
//! never one in use: by a service of the cluster (its task definition or
//! any of its deployments'), by a task running there, or named by the plan
//! (the revisions deployed and those a rollback returns to). With
//! `delete-revisions`, the family's INACTIVE revisions not in use are
//! deleted too (DeleteTaskDefinitions, ten at a time).

use std::collections::BTreeMap;

use anyhow::{Context, anyhow};
use aws_sdk_ecs::types::{DesiredStatus, TaskDefinitionStatus};
use futures_util::StreamExt;

use crate::arn::last_segment;
use crate::error::OrFailed;
use crate::inputs::Retention;

/// DeleteTaskDefinitions takes at most this many revisions per call.
const DELETE_BATCH: usize = 10;
/// Deregistrations in flight at once (ECS throttles writes well below reads).
const DEREGISTER_AT_ONCE: usize = 5;

/// A revision's number, from `family:revision` or its ARN.
fn revision_of(arn: &str) -> Option<(String, u32)> {
    let (family, revision) = last_segment(arn).rsplit_once(':')?;
    Some((family.to_string(), revision.parse().ok()?))
}

/// What one family keeps and retires, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FamilyDecision {
    pub family: String,
    /// The newest N, by revision number.
    pub newest: Vec<u32>,
    /// Older ones kept because something uses them: (revision, by what).
    pub in_use: Vec<(u32, String)>,
    pub deregister: Vec<u32>,
    /// INACTIVE ones to delete (with `delete-revisions`).
    pub delete: Vec<u32>,
}

/// The decision for one family, from its ACTIVE and INACTIVE revisions and
/// what uses which (`users`: `family:revision` → who).
pub fn decide(
    family: &str,
    active: &[u32],
    inactive: &[u32],
    users: &BTreeMap<String, String>,
    retention: Retention,
) -> FamilyDecision {
    let mut active = active.to_vec();
    active.sort_unstable_by(|a, b| b.cmp(a));
    let keep = retention.keep as usize;
    let used = |r: u32| users.get(&format!("{family}:{r}")).cloned();
    let mut d = FamilyDecision {
        family: family.to_string(),
        newest: active.iter().take(keep).copied().collect(),
        ..Default::default()
    };
    for &r in active.iter().skip(keep) {
        match used(r) {
            Some(by) => d.in_use.push((r, by)),
            None => d.deregister.push(r),
        }
    }
    if retention.delete {
        let mut gone: Vec<u32> = inactive.iter().chain(&d.deregister).copied().collect();
        gone.retain(|&r| used(r).is_none());
        gone.sort_unstable();
        gone.dedup();
        d.delete = gone;
    }
    d.deregister.sort_unstable();
    d.in_use.sort_unstable();
    d
}

impl FamilyDecision {
    /// One line for people: what was retired, what was kept and why.
    pub fn line(&self) -> String {
        let list = |rs: &[u32]| {
            rs.iter()
                .map(|r| format!("{}:{r}", self.family))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut parts = vec![format!(
            "kept the newest {} ({})",
            self.newest.len(),
            list(&self.newest)
        )];
        for (r, by) in &self.in_use {
            parts.push(format!("kept {}:{r} (in use by {by})", self.family));
        }
        parts.push(match self.deregister.as_slice() {
            [] => "deregistered nothing".to_string(),
            rs => format!("deregistered {}", list(rs)),
        });
        if !self.delete.is_empty() {
            parts.push(format!("deleted {}", list(&self.delete)));
        }
        format!("{}: {}", self.family, parts.join("; "))
    }
}

/// The revision numbers of `family` in `status`, every page.
async fn revisions(
    ecs: &aws_sdk_ecs::Client,
    family: &str,
    status: TaskDefinitionStatus,
) -> anyhow::Result<Vec<u32>> {
    let mut pages = ecs
        .list_task_definitions()
        .family_prefix(family)
        .status(status)
        .into_paginator()
        .send();
    let mut found = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.or_failed(format!("ListTaskDefinitions {family}"))?;
        found.extend(
            page.task_definition_arns()
                .iter()
                .filter_map(|a| revision_of(a))
                .filter(|(f, _)| f == family)
                .map(|(_, r)| r),
        );
    }
    Ok(found)
}

/// `family:revision` of an ARN, for the map of what uses which.
fn key_of(arn: &str) -> Option<String> {
    revision_of(arn).map(|(f, r)| format!("{f}:{r}"))
}

/// What the cluster's services use: each one's task definition and its
/// deployments'.
async fn used_by_services(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut names = Vec::new();
    let mut pages = ecs.list_services().cluster(cluster).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.or_failed("ListServices")?;
        names.extend(
            page.service_arns()
                .iter()
                .map(|a| last_segment(a).to_string()),
        );
    }
    let mut used = Vec::new();
    for svc in crate::service::describe_services(ecs, cluster, &names).await? {
        let name = svc.service_name().unwrap_or("?").to_string();
        let tds = svc
            .task_definition()
            .into_iter()
            .chain(svc.deployments().iter().filter_map(|d| d.task_definition()));
        used.extend(tds.map(|td| (td.to_string(), format!("service {name}"))));
    }
    Ok(used)
}

/// What the tasks running in the cluster use.
async fn used_by_tasks(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut arns = Vec::new();
    let mut pages = ecs
        .list_tasks()
        .cluster(cluster)
        .desired_status(DesiredStatus::Running)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.or_failed("ListTasks")?;
        arns.extend(page.task_arns().iter().cloned());
    }
    let mut used = Vec::new();
    for chunk in arns.chunks(super::stopped::DESCRIBE_TASKS_BATCH) {
        let out = ecs
            .describe_tasks()
            .cluster(cluster)
            .set_tasks(Some(chunk.to_vec()))
            .send()
            .await
            .or_failed("DescribeTasks")?;
        used.extend(out.tasks().iter().map(|t| {
            let id = t.task_arn().map(last_segment).unwrap_or("?");
            let td = t.task_definition_arn().unwrap_or("").to_string();
            (td, format!("running task {id}"))
        }));
    }
    Ok(used)
}

/// One family's ACTIVE revisions and (with `delete`) its INACTIVE ones.
async fn family_revisions(
    ecs: &aws_sdk_ecs::Client,
    family: &str,
    delete: bool,
) -> anyhow::Result<(Vec<u32>, Vec<u32>)> {
    let inactive = async {
        match delete {
            true => revisions(ecs, family, TaskDefinitionStatus::Inactive).await,
            false => Ok(Vec::new()),
        }
    };
    let (active, inactive) = tokio::join!(
        revisions(ecs, family, TaskDefinitionStatus::Active),
        inactive
    );
    Ok((active?, inactive?))
}

/// Decides for each family and carries it out: deregistrations a few at a
/// time, then the deletions ten at a time. Returns the decisions (what was
/// done), or the first error with what was done before it.
pub async fn retire(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    families: &[String],
    named: &[(String, String)],
    elsewhere: impl std::future::Future<Output = anyhow::Result<Vec<(String, String)>>>,
    retention: Retention,
) -> anyhow::Result<Vec<FamilyDecision>> {
    // Every read at once: what the services, the tasks and `elsewhere` (the
    // scheduled tasks) use, and each family's revisions.
    let listed = futures_util::future::try_join_all(
        families
            .iter()
            .map(|f| family_revisions(ecs, f, retention.delete)),
    );
    let (services, tasks, elsewhere, listed) = tokio::join!(
        used_by_services(ecs, cluster),
        used_by_tasks(ecs, cluster),
        elsewhere,
        listed
    );
    let context = "reading what uses which revision";
    // The plan's own names first: the reason a revision is kept is theirs.
    let mut users: BTreeMap<String, String> = BTreeMap::new();
    let used = named
        .iter()
        .cloned()
        .chain(services.context(context)?)
        .chain(tasks.context(context)?)
        .chain(elsewhere?);
    for (arn, by) in used {
        if let Some(key) = key_of(&arn) {
            users.entry(key).or_insert(by);
        }
    }
    let decisions: Vec<FamilyDecision> = families
        .iter()
        .zip(listed?)
        .map(|(family, (active, inactive))| decide(family, &active, &inactive, &users, retention))
        .collect();
    carry_out(ecs, &decisions).await?;
    Ok(decisions)
}

/// Deregisters what `decisions` retire, a few at a time, then deletes what
/// they delete, ten a call; the first error ends it.
async fn carry_out(ecs: &aws_sdk_ecs::Client, decisions: &[FamilyDecision]) -> anyhow::Result<()> {
    let all: Vec<String> = decisions
        .iter()
        .flat_map(|d| {
            d.deregister
                .iter()
                .map(move |r| format!("{}:{r}", d.family))
        })
        .collect();
    let deregistered = futures_util::stream::iter(all.iter().map(|td| async move {
        ecs.deregister_task_definition()
            .task_definition(td)
            .send()
            .await
            .or_failed(format!("DeregisterTaskDefinition {td}"))
    }))
    .buffer_unordered(DEREGISTER_AT_ONCE)
    .collect::<Vec<_>>()
    .await;
    deregistered
        .into_iter()
        .collect::<anyhow::Result<Vec<_>>>()?;
    let doomed: Vec<String> = decisions
        .iter()
        .flat_map(|d| d.delete.iter().map(move |r| format!("{}:{r}", d.family)))
        .collect();
    for batch in doomed.chunks(DELETE_BATCH) {
        let out = ecs
            .delete_task_definitions()
            .set_task_definitions(Some(batch.to_vec()))
            .send()
            .await
            .or_failed("DeleteTaskDefinitions")?;
        if let Some(f) = out.failures().first() {
            return Err(anyhow!(
                "DeleteTaskDefinitions refused {}: {}",
                f.arn().unwrap_or("?"),
                f.reason().unwrap_or("no reason given")
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_newest_are_kept_and_older_ones_in_use_too() {
        let used = users(&[("web:2", "service worker"), ("web:9", "service web")]);
        let keep = Retention {
            keep: 3,
            delete: false,
        };
        let d = decide("web", &[1, 2, 3, 4, 5, 6, 7, 8, 9], &[], &used, keep);
        assert_eq!(d.newest, [9, 8, 7]);
        assert_eq!(d.in_use, [(2, "service worker".to_string())]);
        assert_eq!(d.deregister, [1, 3, 4, 5, 6]);
        assert!(d.delete.is_empty(), "delete-revisions is off");
        assert_eq!(
            d.line(),
            "web: kept the newest 3 (web:9, web:8, web:7); kept web:2 (in use by service worker); deregistered web:1, web:3, web:4, web:5, web:6"
        );
    }

    #[test]
    fn deletion_takes_inactive_ones_and_the_deregistered_unless_in_use() {
        let used = users(&[("web:1", "running task 0a1b")]);
        let keep = Retention {
            keep: 1,
            delete: true,
        };
        let d = decide("web", &[3, 4], &[1, 2], &used, keep);
        assert_eq!(d.deregister, [3]);
        assert_eq!(d.delete, [2, 3], "web:1 still runs a task");
    }

    #[test]
    fn fewer_revisions_than_kept_retire_nothing() {
        let d = decide(
            "web",
            &[1, 2],
            &[],
            &users(&[]),
            Retention {
                keep: 5,
                delete: false,
            },
        );
        assert!(d.deregister.is_empty());
        assert!(d.line().ends_with("deregistered nothing"));
    }

    #[test]
    fn revisions_come_out_of_arns_and_short_names() {
        assert_eq!(
            revision_of("arn:aws:ecs:eu-west-1:123456789012:task-definition/web:12"),
            Some(("web".into(), 12))
        );
        assert_eq!(revision_of("worker:3"), Some(("worker".into(), 3)));
        assert_eq!(revision_of("web"), None);
    }
}
