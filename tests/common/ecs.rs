//! ECS shapes for the deployment scenario tests (aws-smithy-mocks answers)
//! and `deployment::assess`'s unit tests (which include this file).

use aws_sdk_ecs::Client;
use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
use aws_sdk_ecs::operation::list_tasks::ListTasksOutput;
use aws_sdk_ecs::types::{Deployment, DeploymentRolloutState, Service, ServiceEvent};
use aws_smithy_mocks::mock;
use aws_smithy_types::DateTime;
use fargate_deploy::deployment::assess::{Followed, Verdict};

pub const OLD: &str = "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:1";
pub const NEW: &str = "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:2";

/// A deployment of 2 tasks, `running` of them running.
pub fn dep(
    id: &str,
    status: &str,
    td: &str,
    state: DeploymentRolloutState,
    running: i32,
) -> Deployment {
    dep_of(id, status, td, state, running, 2)
}

/// A deployment of `desired` tasks, `running` of them running, the rest pending.
pub fn dep_of(
    id: &str,
    status: &str,
    td: &str,
    state: DeploymentRolloutState,
    running: i32,
    desired: i32,
) -> Deployment {
    Deployment::builder()
        .id(id)
        .status(status)
        .task_definition(td)
        .rollout_state(state)
        .running_count(running)
        .desired_count(desired)
        .pending_count(desired - running)
        .build()
}

pub fn service(
    name: &str,
    deployments: Vec<Deployment>,
    events: Vec<(&str, &str, i64)>,
) -> Service {
    let events = events
        .into_iter()
        .map(|(id, msg, at)| {
            ServiceEvent::builder()
                .id(id)
                .message(format!("(service {name}) {msg}"))
                .created_at(DateTime::from_secs(at))
                .build()
        })
        .collect();
    Service::builder()
        .service_name(name)
        .status("ACTIVE")
        .desired_count(2)
        .set_deployments(Some(deployments))
        .set_events(Some(events))
        .build()
}

pub fn answer(services: Vec<Service>) -> DescribeServicesOutput {
    DescribeServicesOutput::builder()
        .set_services(Some(services))
        .build()
}

pub fn ours(service: &str) -> Followed {
    Followed {
        service: service.into(),
        deployment_id: "ecs-svc/2".into(),
        task_definition: NEW.into(),
    }
}

/// ListServiceDeployments: the service deployment `arn` is in progress.
pub fn in_progress(arn: &'static str) -> aws_smithy_mocks::Rule {
    use aws_sdk_ecs::operation::list_service_deployments::ListServiceDeploymentsOutput;
    use aws_sdk_ecs::types::ServiceDeploymentBrief;
    mock!(Client::list_service_deployments).then_output(move || {
        ListServiceDeploymentsOutput::builder()
            .service_deployments(
                ServiceDeploymentBrief::builder()
                    .service_deployment_arn(arn)
                    .build(),
            )
            .build()
    })
}

pub fn no_stopped_tasks() -> aws_smithy_mocks::Rule {
    mock!(Client::list_tasks).then_output(|| ListTasksOutput::builder().build())
}

/// A failed verdict's reason and whether it was rolled back; panics on any other.
pub fn failure(v: &Verdict) -> (&str, bool) {
    v.failure()
        .unwrap_or_else(|| panic!("not a failure: {v:?}"))
}
