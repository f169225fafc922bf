//! A deployment's stopped tasks — ListTasks (STOPPED) of its service, then
//! DescribeTasks in batches — and what they say: one line per way they
//! stopped, and for a failed ECS-native or CodeDeploy deployment, its new
//! revision's tasks and their last log lines.

use aws_config::SdkConfig;
use aws_sdk_ecs::types::{DesiredStatus, Task};

use super::assess::{Followed, Verdict};
use super::crashed;
use super::wait::WaitResult;
use crate::error::{aws_message, is_transient};

/// DescribeTasks accepts at most this many tasks per call.
pub const DESCRIBE_TASKS_BATCH: usize = 100;

/// The stopped tasks of the service that this deployment started (or that
/// carry no `startedBy`). `Err` with a message when ECS cannot be read now.
pub async fn stopped_tasks(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    f: &Followed,
) -> Result<Vec<Task>, Option<String>> {
    let ours = |t: &Task| t.started_by().is_none_or(|s| s == f.deployment_id);
    stopped_tasks_where(ecs, cluster, &f.service, ours).await
}

/// The stopped tasks of `service` that `keep` keeps.
pub(crate) async fn stopped_tasks_where(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
    keep: impl Fn(&Task) -> bool,
) -> Result<Vec<Task>, Option<String>> {
    let listed = ecs
        .list_tasks()
        .cluster(cluster)
        .service_name(service)
        .desired_status(DesiredStatus::Stopped)
        .send()
        .await;
    let arns = match listed {
        Ok(out) => out.task_arns().to_vec(),
        Err(e) if is_transient(&e) => return Err(Some(aws_message(&e))),
        Err(_) => return Err(None),
    };
    let mut tasks = Vec::new();
    for chunk in arns.chunks(DESCRIBE_TASKS_BATCH) {
        let Ok(out) = ecs
            .describe_tasks()
            .cluster(cluster)
            .set_tasks(Some(chunk.to_vec()))
            .send()
            .await
        else {
            break;
        };
        tasks.extend(out.tasks().iter().filter(|t| keep(t)).cloned());
    }
    Ok(tasks)
}

/// Why a failed ECS-native or CodeDeploy deployment failed, from its new
/// revision's stopped tasks (ECS starts them for the deployment's task set,
/// under a `startedBy` of its own): their reasons, and (with `logs`) their
/// containers' last log lines — as a failed rolling deployment says.
pub async fn explain_failure(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    logs: Option<&(SdkConfig, String)>,
    result: &mut WaitResult,
) {
    if !matches!(result.verdict, Verdict::Failed { .. }) {
        return;
    }
    let f = &result.followed;
    let of_revision = |t: &Task| {
        t.task_definition_arn()
            .is_some_and(|td| super::assess::same_revision(td, &f.task_definition))
    };
    match stopped_tasks_where(ecs, cluster, &f.service, of_revision).await {
        Ok(tasks) if !tasks.is_empty() => {
            result.stopped_reasons = reasons_of(&tasks);
            if let Some((config, region)) = logs
                && let Ok(td) =
                    crate::taskdef::api::describe_task_definition(ecs, &f.task_definition).await
            {
                result.crash_logs = crashed::last_words(config, region, &tasks, &td).await;
            }
        }
        Ok(_) => {}
        Err(Some(m)) => result.stopped_reasons = vec![format!("(stopped tasks unavailable: {m})")],
        Err(None) => {}
    }
}

/// `stoppedReason` (and container reasons / exit codes) of the tasks this
/// deployment started and ECS stopped. Best effort: errors give an empty list.
pub async fn stopped_task_reasons(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    f: &Followed,
) -> Vec<String> {
    match stopped_tasks(ecs, cluster, f).await {
        Ok(tasks) => reasons_of(&tasks),
        Err(Some(m)) => vec![format!("(stopped tasks unavailable: {m})")],
        Err(None) => Vec::new(),
    }
}

/// One line per distinct way the tasks stopped (at most five).
pub(crate) fn reasons_of(tasks: &[Task]) -> Vec<String> {
    let mut reasons: Vec<String> = Vec::new();
    for t in tasks {
        let id = t.task_arn().map(crate::arn::last_segment).unwrap_or("?");
        let mut line = format!("task {id}: {}", t.stopped_reason().unwrap_or("stopped"));
        for c in t.containers() {
            match (c.exit_code(), c.reason()) {
                (Some(code), _) if code != 0 => line.push_str(&format!(
                    "; {} exited with code {code}",
                    c.name().unwrap_or("?")
                )),
                (_, Some(r)) => line.push_str(&format!("; {}: {r}", c.name().unwrap_or("?"))),
                _ => {}
            }
        }
        if !reasons.contains(&line) {
            reasons.push(line);
        }
    }
    reasons.truncate(5);
    reasons
}
