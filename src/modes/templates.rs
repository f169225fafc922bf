//! Rendering the task definition(s): the template of each target — a file,
//! a registered revision, or the service's current definition — read once
//! per distinct source (with the family's latest revision, for the
//! registration decision), and rendered with the image and the patches.

use std::collections::HashMap;

use anyhow::Context;
use aws_sdk_ecs::types::Service;
use futures_util::future::join_all;
use serde_json::Value;
use tokio::task::{JoinHandle, JoinSet};

use super::report::TargetRow;
use crate::artifacts::ArtifactPaths;
use crate::aws::Aws;
use crate::error::Failure;
use crate::image::ResolvedImage;
use crate::inputs::{Rendering, Settings, TemplateSource};
use crate::stages::Stages;
use crate::taskdef::{self, ImageToRender, Patches, Rendered, api, template};

/// One thing being rendered: a service, or the template alone.
pub struct Target {
    /// The service name, or the family when no service was given.
    pub name: String,
    pub service: Option<Service>,
    pub rendered: Rendered,
    /// Where the template came from, for people.
    pub origin: String,
    pub artifacts: Option<ArtifactPaths>,
    /// The latest revision of the rendered family, as far as it was read
    /// with the template.
    pub latest: Latest,
    /// What the service runs now (mode render), to show what would change.
    pub running: Option<Value>,
    /// Promotion: the revision deployed as it is (its ARN).
    pub promoted: Option<String>,
}

/// The latest ACTIVE revision of a rendered family, which registration
/// compares with (read with the template where it can be: a round trip saved).
#[derive(Debug, Clone)]
pub enum Latest {
    /// Not read with the template: `register::decide` reads it.
    Unread,
    /// The family has no revision yet.
    NoRevision,
    Revision(Value),
}

impl Latest {
    fn from_read(read: Option<&Option<Value>>) -> Self {
        match read {
            None => Self::Unread,
            Some(None) => Self::NoRevision,
            Some(Some(v)) => Self::Revision(v.clone()),
        }
    }
}

pub async fn render_stage(
    stages: &mut Stages<'_>,
    settings: &Settings,
    rendering: &Rendering,
    aws: Option<&Aws>,
    services: Option<JoinHandle<Result<Vec<Service>, Failure>>>,
    images: &[ResolvedImage],
) -> Result<Vec<Target>, Failure> {
    stages
        .run("render task definition", async {
            let services = super::prepare::prefetched(services).await?;
            let (templates, latest) = load_templates(settings, rendering, aws, &services).await?;
            let running = match (settings.mode(), aws) {
                (crate::inputs::Mode::Render, Some(aws)) => {
                    running_definitions(aws, &services, &templates).await
                }
                _ => HashMap::new(),
            };
            let read = Read {
                services,
                templates,
                latest,
                running,
            };
            let (targets, lines) = render_all(rendering, images, read)?;
            Ok((targets, lines.join("; ")))
        })
        .await
}

/// What rendering reads first: the services, their templates, each
/// family's latest revision and (mode render) the definitions they run.
struct Read {
    services: Vec<Service>,
    templates: Templates,
    latest: HashMap<String, Option<Value>>,
    running: HashMap<String, Value>,
}

