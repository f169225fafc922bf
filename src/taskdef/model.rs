//! The rendered task definition against ECS's own API model: the input
//! shape of RegisterTaskDefinition as botocore's service model defines it
//! (`ecs-register-task-definition.json`, extracted and checked by
//! `tests/model/extract_ecs_model.py`). Types, required members, enums,
//! list and string lengths and unknown members are found before
//! RegisterTaskDefinition, not by it, each with the path to the value.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
struct Model {
    root: String,
    shapes: BTreeMap<String, Shape>,
}

#[derive(Debug, Deserialize)]
struct Shape {
    t: String,
    #[serde(default)]
    m: BTreeMap<String, String>,
    #[serde(default)]
    r: Vec<String>,
    #[serde(default)]
    e: Vec<String>,
    l: Option<String>,
    k: Option<String>,
    v: Option<String>,
    min: Option<f64>,
    max: Option<f64>,
}

fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        serde_json::from_str(include_str!("ecs-register-task-definition.json"))
            .expect("the embedded ECS model is valid JSON (checked by its test)")
    })
}

/// Every place where `td` is not what RegisterTaskDefinition accepts, as
/// `path: problem` lines (at most `limit`).
pub fn violations(td: &Value, limit: usize) -> Vec<String> {
    let m = model();
    let mut found = Vec::new();
    check(m, &m.root, td, "", &mut found, limit);
    found.truncate(limit);
    found
}

fn check(m: &Model, name: &str, v: &Value, path: &str, out: &mut Vec<String>, limit: usize) {
    if out.len() >= limit {
        return;
    }
    let shape = &m.shapes[name];
    let at = if path.is_empty() {
        "the task definition"
    } else {
        path
    };
    let kind = match v {
        Value::Null => return, // an absent member (Terraform writes null)
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    };
    let wrong = |wanted: &str| format!("{at}: {kind} where ECS wants {wanted}");
    match (shape.t.as_str(), v) {
        ("structure", Value::Object(o)) => {
            for req in &shape.r {
                if o.get(req).is_none_or(Value::is_null) {
                    out.push(format!("{at}: `{req}` is required"));
                }
            }
            for (key, value) in o {
                let child = join(path, key);
                match shape.m.get(key) {
                    Some(member) => check(m, member, value, &child, out, limit),
                    None => out.push(unknown_member(at, key, name, shape)),
                }
            }
        }
        ("list", Value::Array(items)) => {
            length(shape, items.len(), at, "entries", out);
            let member = shape.l.as_deref().expect("a list shape names its member");
            for (i, item) in items.iter().enumerate() {
                check(m, member, item, &format!("{path}[{i}]"), out, limit);
            }
        }
        ("map", Value::Object(o)) => {
            let (k, val) = (shape.k.as_deref(), shape.v.as_deref());
            for (key, value) in o {
                check(
                    m,
                    k.expect("map key"),
                    &Value::String(key.clone()),
                    &join(path, key),
                    out,
                    limit,
                );
                check(
                    m,
                    val.expect("map value"),
                    value,
                    &join(path, key),
                    out,
                    limit,
                );
            }
        }
        ("string", Value::String(s)) => {
            if !shape.e.is_empty() && !shape.e.contains(s) {
                out.push(format!("{at}: `{s}` is not one of {}", shape.e.join(", ")));
            }
            length(shape, s.chars().count(), at, "characters", out);
        }
        ("integer" | "long", Value::Number(n)) if n.is_i64() => {
            let n = n.as_i64().expect("checked") as f64;
            if shape.min.is_some_and(|min| n < min) || shape.max.is_some_and(|max| n > max) {
                out.push(format!("{at}: {n} is out of range{}", range(shape)));
            }
        }
        ("boolean", Value::Bool(_)) => {}
        (t, _) => out.push(wrong(wanted(t))),
    }
}

/// What a value of the model's type `t` is, for people.
fn wanted(t: &str) -> &'static str {
    match t {
        "structure" => "an object",
        "list" => "a list",
        "map" => "an object of names to values",
        "string" => "a string",
        "integer" | "long" => "a whole number",
        "boolean" => "true or false",
        _ => "a type this check does not know",
    }
}

fn join(path: &str, key: &str) -> String {
    match path {
        "" => key.to_string(),
        _ => format!("{path}.{key}"),
    }
}

fn length(shape: &Shape, n: usize, at: &str, unit: &str, out: &mut Vec<String>) {
    let n = n as f64;
    if shape.min.is_some_and(|min| n < min) || shape.max.is_some_and(|max| n > max) {
        out.push(format!("{at}: {n} {unit}, out of range{}", range(shape)));
    }
}

