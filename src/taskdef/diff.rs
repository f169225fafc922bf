//! What a rendered definition changes against another — the one a service
//! runs now — for people: the job summary of `mode: render` (and the plan
//! comment to come). Both sides are normalised first, so ECS's defaults and
//! list order are not reported as changes. Secrets show their names only.

use serde_json::Value;

use super::normalize::normalize;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// `cpu`, `web: image`, `web: environment RAILS_ENV` …
    pub what: String,
    /// `—` when absent.
    pub before: String,
    pub after: String,
}

const TASK_FIELDS: [&str; 6] = [
    "family",
    "cpu",
    "memory",
    "networkMode",
    "taskRoleArn",
    "executionRoleArn",
];
const CONTAINER_FIELDS: [&str; 7] = [
    "image",
    "cpu",
    "memory",
    "command",
    "entryPoint",
    "portMappings",
    "essential",
];

pub fn diff(before: &Value, after: &Value) -> Vec<Change> {
    let (b, a) = (normalize(before), normalize(after));
    let mut out = Vec::new();
    for f in TASK_FIELDS {
        push(&mut out, f.to_string(), &b[f], &a[f]);
    }
    let containers = |td: &Value| -> Vec<Value> {
        td["containerDefinitions"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let (cb, ca) = (containers(&b), containers(&a));
    let name = |c: &Value| c["name"].as_str().unwrap_or("?").to_string();
    let mut names: Vec<String> = ca.iter().map(name).collect();
    names.extend(
        cb.iter()
            .map(name)
            .filter(|n| !ca.iter().any(|c| name(c) == *n)),
    );
    for n in names {
        let find = |list: &[Value]| list.iter().find(|c| name(c) == n).cloned();
        match (find(&cb), find(&ca)) {
            (None, Some(_)) => out.push(change(n.to_string(), "—".into(), "added".into())),
            (Some(_), None) => out.push(change(n.to_string(), "present".into(), "removed".into())),
            (Some(x), Some(y)) => {
                for f in CONTAINER_FIELDS {
                    push(&mut out, format!("{n}: {f}"), &x[f], &y[f]);
                }
                let pairs = |c: &Value, list: &str, key: &str| -> Vec<(String, Value)> {
                    c[list]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|e| {
                            (
                                e["name"].as_str().unwrap_or("?").to_string(),
                                e[key].clone(),
                            )
                        })
                        .collect()
                };
                let (eb, ea) = (
                    pairs(&x, "environment", "value"),
                    pairs(&y, "environment", "value"),
                );
                keyed(&mut out, &n, "environment", &eb, &ea, false);
                let (sb, sa) = (
                    pairs(&x, "secrets", "valueFrom"),
                    pairs(&y, "secrets", "valueFrom"),
                );
                keyed(&mut out, &n, "secret", &sb, &sa, true);
            }
            (None, None) => {}
        }
    }
    out
}

fn keyed(
    out: &mut Vec<Change>,
    container: &str,
    kind: &str,
    before: &[(String, Value)],
    after: &[(String, Value)],
    hide: bool,
) {
    let mut names: Vec<&String> = after.iter().map(|(k, _)| k).collect();
    names.extend(
        before
            .iter()
            .map(|(k, _)| k)
            .filter(|k| !after.iter().any(|(a, _)| a == *k)),
    );
    for k in names {
        let get =
            |list: &[(String, Value)]| list.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let (x, y) = (get(before), get(after));
        if x == y {
            continue;
        }
        let show = |v: &Option<Value>| match v {
            None => "—".to_string(),
            Some(_) if hide => "(set)".to_string(),
            Some(v) => text(v),
        };
        let (mut bx, mut ay) = (show(&x), show(&y));
        if hide && x.is_some() && y.is_some() {
            (bx, ay) = ("(a source)".into(), "(another source)".into());
        }
        out.push(change(format!("{container}: {kind} {k}"), bx, ay));
    }
}

fn push(out: &mut Vec<Change>, what: String, before: &Value, after: &Value) {
    if before != after {
        out.push(change(what, text(before), text(after)));
    }
}

fn change(what: String, before: String, after: String) -> Change {
    Change {
        what,
        before,
        after,
    }
}

/// A value on one line, shortened.
fn text(v: &Value) -> String {
    let s = match v {
        Value::Null => return "—".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    // Long enough for a digest-pinned ECR image (~130 characters).
    if s.chars().count() > 160 {
        format!("{}…", s.chars().take(159).collect::<String>())
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reports_what_changes_and_nothing_that_normalises_away() {
        let running = json!({
            "family": "web", "cpu": "512", "memory": "1024", "networkMode": "awsvpc",
            "taskDefinitionArn": "arn:aws:ecs:eu-west-1:1:task-definition/web:41", "revision": 41,
            "containerDefinitions": [{
                "name": "web", "image": "repo/web@sha256:aaa", "essential": true,
                "environment": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}],
                "secrets": [{"name": "DB", "valueFrom": "arn:…:db-old"}, {"name": "OLD", "valueFrom": "arn:…:x"}],
                "portMappings": [{"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"}],
                "mountPoints": []
            }, {"name": "sidecar", "image": "fluent-bit:1"}]
        });
        let rendered = json!({
            "family": "web", "cpu": 1024, "memory": "1024", "networkMode": "awsvpc",
            "containerDefinitions": [{
                "name": "web", "image": "repo/web@sha256:bbb",
                "environment": [{"name": "A", "value": "1"}, {"name": "C", "value": "3"}],
                "secrets": [{"name": "DB", "valueFrom": "arn:…:db-new"}, {"name": "NEW", "valueFrom": "arn:…:y"}],
                "portMappings": [{"containerPort": 8080}]
            }, {"name": "sidecar", "image": "fluent-bit:1"}]
        });
        let got: Vec<(String, String, String)> = diff(&running, &rendered)
            .into_iter()
            .map(|c| (c.what, c.before, c.after))
            .collect();
        let want = |w: &str, b: &str, a: &str| (w.to_string(), b.to_string(), a.to_string());
        assert_eq!(
            got,
            vec![
                want("cpu", "512", "1024"),
                want("web: image", "repo/web@sha256:aaa", "repo/web@sha256:bbb"),
                want("web: environment C", "—", "3"),
                want("web: environment B", "2", "—"),
                want("web: secret DB", "(a source)", "(another source)"),
                want("web: secret NEW", "—", "(set)"),
                want("web: secret OLD", "(set)", "—"),
            ]
        );
        assert!(diff(&running, &running).is_empty());
    }

    #[test]
    fn containers_added_and_removed() {
        let a = json!({"family": "f", "containerDefinitions": [{"name": "a", "image": "x"}]});
        let b = json!({"family": "f", "containerDefinitions": [{"name": "b", "image": "x"}]});
        let whats: Vec<String> = diff(&a, &b)
            .into_iter()
            .map(|c| format!("{} {}", c.what, c.after))
            .collect();
        assert_eq!(whats, vec!["b added", "a removed"]);
    }
}
