//! Rendering: the new image into the right containers, then the
//! `environment-variables`, `secrets` and `set` patches.

use std::collections::BTreeMap;

use jsonpath_rust::JsonPath;
use jsonpath_rust::query::queryable::Queryable;
use serde_json::{Value, json};
use thiserror::Error;

use super::template::{check_shape, container_names};
use crate::error::Failure;
use crate::image::ImageRef;
use crate::inputs::SetPatch;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum RenderError {
    #[error(
        "{input}: no container `{wanted}` in family `{family}`; its containers are: {available}"
    )]
    UnknownContainer {
        /// The input that named it (`container-name` or `images`).
        input: &'static str,
        wanted: String,
        family: String,
        available: String,
    },
    #[error(
        "no container of family `{family}` uses repository {repository}, and there are several ({available}): set `container-name` to say which receives the image"
    )]
    Ambiguous {
        family: String,
        repository: String,
        available: String,
    },
    #[error(
        "set: `{path}` matches nothing in the task definition (set replaces existing values; add the field to the template first)"
    )]
    NoMatch { path: String },
    #[error("set: `{path}`: {reason}")]
    BadPath { path: String, reason: String },
    #[error("after `set`, the task definition is no longer valid: {0}")]
    Broken(String),
    #[error(
        "the rendered task definition `{family}` is {kib} KiB; ECS accepts at most 64 KiB: move large values out of the environment (into `secrets`, SSM parameters or an environment file)"
    )]
    TooLarge { family: String, kib: usize },
}

/// ECS's limit on the size of a task definition (its service quotas).
pub const MAX_TASK_DEFINITION_BYTES: usize = 64 * 1024;

impl From<RenderError> for Failure {
    fn from(e: RenderError) -> Self {
        let input = match &e {
            RenderError::UnknownContainer { input, .. } => input,
            RenderError::Ambiguous { .. } => "container-name",
            RenderError::TooLarge { .. } => "task-definition",
            _ => "set",
        };
        Failure::input(input, e.to_string())
    }
}

pub struct Patches<'a> {
    /// The input that names containers (`container-name` or `images`),
    /// for the error when one does not exist.
    pub container_input: &'static str,
    pub environment: &'a [(String, String)],
    pub secrets: &'a [(String, String)],
    pub set: &'a [SetPatch],
}

/// An image to render and the containers named for it (none: those using
/// its repository).
pub struct ImageToRender<'a> {
    pub reference: &'a ImageRef,
    /// What goes into the definition (pinned to its digest, or as given).
    pub uri: &'a str,
    pub containers: &'a [String],
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub definition: Value,
    /// Per image, in the order given (the first is CodePipeline's
    /// `IMAGE1_NAME`, the second `IMAGE2_NAME`…), the containers that
    /// received it (and the env/secrets patches).
    pub images: Vec<Vec<String>>,
}

impl Rendered {
    pub fn family(&self) -> &str {
        self.definition["family"].as_str().unwrap_or_default()
    }

    /// A definition whose containers all received the one image.
    pub fn with_one_image(definition: Value, image_containers: Vec<String>) -> Self {
        Self {
            definition,
            images: vec![image_containers],
        }
    }

    /// The containers that received an image, in the order of the images.
    pub fn image_containers(&self) -> Vec<String> {
        self.images.concat()
    }

    /// Which image `container` received: 1 for the first, 2 for the second…
    pub fn image_number(&self, container: &str) -> Option<usize> {
        self.images
            .iter()
            .position(|containers| containers.iter().any(|c| c == container))
            .map(|i| i + 1)
    }
}

