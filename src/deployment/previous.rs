//! Finding what to roll back to: the deployment in progress (back to what
//! ran before it), else the previous revision that deployed successfully
//! (ListServiceDeployments), else — where that API is unavailable — the
//! previous ACTIVE revision of the family.

use crate::arn::last_segment;
use aws_sdk_ecs::types::{
    DeploymentRolloutState, Service, ServiceDeploymentStatus, SortOrder, TaskDefinitionStatus,
};

use anyhow::anyhow;

use crate::error::{OrFailed, aws_message, bad_input};
use crate::plan::RollbackTo;

/// `(family, revision)` of a task-definition ARN or `family:revision`.
fn family_revision(td: &str) -> Option<(&str, i32)> {
    let (family, rev) = last_segment(td).rsplit_once(':')?;
    Some((family, rev.parse().ok()?))
}

/// The revision `svc` goes back to, and why — from the first of: a rolling
/// deployment in progress, the deployment history, the family's lineage.
pub async fn previous_good(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    svc: &Service,
) -> anyhow::Result<RollbackTo> {
    let name = svc.service_name().unwrap_or_default().to_string();
    let current = svc.task_definition().unwrap_or_default().to_string();
    let plan = |(to, why): (String, String)| RollbackTo {
        service: name.clone(),
        from: current.clone(),
        to,
        why,
    };
    if let Some(found) = before_rollout(svc, &current) {
        return Ok(plan(found));
    }
    match successful_revisions(ecs, cluster, &name).await {
        Ok(history) => history
            .into_iter()
            .find(|(td, _)| last_segment(td) != last_segment(&current))
            .map(|(td, when)| {
                let why = format!("the last successful deployment before the current revision ({when})");
                plan((td, why))
            })
            .ok_or_else(|| {
                bad_input("service", format!(
                        "nothing to roll back to: service {name} has no successful deployment of a revision other than {}",
                        last_segment(&current)
                    ))
            }),
        Err(HistoryUnavailable(reason)) => lineage(ecs, &current, &reason).await.map(plan),
    }
}

/// First: a rolling deployment in progress goes back to what ran before it.
fn before_rollout(svc: &Service, current: &str) -> Option<(String, String)> {
    let primary = svc
        .deployments()
        .iter()
        .find(|d| d.status() == Some("PRIMARY"))
        .filter(|p| p.rollout_state() == Some(&DeploymentRolloutState::InProgress))?;
    let previous = svc.deployments().iter().find(|d| {
        d.status() == Some("ACTIVE") && d.task_definition().is_some_and(|t| t != current)
    })?;
    let to = previous.task_definition().unwrap_or_default().to_string();
    let why = format!(
        "deployment {} is in progress; {} was running before it",
        primary.id().unwrap_or("?"),
        last_segment(&to)
    );
    Some((to, why))
}

/// Last: the family's previous ACTIVE revision, where the service-deployment
/// API is not available (every page of ListTaskDefinitions, newest first).
async fn lineage(
    ecs: &aws_sdk_ecs::Client,
    current: &str,
    reason: &str,
) -> anyhow::Result<(String, String)> {
    let (family, revision) =
        family_revision(current).ok_or_else(|| anyhow!("cannot read the revision of {current}"))?;
    let mut pages = ecs
        .list_task_definitions()
        .family_prefix(family)
        .status(TaskDefinitionStatus::Active)
        .sort(SortOrder::Desc)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.or_failed("ListTaskDefinitions")?;
        let earlier = page
            .task_definition_arns()
            .iter()
            .find(|arn| family_revision(arn).is_some_and(|(f, r)| f == family && r < revision));
        if let Some(arn) = earlier {
            let why = format!(
                "the previous ACTIVE revision of {family} (no deployment history: {reason})"
            );
            return Ok((arn.clone(), why));
        }
    }
    Err(bad_input(
        "service",
        format!("nothing to roll back to: {family} has no ACTIVE revision before {revision}"),
    ))
}

struct HistoryUnavailable(String);

/// Task definitions of the service's SUCCESSFUL deployments, newest first, with when they started.
async fn successful_revisions(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
) -> Result<Vec<(String, String)>, HistoryUnavailable> {
    let briefs = super::history::service_deployments(
        ecs,
        cluster,
        service,
        &[ServiceDeploymentStatus::Successful],
        None,
    )
    .await
    .map_err(|e| HistoryUnavailable(aws_message(&e)))?;
    let arns: Vec<String> = briefs
        .iter()
        .filter_map(|b| b.target_service_revision_arn().map(str::to_string))
        .collect();
    let mut revisions = Vec::new();
    // DescribeServiceRevisions takes 20 ARNs per call.
    for chunk in arns.chunks(20) {
        let out = ecs
            .describe_service_revisions()
            .set_service_revision_arns(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| HistoryUnavailable(aws_message(&e)))?;
        revisions.extend(out.service_revisions().iter().cloned());
    }
    Ok(briefs
        .iter()
        .filter_map(|b| {
            let rev = revisions
                .iter()
                .find(|r| r.service_revision_arn() == b.target_service_revision_arn())?;
            let when = b.created_at().map(|t| t.to_string()).unwrap_or_default();
            Some((rev.task_definition()?.to_string(), when))
        })
        .collect())
}