fn range(shape: &Shape) -> String {
    match (shape.min, shape.max) {
        (Some(a), Some(b)) => format!(" ({a}–{b})"),
        (Some(a), None) => format!(" (at least {a})"),
        (None, Some(b)) => format!(" (at most {b})"),
        (None, None) => String::new(),
    }
}

/// An unknown member, with a hint where the mistake is a common one.
fn unknown_member(at: &str, key: &str, shape_name: &str, shape: &Shape) -> String {
    let hint = match (shape_name, key) {
        ("KeyValuePair", "valueFrom") => {
            " (a value from SSM or Secrets Manager belongs in `secrets`, not `environment`)"
        }
        _ => "",
    };
    let known: Vec<&str> = shape.m.keys().map(String::as_str).collect();
    let close: Vec<&str> = known
        .iter()
        .copied()
        .filter(|k| k.eq_ignore_ascii_case(key))
        .collect();
    match close.first() {
        Some(k) => format!("{at}: unknown member `{key}`; did you mean `{k}`?"),
        None if hint.is_empty() => format!(
            "{at}: unknown member `{key}` (ECS's {shape_name} has: {})",
            known.join(", ")
        ),
        None => format!("{at}: unknown member `{key}`{hint}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn td() -> Value {
        json!({
            "family": "web",
            "cpu": "256",
            "memory": "512",
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "containerDefinitions": [{
                "name": "web",
                "image": "web:v1",
                "essential": true,
                "portMappings": [{"containerPort": 80, "protocol": "tcp"}],
                "environment": [{"name": "A", "value": "1"}],
                "secrets": [{"name": "DB", "valueFrom": "arn:aws:ssm:eu-west-1:1:parameter/db"}],
                "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web"}}
            }],
            "tags": [{"key": "team", "value": "web"}]
        })
    }

    #[test]
    fn a_valid_definition_has_no_violations() {
        assert_eq!(violations(&td(), 10), Vec::<String>::new());
    }

    #[test]
    fn the_mistakes_people_make_are_named_with_their_path() {
        let mut bad = td();
        let c = &mut bad["containerDefinitions"][0];
        c["portMappings"][0]["containerPort"] = json!("80");
        c["environment"][0] = json!({"name": "TOKEN", "valueFrom": "arn:aws:ssm:x"});
        c["logConfiguration"]["logDriver"] = json!("cloudwatch");
        bad["cpuArchitecture"] = json!("ARM64");
        bad["networkmode"] = json!("awsvpc");
        let found = violations(&bad, 20);
        let expect = [
            "containerDefinitions[0].portMappings[0].containerPort: a string where ECS wants a whole number",
            "containerDefinitions[0].environment[0]: unknown member `valueFrom` (a value from SSM or Secrets Manager belongs in `secrets`, not `environment`)",
            "containerDefinitions[0].logConfiguration.logDriver: `cloudwatch` is not one of",
            "the task definition: unknown member `cpuArchitecture` (ECS's RegisterTaskDefinitionRequest has:",
            "the task definition: unknown member `networkmode`; did you mean `networkMode`?",
        ];
        for e in expect {
            assert!(found.iter().any(|f| f.starts_with(e)), "{e}\nin {found:#?}");
        }
        assert_eq!(found.len(), expect.len(), "{found:#?}");
    }

    #[test]
    fn null_members_are_absent_and_the_count_is_bounded() {
        let mut t = td();
        t["containerDefinitions"][0]["environment"] = Value::Null;
        t["volumes"] = Value::Null;
        assert_eq!(violations(&t, 10), Vec::<String>::new());
        let many = json!({"family": 1, "containerDefinitions": "x", "a": 1, "b": 2, "c": 3});
        assert_eq!(violations(&many, 3).len(), 3);
        assert_eq!(
            violations(&json!({"containerDefinitions": []}), 5),
            ["the task definition: `family` is required"]
        );
    }

    #[test]
    fn the_embedded_model_is_read_and_rooted_at_the_request() {
        let m = model();
        assert_eq!(m.root, "RegisterTaskDefinitionRequest");
        let root = &m.shapes[&m.root];
        assert!(root.r.contains(&"family".to_string()));
        assert!(root.r.contains(&"containerDefinitions".to_string()));
        // Every shape a member names is in the model.
        for shape in m.shapes.values() {
            for n in shape
                .m
                .values()
                .chain(&shape.l)
                .chain(&shape.k)
                .chain(&shape.v)
            {
                assert!(m.shapes.contains_key(n), "{n}");
            }
        }
    }
}
