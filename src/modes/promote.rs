//! Promotion: `task-definition: family:revision` (or its ARN) without
//! `image` deploys (or migrates with) that very revision — the one that
//! passed the earlier environment — as it is: nothing rendered, nothing
//! registered. Its image is read from the definition.

use aws_sdk_ecs::types::Service;
use serde_json::Value;

use super::templates::{Latest, Target};
use crate::aws::Aws;
use crate::error::Failure;
use crate::image::{ImageRef, ResolvedImage};
use crate::taskdef::render::Rendered;
use crate::taskdef::{api, template};

/// The revision promoted, as DescribeTaskDefinition answered it.
#[derive(Debug, Clone)]
pub struct Promoted {
    /// Its full ARN.
    pub arn: String,
    /// The definition, read-only fields stripped (what verify checks).
    pub definition: Value,
    /// The image its containers run (the first essential container's).
    pub image: ResolvedImage,
    /// The containers that run that image.
    pub containers: Vec<String>,
}

/// Reads the revision `id`: it must exist and be ACTIVE (ECS updates no
/// service to an INACTIVE one).
pub async fn read(aws: &Aws, id: &str) -> Result<Promoted, Failure> {
    let mut td = api::describe_task_definition(&aws.ecs, id)
        .await
        .map_err(|e| Failure::from_error("task-definition", e))?;
    let arn = td["taskDefinitionArn"].as_str().unwrap_or(id).to_string();
    let short = crate::arn::last_segment(&arn).to_string();
    match td["status"].as_str() {
        Some("ACTIVE") | None => {}
        Some(status) => {
            return Err(Failure::input(
                "task-definition",
                format!(
                    "task definition {short} is {status}: ECS deploys no service to it; promote an ACTIVE revision, or give `image` to render a new one"
                ),
            ));
        }
    }
    template::strip_read_only(&mut td);
    let (image, containers) = image_of(&td).map_err(|why| {
        Failure::input("task-definition", format!("task definition {short}: {why}"))
    })?;
    Ok(Promoted {
        arn,
        definition: td,
        image,
        containers,
    })
}

/// The image of the first essential container (else the first), and the
/// containers that run it.
fn image_of(td: &Value) -> Result<(ResolvedImage, Vec<String>), String> {
    let none = || "it has no container with an image".to_string();
    let containers = td["containerDefinitions"].as_array().ok_or_else(none)?;
    let chosen = containers
        .iter()
        .find(|c| c["essential"].as_bool().unwrap_or(true))
        .or(containers.first())
        .ok_or_else(none)?;
    let uri = chosen["image"].as_str().ok_or_else(none)?.to_string();
    let names = containers
        .iter()
        .filter(|c| c["image"].as_str() == Some(uri.as_str()))
        .filter_map(|c| c["name"].as_str().map(str::to_string))
        .collect();
    let reference =
        ImageRef::parse(&uri).map_err(|e| format!("its image cannot be promoted: {e}"))?;
    let image = ResolvedImage {
        digest: reference.digest.clone(),
        uri,
        reference,
    };
    Ok((image, names))
}

/// One target per service (or one, for a migration without a service):
/// the promoted revision, as it is.
pub fn targets(promoted: &Promoted, services: Vec<Service>) -> Vec<Target> {
    let target = |service: Option<Service>| Target {
        name: service
            .as_ref()
            .and_then(|s| s.service_name())
            .map(str::to_string)
            .unwrap_or_else(|| {
                promoted.definition["family"]
                    .as_str()
                    .unwrap_or("?")
                    .to_string()
            }),
        service,
        rendered: Rendered::with_one_image(
            promoted.definition.clone(),
            promoted.containers.clone(),
        ),
        origin: format!("promoted {}", crate::arn::last_segment(&promoted.arn)),
        artifacts: None,
        latest: Latest::Unread,
        running: None,
        promoted: Some(promoted.arn.clone()),
    };
    match services.is_empty() {
        true => vec![target(None)],
        false => services.into_iter().map(|s| target(Some(s))).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_image_is_the_first_essential_containers() {
        let td = json!({"containerDefinitions": [
            {"name": "log-router", "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable", "essential": false},
            {"name": "web", "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
            {"name": "worker", "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}
        ]});
        let (image, containers) = image_of(&td).unwrap();
        assert_eq!(
            image.digest.as_deref(),
            Some("sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
        );
        assert_eq!(containers, ["web", "worker"]);
        assert_eq!(
            image_of(&json!({"containerDefinitions": []})).unwrap_err(),
            "it has no container with an image"
        );
        let untagged =
            image_of(&json!({"containerDefinitions": [{"name": "web", "image": "nginx"}]}));
        assert!(
            untagged
                .unwrap_err()
                .starts_with("its image cannot be promoted: image `nginx` has no tag or digest")
        );
    }
}
