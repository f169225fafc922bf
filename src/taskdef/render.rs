//! Rendering: the new image into the right containers, then the
//! `environment-variables`, `secrets` and `set` patches.

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
        "container-name: no container `{wanted}` in family `{family}`; its containers are: {available}"
    )]
    UnknownContainer {
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
            RenderError::UnknownContainer { .. } | RenderError::Ambiguous { .. } => {
                "container-name"
            }
            RenderError::TooLarge { .. } => "task-definition",
            _ => "set",
        };
        Failure::input(input, e.to_string())
    }
}

pub struct Patches<'a> {
    pub container_names: &'a [String],
    pub environment: &'a [(String, String)],
    pub secrets: &'a [(String, String)],
    pub set: &'a [SetPatch],
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub definition: Value,
    /// The containers that received the image (and the env/secrets patches).
    pub image_containers: Vec<String>,
}

impl Rendered {
    pub fn family(&self) -> &str {
        self.definition["family"].as_str().unwrap_or_default()
    }
}

/// Which containers receive `image`: the named ones; else those using the
/// same repository; else the only container; else an error listing them.
pub fn image_containers(
    td: &Value,
    image: &ImageRef,
    wanted: &[String],
) -> Result<Vec<String>, RenderError> {
    let names = container_names(td);
    let family = td["family"].as_str().unwrap_or_default().to_string();
    if !wanted.is_empty() {
        for w in wanted {
            if !names.contains(w) {
                return Err(RenderError::UnknownContainer {
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

/// Renders `template` for `image_uri`. `image` decides the default containers.
pub fn render(
    template: &Value,
    image: &ImageRef,
    image_uri: &str,
    patches: &Patches,
) -> Result<Rendered, RenderError> {
    let mut td = template.clone();
    let targets = image_containers(&td, image, patches.container_names)?;
    for c in td["containerDefinitions"]
        .as_array_mut()
        .into_iter()
        .flatten()
    {
        let name = c["name"].as_str().unwrap_or_default().to_string();
        if !targets.contains(&name) {
            continue;
        }
        c["image"] = Value::String(image_uri.to_string());
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
        image_containers: targets,
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
