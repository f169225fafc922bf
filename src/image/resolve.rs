//! Checks that an ECR image exists before anything changes, and pins it.

use aws_config::SdkConfig;
use aws_sdk_ecr::types::ImageIdentifier;
use aws_types::region::Region;

use super::{EcrRegistry, ImageRef};
use anyhow::{Context, anyhow, bail};

use crate::error::{aws_code, aws_message, bad_input};

/// The image that will be deployed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedImage {
    /// What goes into the task definition.
    pub uri: String,
    /// `sha256:…` for ECR images.
    pub digest: Option<String>,
    /// The reference with its registry filled in (the shorthand expanded).
    pub reference: ImageRef,
}

impl ResolvedImage {
    /// A non-ECR image: used as given.
    pub fn passthrough(image: &ImageRef) -> Self {
        Self {
            uri: image.to_string(),
            digest: image.digest.clone(),
            reference: image.clone(),
        }
    }
}

/// Whether resolving this image needs AWS at all.
pub fn needs_aws(image: &ImageRef) -> bool {
    image.is_shorthand() || image.ecr_registry().is_some()
}

/// Why DescribeImages found nothing: a missing tag or repository is the
/// user's to fix (exit 2); anything else is a failed lookup.
fn lookup_failure<E>(
    (image, input): (&ImageRef, &'static str),
    registry: Option<&EcrRegistry>,
    region: &str,
    e: &crate::error::AwsError<E>,
) -> anyhow::Error
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
{
    let where_ = format!(
        "{} in {region}",
        registry
            .map(|r| format!("registry {}", r.account))
            .unwrap_or_else(|| "your ECR registry".into())
    );
    match aws_code(e) {
        Some("ImageNotFoundException") => bad_input(
            input,
            format!(
                "image {image} not found: repository `{}` ({where_}) has no {}; push the image before this step, or fix the tag",
                image.repository,
                image
                    .digest
                    .as_ref()
                    .map(|d| format!("image {d}"))
                    .unwrap_or_else(|| format!("tag `{}`", image.tag.as_deref().unwrap_or(""))),
            ),
        ),
        Some("RepositoryNotFoundException") => bad_input(
            input,
            format!(
                "image {image}: ECR repository `{}` does not exist ({where_}); check the name and aws-region",
                image.repository
            ),
        ),
        _ => anyhow!("could not look up image {image} in ECR: {}", aws_message(e)),
    }
}

/// Looks the image up in ECR (DescribeImages) and returns it, pinned to its
/// digest unless `pin` is false. `default_region` is used for the shorthand;
/// `input` (`image` or `images`) is what a missing image's error names.
pub async fn resolve_image(
    config: &SdkConfig,
    (image, input): (&ImageRef, &'static str),
    pin: bool,
    default_region: &str,
) -> anyhow::Result<ResolvedImage> {
    let registry = image.ecr_registry();
    let region = registry
        .as_ref()
        .map(|r| r.region.clone())
        .unwrap_or_else(|| default_region.to_string());
    let ecr_conf = aws_sdk_ecr::config::Builder::from(config)
        .region(Region::new(region.clone()))
        .build();
    let ecr = aws_sdk_ecr::Client::from_conf(ecr_conf);

    let id = match (&image.digest, &image.tag) {
        (Some(d), _) => ImageIdentifier::builder().image_digest(d).build(),
        (None, Some(t)) => ImageIdentifier::builder().image_tag(t).build(),
        (None, None) => unreachable!("ImageRef::parse requires a tag or digest"),
    };
    let out = ecr
        .describe_images()
        .set_registry_id(registry.as_ref().map(|r| r.account.clone()))
        .repository_name(&image.repository)
        .image_ids(id)
        .send()
        .await
        .map_err(|e| lookup_failure((image, input), registry.as_ref(), &region, &e))?;
    let detail = out.image_details().first().ok_or_else(|| {
        bad_input(
            input,
            format!(
                "image {image} not found in ECR repository `{}`",
                image.repository
            ),
        )
    })?;
    let digest = detail
        .image_digest()
        .with_context(|| format!("ECR returned no digest for {image}"))?
        .to_string();
    let found = EcrRegistry {
        account: detail
            .registry_id()
            .map(str::to_string)
            .or_else(|| registry.as_ref().map(|r| r.account.clone()))
            .unwrap_or_default(),
        region,
    };
    let mut reference = image.clone();
    if reference.registry.is_none() {
        reference.registry = Some(found.host());
    }
    if let Some(d) = &image.digest
        && d != &digest
    {
        bail!("ECR returned digest {digest} when asked for {d}");
    }
    let uri = if pin {
        reference.pinned(&digest)
    } else {
        reference.to_string()
    };
    Ok(ResolvedImage {
        uri,
        digest: Some(digest),
        reference,
    })
}
