//! Why a failed deployment's tasks stopped, in the containers' own words:
//! for up to [`MAX_TASKS`] of its stopped tasks, the last [`LINES`] lines of
//! the essential container's awslogs stream (the migrate log reader's
//! stream naming), or where its logs are when it uses another driver.

use aws_config::SdkConfig;
use aws_sdk_ecs::types::Task;
use serde_json::Value;

use crate::runtask::logs::{LogFollower, LogStream};

/// How many stopped tasks get their log read.
pub const MAX_TASKS: usize = 3;
/// How many of the last lines of each.
pub const LINES: i32 = 20;

/// One stopped task's last words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrashLog {
    /// What the lines are: the task, its container and exit, the stream.
    pub title: String,
    /// The last lines, oldest first; empty with a title that says why.
    pub lines: Vec<String>,
}

/// The container whose log tells why `task` stopped: the one that exited
/// non-zero, else the first essential one (`essential` defaults to true).
fn culprit<'a>(task: &Task, td: &'a Value) -> Option<&'a Value> {
    let containers = td["containerDefinitions"].as_array()?;
    let by_name = |name: &str| containers.iter().find(|c| c["name"].as_str() == Some(name));
    task.containers()
        .iter()
        .filter(|c| c.exit_code().is_some_and(|code| code != 0))
        .find_map(|c| by_name(c.name()?))
        .or_else(|| {
            containers
                .iter()
                .find(|c| c["essential"].as_bool() != Some(false))
        })
}

/// Where `container`'s logs are, when not in an awslogs stream.
fn elsewhere(container: &Value) -> String {
    let name = container["name"].as_str().unwrap_or("?");
    match container["logConfiguration"]["logDriver"].as_str() {
        None => format!("container {name} has no logConfiguration: its output was not kept"),
        Some("awsfirelens") => format!(
            "container {name} logs through FireLens (awsfirelens): its output is wherever the log router sends it"
        ),
        Some("awslogs") => format!(
            "container {name} uses awslogs without awslogs-stream-prefix: its stream cannot be named"
        ),
        Some(driver) => format!("container {name} logs with the {driver} driver: look there"),
    }
}

/// The last lines of up to [`MAX_TASKS`] of `tasks`, whose definition is `td`.
pub async fn last_words(
    config: &SdkConfig,
    region: &str,
    tasks: &[Task],
    td: &Value,
) -> Vec<CrashLog> {
    let mut logs = Vec::new();
    for task in tasks.iter().take(MAX_TASKS) {
        let id = task.task_arn().map(crate::arn::last_segment).unwrap_or("?");
        let Some(container) = culprit(task, td) else {
            continue;
        };
        let name = container["name"].as_str().unwrap_or("?");
        let exit = task
            .containers()
            .iter()
            .find(|c| c.name() == Some(name))
            .and_then(|c| c.exit_code())
            .map(|code| format!(", exit code {code}"))
            .unwrap_or_default();
        let head = format!(
            "task {id} ({}{exit})",
            task.stopped_reason().unwrap_or("stopped")
        );
        let Some(stream) = LogStream::for_container(container, id, region) else {
            logs.push(CrashLog {
                title: format!("{head}: {}", elsewhere(container)),
                lines: Vec::new(),
            });
            continue;
        };
        let at = format!("{} {}", stream.group, stream.stream);
        let log = match LogFollower::new(config, stream).last_lines(LINES).await {
            Ok(lines) if lines.is_empty() => CrashLog {
                title: format!("{head}: {name} wrote nothing to {at}"),
                lines,
            },
            Ok(lines) => CrashLog {
                title: format!("{head}: last {} lines of {name} ({at})", lines.len()),
                lines,
            },
            Err(why) => CrashLog {
                title: format!("{head}: its log {at} cannot be read ({why})"),
                lines: Vec::new(),
            },
        };
        logs.push(log);
    }
    logs
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::types::Container;
    use serde_json::json;

    fn td() -> Value {
        json!({"containerDefinitions": [
            {"name": "log-router", "essential": false, "logConfiguration": {"logDriver": "awsfirelens"}},
            {"name": "web", "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web", "awslogs-stream-prefix": "ecs"}}},
            {"name": "sidecar", "logConfiguration": {"logDriver": "splunk"}}
        ]})
    }

    fn task(exits: &[(&str, i32)]) -> Task {
        let mut t = Task::builder().task_arn("arn:aws:ecs:eu-west-1:1:task/prod/abc");
        for (name, code) in exits {
            t = t.containers(Container::builder().name(*name).exit_code(*code).build());
        }
        t.build()
    }

    #[test]
    fn the_container_that_exited_non_zero_else_the_first_essential_one() {
        let td = td();
        let c = |t: &Task| {
            culprit(t, &td).unwrap()["name"]
                .as_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(c(&task(&[("web", 0), ("sidecar", 2)])), "sidecar");
        assert_eq!(
            c(&task(&[])),
            "web",
            "launch failures: the essential container"
        );
        assert_eq!(
            elsewhere(&td["containerDefinitions"][2]),
            "container sidecar logs with the splunk driver: look there"
        );
        assert!(elsewhere(&td["containerDefinitions"][0]).contains("FireLens"));
        assert!(elsewhere(&json!({"name": "x"})).contains("no logConfiguration"));
    }
}