/// Which containers receive `image`: the named ones; else those using the
/// same repository; else the only container; else an error listing them.
pub fn image_containers(
    td: &Value,
    image: &ImageRef,
    (wanted, input): (&[String], &'static str),
) -> Result<Vec<String>, RenderError> {
    let names = container_names(td);
    let family = td["family"].as_str().unwrap_or_default().to_string();
    if !wanted.is_empty() {
        for w in wanted {
            if !names.contains(w) {
                return Err(RenderError::UnknownContainer {
                    input,
                    wanted: w.clone(),
                    family,
                    available: names.join(", "),
                });
            }
        }
        return Ok(wanted.to_vec());
    }
    let matching: Vec<String> = td["containerDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| {
            c["image"]
                .as_str()
                .and_then(|i| ImageRef::parse_any(i).ok())
                .is_some_and(|r| r.same_repository(image))
        })
        .filter_map(|c| c["name"].as_str().map(str::to_string))
        .collect();
    match (matching.is_empty(), names.len()) {
        (false, _) => Ok(matching),
        (true, 1) => Ok(names),
        _ => Err(RenderError::Ambiguous {
            family,
            repository: image.name(),
            available: names.join(", "),
        }),
    }
}

/// Renders `template` with each image in its containers (named, or found
/// by the image's repository), then the patches.
pub fn render(
    template: &Value,
    images: &[ImageToRender],
    patches: &Patches,
) -> Result<Rendered, RenderError> {
    let mut td = template.clone();
    let per_image = images
        .iter()
        .map(|image| {
            image_containers(
                &td,
                image.reference,
                (image.containers, patches.container_input),
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let uri_of: BTreeMap<&str, &str> = per_image
        .iter()
        .zip(images)
        .flat_map(|(containers, image)| containers.iter().map(|c| (c.as_str(), image.uri)))
        .collect();
    for c in td["containerDefinitions"]
        .as_array_mut()
        .into_iter()
        .flatten()
    {
        let name = c["name"].as_str().unwrap_or_default().to_string();
        let Some(uri) = uri_of.get(name.as_str()) else {
            continue;
        };
        c["image"] = Value::String(uri.to_string());
        for (k, v) in patches.environment {
            upsert(c, "environment", k, json!({ "name": k, "value": v }));
        }
        for (k, v) in patches.secrets {
            upsert(c, "secrets", k, json!({ "name": k, "valueFrom": v }));
        }
    }
    for patch in patches.set {
        apply_set(&mut td, patch)?;
    }
    coerce_task_sizes(&mut td);
    check_shape(&td).map_err(|e| RenderError::Broken(format!("{e:#}")))?;
    let bytes = serde_json::to_vec(&td).map_or(0, |b| b.len());
    if bytes > MAX_TASK_DEFINITION_BYTES {
        return Err(RenderError::TooLarge {
            family: td["family"].as_str().unwrap_or_default().to_string(),
            kib: bytes.div_ceil(1024),
        });
    }
    Ok(Rendered {
        definition: td,
        images: per_image,
    })
}

/// Replaces the entry with the same `name` in a container's list, or appends.
fn upsert(container: &mut Value, list: &str, name: &str, entry: Value) {
    if !container[list].is_array() {
        container[list] = Value::Array(Vec::new());
    }
    let items = container[list].as_array_mut().expect("just made an array");
    match items.iter_mut().find(|e| e["name"].as_str() == Some(name)) {
        Some(existing) => *existing = entry,
        None => items.push(entry),
    }
}

fn apply_set(td: &mut Value, patch: &SetPatch) -> Result<(), RenderError> {
    let paths = td
        .query_only_path(&patch.path)
        .map_err(|e| RenderError::BadPath {
            path: patch.path.clone(),
            reason: e.to_string(),
        })?;
    if paths.is_empty() {
        return Err(RenderError::NoMatch {
            path: patch.path.clone(),
        });
    }
    for p in paths {
        let slot = td
            .reference_mut(p.clone())
            .ok_or_else(|| RenderError::BadPath {
                path: patch.path.clone(),
                reason: format!("cannot write to {p}"),
            })?;
        *slot = patch.value.clone();
    }
    Ok(())
}

/// Task-level `cpu` and `memory` are strings in the ECS API; YAML and hand
/// edits often make them numbers, which RegisterTaskDefinition refuses.
fn coerce_task_sizes(td: &mut Value) {
    for field in ["cpu", "memory"] {
        if let Some(n) = td
            .get(field)
            .filter(|v| v.is_number())
            .map(|v| v.to_string())
        {
            td[field] = Value::String(n);
        }
    }
}
