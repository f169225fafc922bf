//! The one-off task (the migration): where it runs (taken from the
//! service), starting it, and reading its result.

pub mod logs;
pub mod wait;

use std::time::Duration;

use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem, ContainerOverride,
    LaunchType, NetworkConfiguration, PropagateTags, Service, Task, TaskOverride,
};
use serde_json::Value;

use anyhow::anyhow;

use crate::error::{OrFailed, bad_input};
use crate::inputs::TaskSettings;

/// Everything RunTask needs besides the task definition, decided before any change.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskPlan {
    pub launch_type: Option<LaunchType>,
    pub capacity_provider_strategy: Vec<CapacityProviderStrategyItem>,
    pub platform_version: Option<String>,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub assign_public_ip: Option<bool>,
    /// The container whose command is overridden and whose exit code decides.
    pub container: String,
    pub command: Option<Vec<String>>,
    pub started_by: String,
    /// Where each setting came from, for the log.
    pub origin: String,
}

/// Placement from the service, overridden by `subnets`, `security-groups` and
/// `assign-public-ip`; without a service those are required for awsvpc.
pub fn plan(
    settings: &TaskSettings,
    service: Option<&Service>,
    td: &Value,
    image_containers: &[String],
) -> anyhow::Result<TaskPlan> {
    let container = migration_container(settings, td, image_containers)?;
    let (network, mut origin) = network(settings, service);
    let Network {
        subnets,
        security_groups,
        assign_public_ip,
    } = network;
    if service.is_some() {
        origin.insert(0, "placement from the service");
    }
    if td["networkMode"].as_str() == Some("awsvpc") && subnets.is_empty() {
        return Err(bad_input("subnets", match service {
            Some(s) => format!("service {} has no awsvpc subnets to copy: set input `subnets` (and `security-groups`)", s.service_name().unwrap_or("?")),
            None => "input `subnets` is required for an awsvpc task when no `service` is given (the service's network settings are copied otherwise)".into(),
        }));
    }
    let cps = service
        .map(|s| s.capacity_provider_strategy().to_vec())
        .unwrap_or_default();
    let launch_type = match (
        service.and_then(|s| s.launch_type()).cloned(),
        cps.is_empty(),
    ) {
        (Some(lt), _) => Some(lt),
        (None, true) => Some(LaunchType::Fargate),
        (None, false) => None,
    };
    Ok(TaskPlan {
        launch_type,
        capacity_provider_strategy: cps,
        platform_version: service
            .and_then(|s| s.platform_version())
            .map(str::to_string),
        subnets,
        security_groups,
        assign_public_ip,
        container,
        command: settings.command.clone(),
        started_by: settings.started_by.clone(),
        origin: match origin.is_empty() {
            true => "placement from inputs".into(),
            false => origin.join(", "),
        },
    })
}

/// `migration-container`, which must exist, or the first container that
/// receives the image.
fn migration_container(
    settings: &TaskSettings,
    td: &Value,
    image_containers: &[String],
) -> anyhow::Result<String> {
    let names: Vec<&str> = td["containerDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    match &settings.container {
        Some(c) if names.contains(&c.as_str()) => Ok(c.clone()),
        Some(c) => Err(bad_input(
            "migration-container",
            format!(
                "input `migration-container`: no container `{c}` in family `{}`; its containers are: {}",
                td["family"].as_str().unwrap_or(""),
                names.join(", ")
            ),
        )),
        None => Ok(image_containers
            .first()
            .cloned()
            .unwrap_or_else(|| names[0].to_string())),
    }
}

/// Where the task's network interface goes.
struct Network {
    subnets: Vec<String>,
    security_groups: Vec<String>,
    assign_public_ip: Option<bool>,
}

/// Subnets, security groups and public IP: each input where given, else
/// the service's; with where they came from.
fn network(settings: &TaskSettings, service: Option<&Service>) -> (Network, Vec<&'static str>) {
    let vpc = service
        .and_then(|s| s.network_configuration())
        .and_then(|n| n.awsvpc_configuration());
    let mut origin = Vec::new();
    let subnets = match settings.subnets.is_empty() {
        true => vpc.map(|v| v.subnets().to_vec()).unwrap_or_default(),
        false => {
            origin.push("subnets from input");
            settings.subnets.clone()
        }
    };
    let security_groups = match settings.security_groups.is_empty() {
        true => vpc
            .map(|v| v.security_groups().to_vec())
            .unwrap_or_default(),
        false => {
            origin.push("security groups from input");
            settings.security_groups.clone()
        }
    };
    let assign_public_ip = settings.assign_public_ip.or_else(|| {
        vpc.and_then(|v| v.assign_public_ip())
            .map(|a| *a == AssignPublicIp::Enabled)
    });
    let network = Network {
        subnets,
        security_groups,
        assign_public_ip,
    };
    (network, origin)
}

