//! A service's deployment history: every page of ListServiceDeployments.
//!
//! ListServiceDeployments answers at most `maxResults` (default 20) per
//! call with a `nextToken` while more exist, and documents no order; a busy
//! service has more than one page, so every page is read (bounded) and the
//! caller orders by `createdAt`.

use aws_sdk_ecs::operation::list_service_deployments::ListServiceDeploymentsError;
use aws_sdk_ecs::types::{CreatedAt, ServiceDeploymentBrief, ServiceDeploymentStatus};
use aws_smithy_types::DateTime;

/// More pages than a service plausibly has (100 deployments each).
const MAX_PAGES: usize = 50;

type ListError = crate::error::AwsError<ListServiceDeploymentsError>;

/// Every service deployment of `service` with one of `statuses` (all when
/// empty) created after `created_after` (when given: ECS filters, so a busy
/// service's long history is not read to find one new deployment), newest first.
pub async fn service_deployments(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
    statuses: &[ServiceDeploymentStatus],
    created_after: Option<DateTime>,
) -> Result<Vec<ServiceDeploymentBrief>, ListError> {
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let out = ecs
            .list_service_deployments()
            .cluster(cluster)
            .service(service)
            .set_status((!statuses.is_empty()).then(|| statuses.to_vec()))
            .set_created_at(created_after.map(|t| CreatedAt::builder().after(t).build()))
            .max_results(100)
            .set_next_token(token.clone())
            .send()
            .await?;
        all.extend(out.service_deployments().iter().cloned());
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    all.sort_by_key(|b| std::cmp::Reverse(b.created_at().map(|t| (t.secs(), t.subsec_nanos()))));
    Ok(all)
}
