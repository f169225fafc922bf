//! What a rendered definition changes against another — the one a service
//! runs now — for people: the job summary of `mode: render` (and the plan
//! comment to come). Both sides are normalised first, so ECS's defaults and
//! list order are not reported as changes. Secrets show their names only;
//! environment values are hidden too (`added` / `changed` / `removed`)
//! unless the caller asks for them: a pull-request comment is read by
//! everyone who can read the pull request, and the runner's masking does not
//! apply to what is posted through the API.

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

pub fn diff(before: &Value, after: &Value, show_values: bool) -> Vec<Change> {
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
                let env = if show_values {
                    Shown::Values
                } else {
                    Shown::Presence
                };
                keyed(&mut out, &n, "environment", &eb, &ea, env);
                let (sb, sa) = (
                    pairs(&x, "secrets", "valueFrom"),
                    pairs(&y, "secrets", "valueFrom"),
                );
                keyed(&mut out, &n, "secret", &sb, &sa, Shown::Sources);
            }
            (None, None) => {}
        }
    }
    out
}

/// How a keyed list's values are shown.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shown {
    Values,
    /// `added` / `changed` / `removed`.
    Presence,
    /// Secrets: their sources (ARNs) are not shown either.
    Sources,
}

fn keyed(
    out: &mut Vec<Change>,
    container: &str,
    kind: &str,
    before: &[(String, Value)],
    after: &[(String, Value)],
    shown: Shown,
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
        let (bx, ay) = match (shown, &x, &y) {
            (Shown::Values, _, _) => (opt_text(&x), opt_text(&y)),
            (Shown::Presence, None, _) => ("—".into(), "added".into()),
            (Shown::Presence, _, None) => ("(set)".into(), "removed".into()),
            (Shown::Presence, _, _) => ("(set)".into(), "changed".into()),
            (Shown::Sources, Some(_), Some(_)) => ("(a source)".into(), "(another source)".into()),
            (Shown::Sources, _, _) => (presence(&x), presence(&y)),
        };
        out.push(change(format!("{container}: {kind} {k}"), bx, ay));
    }
}

fn opt_text(v: &Option<Value>) -> String {
    v.as_ref().map(text).unwrap_or_else(|| "—".into())
}

fn presence(v: &Option<Value>) -> String {
    if v.is_some() { "(set)" } else { "—" }.into()
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

    fn rows(changes: Vec<Change>) -> Vec<(String, String, String)> {
        changes
            .into_iter()
            .map(|c| (c.what, c.before, c.after))
            .collect()
    }

    fn want(what: &str, before: &str, after: &str) -> (String, String, String) {
        (what.into(), before.into(), after.into())
    }

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
        assert_eq!(
            rows(diff(&running, &rendered, true)),
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
        assert!(diff(&running, &running, true).is_empty());
    }

    #[test]
    fn environment_values_are_hidden_unless_asked_for() {
        let env = |pairs: &[(&str, &str)]| {
            let list: Vec<Value> = pairs
                .iter()
                .map(|(n, v)| json!({"name": n, "value": v}))
                .collect();
            json!({"family": "f", "containerDefinitions": [{"name": "web", "image": "x", "environment": list}]})
        };
        let running = env(&[("STRIPE_API_KEY", "sk_live_1"), ("DB_PASSWORD", "old-pw")]);
        let rendered = env(&[("DB_PASSWORD", "new-pw"), ("TOKEN", "t0k")]);
        assert_eq!(
            rows(diff(&running, &rendered, false)),
            vec![
                want("web: environment DB_PASSWORD", "(set)", "changed"),
                want("web: environment TOKEN", "—", "added"),
                want("web: environment STRIPE_API_KEY", "(set)", "removed"),
            ]
        );
        let shown = format!("{:?}", diff(&running, &rendered, true));
        assert!(shown.contains("sk_live_1") && shown.contains("new-pw"));
    }

    #[test]
    fn containers_added_and_removed() {
        let a = json!({"family": "f", "containerDefinitions": [{"name": "a", "image": "x"}]});
        let b = json!({"family": "f", "containerDefinitions": [{"name": "b", "image": "x"}]});
        let whats: Vec<String> = diff(&a, &b, false)
            .into_iter()
            .map(|c| format!("{} {}", c.what, c.after))
            .collect();
        assert_eq!(whats, vec!["b added", "a removed"]);
    }
}
