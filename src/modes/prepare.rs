//! The stages every rendering mode shares: credentials, resolve image
//! (while DescribeServices already runs), render (`templates`), write
//! artifacts.

use std::path::PathBuf;
use std::sync::Arc;

use aws_sdk_ecs::types::Service;
use tokio::task::JoinHandle;

use super::report::Report;
use super::templates::{self, Target};
use super::verify::OnFinding;
use crate::artifacts::{self, AppSpecInputs, TASK_DEFINITION_PLACEHOLDER};
use crate::aws::Aws;
use crate::error::Failure;
use crate::image::{self, ImageRef, ResolvedImage};
use crate::inputs::{Rendering, Settings, TemplateSource};
use crate::preflight::platform::Reading;
use crate::runner::Runner;
use crate::service::describe_services;
use crate::stages::Stages;

/// Whether a run needs AWS at all (render of a file with a non-ECR image does not).
pub fn needs_aws(settings: &Settings, rendering: &Rendering) -> bool {
    rendering.images.is_empty()
        || rendering
            .images
            .iter()
            .any(|a| image::resolve::needs_aws(&a.image))
        || !matches!(rendering.template, TemplateSource::File(_))
        || !settings.services.is_empty()
}

/// The stages every mode that changes AWS starts with: credentials, resolve
/// image(s) (while DescribeServices already runs), render task
/// definition(s), verify them (a finding refuses the run before anything
/// changes). The images come back in `IMAGE1_NAME`, `IMAGE2_NAME`… order.
pub async fn front_stages(
    stages: &mut Stages<'_>,
    settings: &Settings,
    rendering: &Rendering,
    runner: &Arc<Runner>,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
    report: &mut Report,
) -> Result<(Aws, Vec<ResolvedImage>, Vec<Target>), Failure> {
    let aws = credentials_stage(stages, settings, runner, env).await?;
    let services = prefetch_services(Some(&aws), settings);
    let (images, targets, architectures) = if rendering.images.is_empty() {
        let (image, targets) = promoted_stages(stages, rendering, &aws, services).await?;
        let architectures = Reading::start(&aws.config, &image).into_iter().collect();
        (vec![image], targets, architectures)
    } else {
        // The images' architectures are read while they are resolved and
        // the definitions render: the verify stage does not wait for them.
        let readings = start_readings(Some(&aws), rendering);
        let images = resolve_stage(stages, rendering, Some(&aws), runner).await?;
        let architectures = name_readings(readings, &images, rendering.images_input);
        let targets =
            templates::render_stage(stages, settings, rendering, Some(&aws), services, &images)
                .await?;
        (images, targets, architectures)
    };
    report.images = images.clone();
    let port = rendering.container_port;
    super::verify::verify_stage(
        stages,
        runner,
        Some(&aws),
        (&targets, architectures),
        port,
        OnFinding::Refuse,
    )
    .await?;
    Ok((aws, images, targets))
}

/// Starts reading each given image's architectures (ECR images only), at
/// the same time as the lookups that resolve them.
pub fn start_readings(aws: Option<&Aws>, rendering: &Rendering) -> Vec<Option<Reading>> {
    rendering
        .images
        .iter()
        .map(|a| aws.and_then(|aws| Reading::start_given(&aws.config, &a.image, &aws.region)))
        .collect()
}

/// The readings, each named as its image resolved (with its registry).
pub fn name_readings(
    readings: Vec<Option<Reading>>,
    images: &[ResolvedImage],
    input: &'static str,
) -> Vec<Reading> {
    readings
        .into_iter()
        .zip(images)
        .filter_map(|(r, image)| r.map(|r| r.named(&image.reference.to_string(), input)))
        .collect()
}

/// Promotion's "resolve image" and "render" stages: the revision read (its
/// image is what its containers run), then one target per service, as it is.
async fn promoted_stages(
    stages: &mut Stages<'_>,
    rendering: &Rendering,
    aws: &Aws,
    services: Option<JoinHandle<Result<Vec<Service>, Failure>>>,
) -> Result<(ResolvedImage, Vec<Target>), Failure> {
    let TemplateSource::Registered(id) = &rendering.template else {
        unreachable!("inputs: promotion names a registered revision");
    };
    let promoted = stages
        .run("resolve image", async {
            let promoted = super::promote::read(aws, id).await?;
            let line = format!(
                "promoting {} as it is: its image {} is used as it is",
                crate::arn::last_segment(&promoted.arn),
                promoted.image.uri
            );
            Ok((promoted, line))
        })
        .await?;
    let targets = stages
        .run("render task definition", async {
            let services = prefetched(services).await?;
            let targets = super::promote::targets(&promoted, services);
            let line = format!(
                "nothing rendered: {} used as it is",
                crate::arn::last_segment(&promoted.arn)
            );
            Ok((targets, line))
        })
        .await?;
    Ok((promoted.image, targets))
}

