//! Reading ECS services: batched DescribeServices (10 names per call, the
//! API's limit, batches sent concurrently), with clear errors for missing,
//! inactive or draining services.

use aws_sdk_ecs::types::Service;
use tokio::task::JoinSet;

use anyhow::{Context, anyhow};

use crate::error::{aws_code, aws_failed, aws_message, bad_input};

/// DescribeServices accepts at most this many services per call.
pub const DESCRIBE_SERVICES_BATCH: usize = 10;

/// What one round of DescribeServices found.
#[derive(Debug, Default)]
pub struct Described {
    pub services: Vec<Service>,
    /// `(name, reason)` for names ECS reported as failures (MISSING …).
    pub missing: Vec<(String, String)>,
}

/// Why a DescribeServices round failed.
#[derive(Debug)]
pub enum DescribeError {
    /// Throttling, 5xx, timeouts, connection trouble: try again later.
    Transient(String),
    Fatal(anyhow::Error),
}

pub async fn describe_batched(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    names: &[String],
) -> Result<Described, DescribeError> {
    let mut calls = JoinSet::new();
    for chunk in names.chunks(DESCRIBE_SERVICES_BATCH) {
        let req = ecs
            .describe_services()
            .cluster(cluster)
            .set_services(Some(chunk.to_vec()));
        calls.spawn(async move { req.send().await });
    }
    let mut described = Described::default();
    while let Some(joined) = calls.join_next().await {
        let result = joined
            .context("DescribeServices task failed")
            .map_err(DescribeError::Fatal)?;
        let out = result.map_err(|e| {
            if crate::error::is_transient(&e) {
                return DescribeError::Transient(aws_message(&e));
            }
            DescribeError::Fatal(match aws_code(&e) {
                Some("ClusterNotFoundException") => bad_input(
                    "cluster",
                    format!("cluster `{cluster}` not found: check the name and aws-region"),
                ),
                _ => aws_failed("DescribeServices", &e),
            })
        })?;
        for f in out.failures() {
            let what = f.arn().unwrap_or("?");
            let name = crate::arn::last_segment(what).to_string();
            described
                .missing
                .push((name, f.reason().unwrap_or("MISSING").to_string()));
        }
        described.services.extend(out.services().iter().cloned());
    }
    Ok(described)
}

/// The service called `name` (or with that ARN) among `services`.
pub fn find<'a>(services: &'a [Service], name: &str) -> Option<&'a Service> {
    services
        .iter()
        .find(|s| s.service_name() == Some(name) || s.service_arn() == Some(name))
}

/// Describes `names` in `cluster`, in the order asked; every one must exist and be ACTIVE.
pub async fn describe_services(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    names: &[String],
) -> anyhow::Result<Vec<Service>> {
    let described = describe_batched(ecs, cluster, names)
        .await
        .map_err(|e| match e {
            DescribeError::Transient(m) => anyhow!("DescribeServices failed: {m}"),
            DescribeError::Fatal(e) => e,
        })?;
    if let Some((name, reason)) = described.missing.first() {
        return Err(bad_input(
            "service",
            format!(
                "service `{name}` not found in cluster `{cluster}` ({reason}); check the name, the cluster and aws-region"
            ),
        ));
    }
    let mut ordered = Vec::with_capacity(names.len());
    for name in names {
        let svc = find(&described.services, name).ok_or_else(|| {
            bad_input(
                "service",
                format!("service `{name}` not found in cluster `{cluster}`"),
            )
        })?;
        match svc.status() {
            Some("ACTIVE") | None => {}
            Some(status) => {
                return Err(bad_input(
                    "service",
                    format!(
                        "service `{name}` in cluster `{cluster}` is {status}, not ACTIVE: it was deleted or is being deleted"
                    ),
                ));
            }
        }
        ordered.push(svc.clone());
    }
    Ok(ordered)
}

/// The service's page in the ECS console.
pub fn console_url(region: &str, cluster: &str, service: &str) -> String {
    format!(
        "https://{region}.console.aws.amazon.com/ecs/v2/clusters/{cluster}/services/{service}/deployments?region={region}"
    )
}
