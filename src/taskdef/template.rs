//! The template a task definition is rendered from: a file in the workspace
//! (JSON or YAML), a registered definition, or the service's current one.

use std::path::Path;

use serde_json::Value;
use thiserror::Error;

use crate::error::Failure;

/// Files larger than this are refused (ECS's own limit is 64 KiB of JSON).
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Fields DescribeTaskDefinition returns that RegisterTaskDefinition refuses.
pub const READ_ONLY_FIELDS: [&str; 8] = [
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
];

#[derive(Debug, Error)]
pub enum TemplateError {
    #[error("cannot read task-definition file {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error(
        "task-definition file {path} is {size} bytes; the limit is {MAX_FILE_BYTES} (is it the right file?)"
    )]
    TooLarge { path: String, size: u64 },
    #[error("task-definition file {path} is not valid {format}: {reason}")]
    Syntax {
        path: String,
        format: &'static str,
        reason: String,
    },
    #[error("task definition {origin}: {problem}")]
    Shape { origin: String, problem: String },
}

impl From<TemplateError> for Failure {
    fn from(e: TemplateError) -> Self {
        Failure::input("task-definition", e.to_string())
    }
}

/// Reads a JSON or YAML file (YAML for `.yaml`/`.yml`, JSON otherwise).
pub fn load_file(path: &Path) -> Result<Value, TemplateError> {
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| TemplateError::Unreadable {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(TemplateError::TooLarge {
            path: shown,
            size: meta.len(),
        });
    }
    let text = std::fs::read_to_string(path).map_err(|e| TemplateError::Unreadable {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    let yaml = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    let value: Value = if yaml {
        yaml_serde::from_str(&text).map_err(|e| TemplateError::Syntax {
            path: shown.clone(),
            format: "YAML",
            reason: e.to_string(),
        })?
    } else {
        serde_json::from_str(&text).map_err(|e| TemplateError::Syntax {
            path: shown.clone(),
            format: "JSON",
            reason: e.to_string(),
        })?
    };
    from_document(value, &shown)
}

/// Accepts a bare task definition or a saved DescribeTaskDefinition answer
/// (`{"taskDefinition": …, "tags": …}`), and strips read-only fields.
pub fn from_document(value: Value, origin: &str) -> Result<Value, TemplateError> {
    let mut value = value;
    if let Some(obj) = value.as_object_mut()
        && let Some(inner) = obj
            .get_mut("taskDefinition")
            .filter(|v| v.is_object())
            .map(Value::take)
    {
        let tags = obj.remove("tags");
        value = inner;
        if let Some(tags) = tags.filter(|t| t.as_array().is_some_and(|a| !a.is_empty())) {
            value["tags"] = tags;
        }
    }
    if !value.is_object() {
        return Err(TemplateError::Shape {
            origin: origin.into(),
            problem: "is not a JSON object".into(),
        });
    }
    strip_read_only(&mut value);
    check_shape(&value, origin)?;
    Ok(value)
}

pub fn strip_read_only(td: &mut Value) {
    if let Some(obj) = td.as_object_mut() {
        for f in READ_ONLY_FIELDS {
            obj.remove(f);
        }
    }
}

/// The minimum RegisterTaskDefinition needs, checked before any AWS call.
pub fn check_shape(td: &Value, origin: &str) -> Result<(), TemplateError> {
    let shape = |problem: String| TemplateError::Shape {
        origin: origin.into(),
        problem,
    };
    match td.get("family") {
        Some(Value::String(f)) if !f.is_empty() => {}
        _ => return Err(shape("has no `family` (a non-empty string)".into())),
    }
    let containers = match td.get("containerDefinitions") {
        Some(Value::Array(c)) if !c.is_empty() => c,
        _ => {
            return Err(shape(
                "has no `containerDefinitions` (a non-empty list)".into(),
            ));
        }
    };
    let mut names: Vec<&str> = Vec::new();
    for (i, c) in containers.iter().enumerate() {
        let Some(name) = c
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
        else {
            return Err(shape(format!("containerDefinitions[{i}] has no `name`")));
        };
        if names.contains(&name) {
            return Err(shape(format!("container name `{name}` appears twice")));
        }
        names.push(name);
        if !c.get("image").is_some_and(Value::is_string) {
            return Err(shape(format!("container `{name}` has no `image` string")));
        }
    }
    for (field, kind) in [("environment", "name"), ("secrets", "name")] {
        for c in containers {
            if let Some(list) = c.get(field)
                && !list
                    .as_array()
                    .is_some_and(|a| a.iter().all(|e| e.get(kind).is_some_and(Value::is_string)))
            {
                return Err(shape(format!(
                    "container `{}`: `{field}` must be a list of {{\"{kind}\": …}} objects",
                    c["name"].as_str().unwrap_or("")
                )));
            }
        }
    }
    Ok(())
}

/// The names of the containers, in order.
pub fn container_names(td: &Value) -> Vec<String> {
    td["containerDefinitions"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}