/// RunTask `failures` worth another try: capacity that may free up.
pub fn is_transient_failure(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    r.contains("capacity is unavailable")
        || r.contains("resource:")
        || r.contains("temporarily")
        || r.contains("throttl")
}

/// How many times RunTask is tried when ECS reports transient capacity failures.
pub const RUN_TASK_ATTEMPTS: u32 = 4;

/// Starts the task; retries transient capacity failures with backoff.
pub async fn run_task(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    task_definition: &str,
    plan: &TaskPlan,
    cancel: &crate::cancel::Cancel,
) -> anyhow::Result<Task> {
    let mut last = String::new();
    for attempt in 1..=RUN_TASK_ATTEMPTS {
        if attempt > 1 {
            // A cancelled run does not wait to retry (nothing was started yet).
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(5 << (attempt - 2))) => {}
                signal = cancel.signalled() => {
                    return Err(anyhow!("the workflow run was cancelled ({signal}) while RunTask waited to retry; no task was started"));
                }
            }
        }
        let out = request(ecs, cluster, task_definition, plan)
            .send()
            .await
            .or_failed("RunTask")?;
        if let Some(task) = out.tasks().first() {
            return Ok(task.clone());
        }
        let reasons: Vec<String> = out
            .failures()
            .iter()
            .map(|f| {
                let detail = f.detail().map(|d| format!(" ({d})")).unwrap_or_default();
                format!("{}{detail}", f.reason().unwrap_or("unknown"))
            })
            .collect();
        last = match reasons.is_empty() {
            true => "ECS started no task and gave no reason".into(),
            false => reasons.join("; "),
        };
        if !reasons.iter().any(|r| is_transient_failure(r)) {
            break;
        }
    }
    Err(anyhow!("ECS could not start the task: {last}"))
}

/// The RunTask request the plan describes: one task, the migration
/// container's command, the service's placement and network.
fn request(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    task_definition: &str,
    plan: &TaskPlan,
) -> aws_sdk_ecs::operation::run_task::builders::RunTaskFluentBuilder {
    let over = ContainerOverride::builder()
        .name(&plan.container)
        .set_command(plan.command.clone())
        .build();
    let mut req = ecs
        .run_task()
        .cluster(cluster)
        .task_definition(task_definition)
        .count(1)
        .started_by(&plan.started_by)
        .propagate_tags(PropagateTags::TaskDefinition)
        .enable_ecs_managed_tags(true)
        .overrides(TaskOverride::builder().container_overrides(over).build())
        .set_launch_type(plan.launch_type.clone())
        .set_platform_version(plan.platform_version.clone());
    if !plan.capacity_provider_strategy.is_empty() {
        req = req.set_capacity_provider_strategy(Some(plan.capacity_provider_strategy.clone()));
    }
    if !plan.subnets.is_empty() {
        let vpc = AwsVpcConfiguration::builder()
            .set_subnets(Some(plan.subnets.clone()))
            .set_security_groups(Some(plan.security_groups.clone()))
            .set_assign_public_ip(plan.assign_public_ip.map(|p| match p {
                true => AssignPublicIp::Enabled,
                false => AssignPublicIp::Disabled,
            }))
            .build()
            .expect("subnets, the one required member, are set");
        req = req.network_configuration(
            NetworkConfiguration::builder()
                .awsvpc_configuration(vpc)
                .build(),
        );
    }
    req
}

/// How a stopped task ended, judged by its migration container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskOutcome {
    Exited(i32),
    /// No exit code: it never ran (TaskFailedToStart, CannotPullContainerError …).
    NoExitCode(String),
}

pub fn outcome(task: &Task, container: &str) -> TaskOutcome {
    let c = task
        .containers()
        .iter()
        .find(|c| c.name() == Some(container))
        .or(task.containers().first());
    if let Some(code) = c.and_then(|c| c.exit_code()) {
        return TaskOutcome::Exited(code);
    }
    let mut parts = Vec::new();
    if let Some(code) = task.stop_code() {
        parts.push(code.as_str().to_string());
    }
    if let Some(r) = task.stopped_reason().filter(|r| !r.is_empty()) {
        parts.push(r.to_string());
    }
    if let Some(r) = c
        .and_then(|c| c.reason())
        .filter(|r| !parts.iter().any(|p| p == r))
    {
        parts.push(format!(
            "container {}: {r}",
            c.and_then(|c| c.name()).unwrap_or(container)
        ));
    }
    TaskOutcome::NoExitCode(if parts.is_empty() {
        "the task stopped without an exit code or a reason".into()
    } else {
        parts.join(": ")
    })
}

/// The id of a task ARN.
pub fn task_id(arn: &str) -> &str {
    crate::arn::last_segment(arn)
}

pub fn console_url(region: &str, cluster: &str, task_arn: &str) -> String {
    format!(
        "https://{region}.console.aws.amazon.com/ecs/v2/clusters/{cluster}/tasks/{}/configuration?region={region}",
        task_id(task_arn)
    )
}

#[cfg(test)]
mod tests;
