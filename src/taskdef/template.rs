//! The template a task definition is rendered from: a file in the workspace
//! (JSON or YAML), a registered definition, or the service's current one.

use std::path::Path;

use anyhow::{Context, bail};
use serde_json::Value;

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

/// Reads a JSON or YAML file (YAML for `.yaml`/`.yml`, JSON otherwise).
/// Every error says which file and why (`{:#}` shows the cause).
pub fn load_file(path: &Path) -> anyhow::Result<Value> {
    let shown = path.display().to_string();
    let unreadable = || format!("cannot read task-definition file {shown}");
    let size = std::fs::metadata(path).with_context(unreadable)?.len();
    if size > MAX_FILE_BYTES {
        bail!(
            "task-definition file {shown} is {size} bytes; the limit is {MAX_FILE_BYTES} (is it the right file?)"
        );
    }
    let text = std::fs::read_to_string(path).with_context(unreadable)?;
    // Editors on Windows save JSON with a byte-order mark; serde_json refuses it.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let yaml = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    let value: Value = match yaml {
        true => yaml_serde::from_str(text)
            .with_context(|| format!("task-definition file {shown} is not valid YAML"))?,
        false => serde_json::from_str(text)
            .with_context(|| format!("task-definition file {shown} is not valid JSON"))?,
    };
    from_document(value, &shown)
}

/// Accepts a bare task definition or a saved DescribeTaskDefinition answer
/// (`{"taskDefinition": …, "tags": …}`), and strips read-only fields.
pub fn from_document(value: Value, origin: &str) -> anyhow::Result<Value> {
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
        bail!("task definition {origin}: is not a JSON object");
    }
    strip_read_only(&mut value);
    drop_nulls(&mut value);
    check_shape(&value).with_context(|| format!("task definition {origin}"))?;
    Ok(value)
}

/// A member set to `null` is a member not set: Terraform's `jsonencode`
/// writes `"environment": null`, `"secrets": null` and the like, which mean
/// the empty list ECS assumes when the member is absent.
fn drop_nulls(v: &mut Value) {
    match v {
        Value::Object(o) => {
            o.retain(|_, m| !m.is_null());
            o.values_mut().for_each(drop_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

pub fn strip_read_only(td: &mut Value) {
    if let Some(obj) = td.as_object_mut() {
        for f in READ_ONLY_FIELDS {
            obj.remove(f);
        }
    }
}

/// The minimum RegisterTaskDefinition needs, checked before any AWS call;
/// the caller says whose definition it is (as context).
pub fn check_shape(td: &Value) -> anyhow::Result<()> {
    let shape = anyhow::Error::msg;
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
