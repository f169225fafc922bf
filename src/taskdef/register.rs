//! Idempotent registration: a rendered definition equal (after
//! normalisation) to the latest ACTIVE revision of its family reuses it.

use serde_json::Value;

use super::api;
use super::normalize::equivalent;
use crate::error::Failure;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub arn: String,
    /// True when the latest revision already had this content.
    pub reused: bool,
}

impl Registration {
    /// `family:revision`.
    pub fn short(&self) -> &str {
        crate::arn::last_segment(&self.arn)
    }
}

/// `latest`: the family's latest revision when it was already read
/// (`Some(None)`: there is none); `None` reads it now.
pub async fn register_idempotent(
    ecs: &aws_sdk_ecs::Client,
    rendered: &Value,
    latest: Option<Option<Value>>,
) -> Result<Registration, Failure> {
    let family = rendered["family"].as_str().unwrap_or_default();
    let latest = match latest {
        Some(latest) => latest,
        None => api::describe_task_definition_opt(ecs, family).await?,
    };
    if let Some(latest) = latest
        && equivalent(&latest, rendered)
        && let Some(arn) = latest["taskDefinitionArn"].as_str()
    {
        return Ok(Registration {
            arn: arn.to_string(),
            reused: true,
        });
    }
    let arn = api::register_task_definition(ecs, rendered).await?;
    Ok(Registration { arn, reused: false })
}