/// Renders every target from what was read: the targets, and a line each.
fn render_all(
    rendering: &Rendering,
    images: &[ResolvedImage],
    read: Read,
) -> Result<(Vec<Target>, Vec<String>), Failure> {
    let Read {
        services,
        templates,
        latest,
        running,
    } = read;
    let patches = Patches {
        container_input: rendering.containers_input(),
        environment: &rendering.environment_variables,
        secrets: &rendering.secrets,
        set: &rendering.set,
    };
    let mut targets = Vec::new();
    let mut lines = Vec::new();
    let pairs: Vec<(Option<Service>, (Value, String))> = if services.is_empty() {
        vec![(None, templates.into_iter().next().expect("one template").1)]
    } else {
        services
            .into_iter()
            .zip(templates.into_iter().map(|(_, t)| t))
            .map(|(s, t)| (Some(s), t))
            .collect()
    };
    let to_render: Vec<ImageToRender> = rendering
        .images
        .iter()
        .zip(images)
        .map(|(given, resolved)| ImageToRender {
            reference: &resolved.reference,
            uri: &resolved.uri,
            containers: &given.containers,
        })
        .collect();
    let into = match images.len() {
        1 => "image into",
        _ => "images into",
    };
    for (service, (template, origin)) in pairs {
        let rendered = taskdef::render(&template, &to_render, &patches)?;
        let name = service
            .as_ref()
            .and_then(|s| s.service_name())
            .map(str::to_string)
            .unwrap_or_else(|| rendered.family().to_string());
        lines.push(format!(
            "{name}: family {} from {origin}, {into} {}",
            rendered.family(),
            rendered.image_containers().join(", ")
        ));
        let latest = Latest::from_read(latest.get(rendered.family()));
        let running = service
            .as_ref()
            .and_then(|s| s.task_definition())
            .and_then(|arn| running.get(arn).cloned());
        targets.push(Target {
            name,
            service,
            rendered,
            origin,
            artifacts: None,
            latest,
            running,
            promoted: None,
        });
    }
    Ok((targets, lines))
}

type Templates = Vec<(String, (Value, String))>;

/// One template per service (or one in all), read once per distinct source;
/// with it, at the same time, the latest revision of each template's family,
/// which idempotent registration compares with (a round trip saved).
async fn load_templates(
    settings: &Settings,
    rendering: &Rendering,
    aws: Option<&Aws>,
    services: &[Service],
) -> Result<(Templates, HashMap<String, Option<Value>>), Failure> {
    let sources: Vec<(String, String)> = match &rendering.template {
        TemplateSource::File(path) => return from_file(settings, path, services.len()),
        TemplateSource::Registered(id) => {
            vec![(id.clone(), format!("registered {id}")); services.len().max(1)]
        }
        TemplateSource::Service => services
            .iter()
            .map(|s| {
                let arn = s.task_definition().unwrap_or_default().to_string();
                let origin = format!("service's current {}", crate::arn::last_segment(&arn));
                (arn, origin)
            })
            .collect(),
    };
    let aws = aws.expect("templates from AWS imply credentials");
    let mut distinct: Vec<String> = sources.iter().map(|(id, _)| id.clone()).collect();
    distinct.sort();
    distinct.dedup();
    // Each family's latest revision is read with the templates wherever a
    // plan needs it: every mode but a render without services.
    let wants_latest = settings.mode() != crate::inputs::Mode::Render || !services.is_empty();
    let mut families: Vec<String> = match wants_latest {
        true => distinct.iter().map(|id| family_of(id)).collect(),
        false => Vec::new(),
    };
    families.sort();
    families.dedup();
    let (fetched, latest) = read_definitions(aws, &distinct, &families).await?;
    let templates = sources
        .into_iter()
        .map(|(id, origin)| {
            let td = fetched[&id].clone();
            (id, (td, origin))
        })
        .collect();
    Ok((templates, latest))
}

/// Reads each template (checked for shape) and, at the same time, the
/// latest revision of each family not already read as a template.
async fn read_definitions(
    aws: &Aws,
    ids: &[String],
    families: &[String],
) -> Result<(HashMap<String, Value>, HashMap<String, Option<Value>>), Failure> {
    let reads = ids.iter().map(|id| async move {
        let td = api::describe_task_definition(&aws.ecs, id).await;
        (id, td)
    });
    let latest_reads = families
        .iter()
        .filter(|f| !ids.contains(f))
        .map(|family| async move {
            let td = api::describe_task_definition_opt(&aws.ecs, family).await;
            (family, td)
        });
    let (read, latest_read) = tokio::join!(join_all(reads), join_all(latest_reads));
    let mut fetched: HashMap<String, Value> = HashMap::new();
    let mut latest: HashMap<String, Option<Value>> = HashMap::new();
    for (id, td) in read {
        let mut td = td.map_err(|e| Failure::from_error("task-definition", e))?;
        if family_of(id) == *id {
            // Read by family: it is the latest revision.
            latest.insert(id.clone(), Some(td.clone()));
        }
        template::strip_read_only(&mut td);
        template::check_shape(&td)
            .with_context(|| format!("task definition {id}"))
            .map_err(bad_template)?;
        fetched.insert(id.clone(), td);
    }
    // A failed read of the latest revision only means registration reads it again.
    for (family, td) in latest_read {
        if let Ok(td) = td {
            latest.insert(family.clone(), td);
        }
    }
    Ok((fetched, latest))
}

