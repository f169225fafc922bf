//! Normalisation, so a rendered definition can be compared with a
//! registered revision.
//!
//! ECS fills in defaults and returns fields a template leaves out. Two
//! definitions are the same revision-worthy content when their normalised
//! forms are equal. The rules, each mirroring what ECS does on registration:
//!
//! 1. read-only fields (`taskDefinitionArn`, `revision`, `status`, …) are dropped;
//! 2. `null`, empty lists and empty objects are dropped (ECS returns `[]` for
//!    unset lists such as `volumes`, `mountPoints`, `environment`);
//! 3. task-level `cpu` and `memory` are strings;
//! 4. in each container: `essential` defaults to `true`; `cpu: 0` is the same
//!    as no `cpu`; `portMappings[].protocol` defaults to `tcp`, and with
//!    `awsvpc` networking `hostPort` defaults to `containerPort`;
//!    `healthCheck` defaults `interval` 30, `timeout` 5, `retries` 3;
//! 5. order does not matter in `environment`, `secrets` (by `name`), `tags`
//!    (by `key`) and `requiresCompatibilities`.

use serde_json::{Map, Value};

use super::template::READ_ONLY_FIELDS;

pub fn normalize(td: &Value) -> Value {
    let mut td = td.clone();
    if let Some(obj) = td.as_object_mut() {
        for f in READ_ONLY_FIELDS {
            obj.remove(f);
        }
        for field in ["cpu", "memory"] {
            if let Some(n) = obj
                .get(field)
                .filter(|v| v.is_number())
                .map(|v| v.to_string())
            {
                obj.insert(field.into(), Value::String(n));
            }
        }
        let awsvpc = obj.get("networkMode").and_then(Value::as_str) == Some("awsvpc");
        if let Some(Value::Array(containers)) = obj.get_mut("containerDefinitions") {
            for c in containers.iter_mut().filter_map(Value::as_object_mut) {
                normalize_container(c, awsvpc);
            }
        }
        sort_by_key(obj.get_mut("tags"), "key");
        if let Some(Value::Array(rc)) = obj.get_mut("requiresCompatibilities") {
            rc.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
        }
    }
    prune(&mut td);
    td
}

fn normalize_container(c: &mut Map<String, Value>, awsvpc: bool) {
    c.entry("essential").or_insert(Value::Bool(true));
    if c.get("cpu").and_then(Value::as_i64) == Some(0) {
        c.remove("cpu");
    }
    if let Some(Value::Array(ports)) = c.get_mut("portMappings") {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            p.entry("protocol")
                .or_insert_with(|| Value::String("tcp".into()));
            if awsvpc && let Some(cp) = p.get("containerPort").cloned() {
                p.entry("hostPort").or_insert(cp);
            }
        }
    }
    if let Some(Value::Object(hc)) = c.get_mut("healthCheck") {
        hc.entry("interval").or_insert(30.into());
        hc.entry("timeout").or_insert(5.into());
        hc.entry("retries").or_insert(3.into());
    }
    sort_by_key(c.get_mut("environment"), "name");
    sort_by_key(c.get_mut("secrets"), "name");
}

fn sort_by_key(list: Option<&mut Value>, key: &str) {
    if let Some(Value::Array(items)) = list {
        items.sort_by(|a, b| a[key].as_str().cmp(&b[key].as_str()));
    }
}

/// Drops nulls, empty lists and empty objects, recursively.
fn prune(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for child in map.values_mut() {
                prune(child);
            }
            map.retain(|_, child| !is_empty(child));
        }
        Value::Array(items) => {
            for child in items.iter_mut() {
                prune(child);
            }
        }
        _ => {}
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// Whether two definitions would register as the same content.
pub fn equivalent(a: &Value, b: &Value) -> bool {
    normalize(a) == normalize(b)
}
