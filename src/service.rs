//! Reading ECS services: batched DescribeServices (10 names per call, the
//! API's limit), with clear errors for missing, inactive or draining services.

use aws_sdk_ecs::types::Service;
use tokio::task::JoinSet;

use crate::error::{Failure, aws_code, aws_message};

/// DescribeServices accepts at most this many services per call.
pub const DESCRIBE_SERVICES_BATCH: usize = 10;

/// Describes `names` in `cluster`, in the order asked; every one must exist and be ACTIVE.
pub async fn describe_services(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    names: &[String],
) -> Result<Vec<Service>, Failure> {
    let mut calls = JoinSet::new();
    for (i, chunk) in names.chunks(DESCRIBE_SERVICES_BATCH).enumerate() {
        let req = ecs
            .describe_services()
            .cluster(cluster)
            .set_services(Some(chunk.to_vec()));
        calls.spawn(async move { (i, req.send().await) });
    }
    let mut answers = Vec::new();
    while let Some(joined) = calls.join_next().await {
        let (i, result) = joined.map_err(|e| {
            Failure::failed("service", format!("DescribeServices task failed: {e}"))
        })?;
        let out = result.map_err(|e| match aws_code(&e) {
            Some("ClusterNotFoundException") => Failure::input(
                "cluster",
                format!("cluster `{cluster}` not found: check the name and aws-region"),
            ),
            _ => Failure::failed(
                "service",
                format!("DescribeServices failed: {}", aws_message(&e)),
            ),
        })?;
        answers.push((i, out));
    }
    answers.sort_by_key(|(i, _)| *i);
    let mut found: Vec<Service> = Vec::new();
    for (_, out) in answers {
        if let Some(f) = out.failures().first() {
            let what = f.arn().unwrap_or("?");
            let name = what.rsplit('/').next().unwrap_or(what);
            return Err(Failure::input(
                "service",
                format!(
                    "service `{name}` not found in cluster `{cluster}` ({}); check the name, the cluster and aws-region",
                    f.reason().unwrap_or("MISSING")
                ),
            ));
        }
        found.extend(out.services().iter().cloned());
    }
    let mut ordered = Vec::with_capacity(names.len());
    for name in names {
        let svc = found
            .iter()
            .find(|s| {
                s.service_name() == Some(name.as_str()) || s.service_arn() == Some(name.as_str())
            })
            .ok_or_else(|| {
                Failure::input(
                    "service",
                    format!("service `{name}` not found in cluster `{cluster}`"),
                )
            })?;
        match svc.status() {
            Some("ACTIVE") | None => {}
            Some(status) => {
                return Err(Failure::input(
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
