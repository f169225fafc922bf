//! The pre-flight checks that read AWS (the rest of `preflight` is pure):
//! what a rendered definition refers to must exist before anything
//! changes. Each reference is read once, all of them at once, beside
//! nothing else the stage waits for (one round trip of wall time).
//!
//! A check the role may not make is a warning naming the IAM action to
//! add — never a failure: the run goes on without it.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Finding;
use crate::error::{aws_code, aws_message};

/// One awslogs log group a container of a target logs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogGroupRef {
    pub target: String,
    pub container: String,
    pub group: String,
}

/// The awslogs groups the containers of `definition` log to, in this
/// region, that must exist: not those with `awslogs-create-group: "true"`
/// (the task creates its group), nor those of another region (not read).
pub fn awslogs_groups(target: &str, definition: &Value, region: &str) -> Vec<LogGroupRef> {
    let containers = definition["containerDefinitions"].as_array();
    containers
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let log = &c["logConfiguration"];
            let options = &log["options"];
            let creates = options["awslogs-create-group"]
                .as_str()
                .is_some_and(|v| v.eq_ignore_ascii_case("true"));
            let elsewhere = options["awslogs-region"]
                .as_str()
                .is_some_and(|r| r != region);
            if log["logDriver"] != "awslogs" || creates || elsewhere {
                return None;
            }
            Some(LogGroupRef {
                target: target.to_string(),
                container: c["name"].as_str().unwrap_or("?").to_string(),
                group: options["awslogs-group"].as_str()?.to_string(),
            })
        })
        .collect()
}

/// What the reads found: things to fix, and checks that could not be made.
#[derive(Debug, Default)]
pub struct Checked {
    pub findings: Vec<Finding>,
    pub warnings: Vec<String>,
}

/// Whether each referenced log group exists: one DescribeLogGroups per
/// distinct group, all at once.
pub async fn log_groups(logs: &aws_sdk_cloudwatchlogs::Client, refs: &[LogGroupRef]) -> Checked {
    let mut by_group: BTreeMap<&str, Vec<&LogGroupRef>> = BTreeMap::new();
    for r in refs {
        by_group.entry(r.group.as_str()).or_default().push(r);
    }
    let reads = by_group.keys().map(|group| async move {
        let answer = logs
            .describe_log_groups()
            .log_group_name_prefix(*group)
            .limit(50)
            .send()
            .await;
        (*group, answer)
    });
    let mut checked = Checked::default();
    for (group, answer) in futures_util::future::join_all(reads).await {
        let users = &by_group[group];
        match answer {
            Ok(out)
                if out
                    .log_groups()
                    .iter()
                    .any(|g| g.log_group_name() == Some(group)) => {}
            Ok(_) => checked
                .findings
                .extend(users.iter().map(|r| missing_group(r))),
            Err(e) => checked.warnings.push(format!(
                "could not check that log group {group} exists ({}){}",
                aws_message(&e),
                match aws_code(&e) {
                    Some("AccessDeniedException") => {
                        "; add logs:DescribeLogGroups to the role's policy to have it checked"
                    }
                    _ => "",
                }
            )),
        }
    }
    checked
}

fn missing_group(r: &LogGroupRef) -> Finding {
    Finding {
        input: "task-definition",
        message: format!(
            "{}: container {} logs to the awslogs group {}, which does not exist: its tasks would stop with ResourceInitializationError; create the group, or set the log option awslogs-create-group to \"true\" (the execution role then needs logs:CreateLogGroup)",
            r.target, r.container, r.group
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_groups_that_must_exist_here_are_checked() {
        let td = json!({"containerDefinitions": [
            {"name": "web", "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web", "awslogs-region": "eu-west-1"}}},
            {"name": "made", "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/new", "awslogs-create-group": "True"}}},
            {"name": "far", "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/far", "awslogs-region": "us-east-1"}}},
            {"name": "router", "logConfiguration": {"logDriver": "awsfirelens"}},
            {"name": "bare"}
        ]});
        assert_eq!(
            awslogs_groups("web", &td, "eu-west-1"),
            [LogGroupRef {
                target: "web".into(),
                container: "web".into(),
                group: "/ecs/web".into()
            }]
        );
    }
}