pub async fn credentials_stage(
    stages: &mut Stages<'_>,
    settings: &Settings,
    runner: &Arc<Runner>,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<Aws, Failure> {
    stages
        .run(
            "credentials",
            Aws::connect(&settings.access, runner.clone(), env),
        )
        .await
}

/// Starts DescribeServices at once, so it overlaps with the image lookup.
pub fn prefetch_services(
    aws: Option<&Aws>,
    settings: &Settings,
) -> Option<JoinHandle<Result<Vec<Service>, Failure>>> {
    let aws = aws?;
    if settings.services.is_empty() {
        return None;
    }
    let (ecs, cluster, names) = (
        aws.ecs.clone(),
        settings.cluster.clone(),
        settings.services.clone(),
    );
    Some(tokio::spawn(async move {
        describe_services(&ecs, &cluster, &names)
            .await
            .map_err(|e| Failure::from_error("service", e))
    }))
}

/// The services [`prefetch_services`] read (none without a handle).
pub async fn prefetched(
    services: Option<JoinHandle<Result<Vec<Service>, Failure>>>,
) -> Result<Vec<Service>, Failure> {
    match services {
        Some(handle) => handle.await.map_err(|e| {
            Failure::failed("service", format!("DescribeServices task failed: {e}"))
        })?,
        None => Ok(Vec::new()),
    }
}

/// Resolves every image at once: each ECR image checked to exist and
/// pinned (unless `pin-digest: false`), any other used as given.
pub async fn resolve_stage(
    stages: &mut Stages<'_>,
    rendering: &Rendering,
    aws: Option<&Aws>,
    runner: &Runner,
) -> Result<Vec<ResolvedImage>, Failure> {
    stages
        .run("resolve image", async {
            let lookups = rendering
                .images
                .iter()
                .map(|a| resolve_one((&a.image, rendering), aws, runner));
            let resolved = futures_util::future::join_all(lookups).await;
            let mut images = Vec::new();
            let mut lines = Vec::new();
            for answer in resolved {
                let (image, line) = answer?;
                images.push(image);
                lines.push(line);
            }
            Ok((images, lines.join("; ")))
        })
        .await
}

async fn resolve_one(
    (image, rendering): (&ImageRef, &Rendering),
    aws: Option<&Aws>,
    runner: &Runner,
) -> Result<(ResolvedImage, String), Failure> {
    let Some(aws) = aws.filter(|_| image::resolve::needs_aws(image)) else {
        runner.notice(rendering.images_input, &format!("{image} is not an ECR image: it is used as given, without an existence check or digest pinning"));
        let line = format!("using {image} as given");
        return Ok((ResolvedImage::passthrough(image), line));
    };
    let (pin, input) = (rendering.pin_digest, rendering.images_input);
    let resolved = image::resolve_image(&aws.config, (image, input), pin, &aws.region)
        .await
        .map_err(|e| Failure::from_error(input, e))?;
    let digest = resolved.digest.clone().unwrap_or_default();
    let line = if pin {
        format!("{image} is {digest}; pinned to {}", resolved.uri)
    } else {
        format!("{image} is {digest} (pin-digest: false, deploying the tag)")
    };
    Ok((resolved, line))
}

pub async fn artifacts_stage(
    stages: &mut Stages<'_>,
    settings: &Settings,
    rendering: &Rendering,
    targets: &mut [Target],
    images: &[ResolvedImage],
    runner: &Runner,
) -> Result<(), Failure> {
    stages
        .run("write artifacts", async {
            Ok((
                (),
                write_artifacts(settings, rendering, targets, images, Some(runner))?,
            ))
        })
        .await
}

/// Writes each target's artifacts (a sub-folder per target when there are
/// several). Appspec warnings go to `warn_to`, when given.
pub fn write_artifacts(
    settings: &Settings,
    rendering: &Rendering,
    targets: &mut [Target],
    images: &[ResolvedImage],
    warn_to: Option<&Runner>,
) -> Result<String, Failure> {
    let n = images.len();
    if let (Some(warning), Some(runner)) = (artifacts::too_many_images(n), warn_to) {
        runner.warning("artifacts", &warning);
    }
    let uris: Vec<&str> = images.iter().map(|i| i.uri.as_str()).collect();
    let several = targets.len() > 1;
    let mut written = Vec::new();
    for t in targets.iter_mut() {
        let dir: PathBuf = if several {
            rendering.artifacts_dir.join(&t.name)
        } else {
            rendering.artifacts_dir.clone()
        };
        let (spec, warning) = artifacts::appspec(&AppSpecInputs {
            rendered: &t.rendered,
            service: t.service.as_ref(),
            container_port: rendering.container_port,
            hooks: &rendering.codedeploy_hooks,
            task_definition: TASK_DEFINITION_PLACEHOLDER,
        });
        if let (Some(w), Some(runner)) = (warning, warn_to) {
            runner.warning("appspec", &format!("{}: {w}", t.name));
        }
        let paths = artifacts::write(
            &dir,
            settings.workspace.as_deref(),
            &t.rendered,
            &uris,
            &spec,
        )?;
        written.push(dir.display().to_string());
        t.artifacts = Some(paths);
    }
    Ok(format!(
        "imageDetail.json{}, taskdef.json, taskdef.rendered.json, appspec.yaml in {}",
        match n {
            1 => String::new(),
            _ => format!(" (and IMAGE1_NAME/ to IMAGE{n}_NAME/imageDetail.json)"),
        },
        written.join(", ")
    ))
}