/// The template file (inside the workspace, for the action), once per service.
fn from_file(
    settings: &Settings,
    path: &std::path::Path,
    services: usize,
) -> Result<(Templates, HashMap<String, Option<Value>>), Failure> {
    if let Some(root) = &settings.workspace
        && path.exists()
    {
        crate::workspace::resolve_inside(root, path).map_err(|problem| {
            Failure::input("task-definition", format!("task-definition: {problem}"))
        })?;
    }
    let td = template::load_file(path).map_err(bad_template)?;
    let origin = format!("file {}", path.display());
    let templates = (0..services.max(1))
        .map(|_| (String::new(), (td.clone(), origin.clone())))
        .collect();
    Ok((templates, HashMap::new()))
}

/// A template that cannot be used is the user's input to fix: exit 2,
/// with the whole chain of causes.
fn bad_template(e: anyhow::Error) -> Failure {
    Failure::input("task-definition", format!("{e:#}"))
}

/// The definitions the services run now, by ARN: the templates already read
/// when they were those, else read now (read-only; one that cannot be read
/// only means no "what would change").
async fn running_definitions(
    aws: &Aws,
    services: &[Service],
    templates: &Templates,
) -> HashMap<String, Value> {
    let mut running: HashMap<String, Value> = HashMap::new();
    let mut to_read: Vec<String> = Vec::new();
    for arn in services.iter().filter_map(|s| s.task_definition()) {
        match templates.iter().find(|(id, _)| id == arn) {
            Some((_, (td, _))) => {
                running.insert(arn.to_string(), td.clone());
            }
            None if !to_read.iter().any(|a| a == arn) => to_read.push(arn.to_string()),
            None => {}
        }
    }
    let mut calls = JoinSet::new();
    for arn in to_read {
        let ecs = aws.ecs.clone();
        calls.spawn(async move {
            let td = api::describe_task_definition(&ecs, &arn).await;
            (arn, td)
        });
    }
    while let Some(Ok((arn, td))) = calls.join_next().await {
        if let Ok(td) = td {
            running.insert(arn, td);
        }
    }
    running
}

/// `web` of `web`, `web:5` or `arn:…:task-definition/web:5`.
fn family_of(id: &str) -> String {
    let name = crate::arn::last_segment(id);
    name.split(':').next().unwrap_or(name).to_string()
}

/// The report's row of a target; `show_values`: environment values in the diff.
pub fn row(t: &Target, show_values: bool) -> TargetRow {
    TargetRow {
        name: t.name.clone(),
        family: t.rendered.family().to_string(),
        containers: t.rendered.image_containers(),
        origin: t.origin.clone(),
        artifacts: t.artifacts.as_ref().map(|a| a.dir.display().to_string()),
        plan: t.running.as_ref().map(|running| {
            let revision = t
                .service
                .as_ref()
                .and_then(|s| s.task_definition())
                .map(crate::arn::last_segment)
                .unwrap_or("definition");
            (
                revision.to_string(),
                crate::taskdef::diff::diff(running, &t.rendered.definition, show_values),
            )
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_family_of_a_task_definition_id() {
        for id in [
            "web",
            "web:5",
            "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:5",
        ] {
            assert_eq!(super::family_of(id), "web", "{id}");
        }
    }
}
