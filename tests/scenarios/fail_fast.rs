//! Scenario tests of fail-fast: a rolling deployment whose own tasks fail
//! the same way three times while none runs is stopped with rollback and
//! fails at once — not at the circuit breaker's threshold, not at the
//! timeout.

use crate::common;
use aws_sdk_ecs::types::DeploymentRolloutState as R;

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::operation::describe_service_deployments::DescribeServiceDeploymentsOutput;
use aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput;
use aws_sdk_ecs::operation::list_tasks::ListTasksOutput;
use aws_sdk_ecs::operation::stop_service_deployment::StopServiceDeploymentOutput;
use aws_sdk_ecs::operation::update_service::UpdateServiceOutput;
use aws_sdk_ecs::types::{Container, ServiceDeployment, Task, TaskStopCode};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use common::capture::runner;
use common::ecs::{NEW, OLD, answer, dep, failure, ours, service};
use fargate_deploy::deployment::wait::{Watch, wait_all};
use fargate_deploy::poll::PollSchedule;

const PULL: &str = "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref 123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:0: not found";
const SD_ARN: &str = "arn:aws:ecs:eu-west-1:123456789012:service-deployment/prod/web/d2";

/// Our deployment, nothing running, `failed` tasks failed so far.
fn describe(failed: i32) -> aws_smithy_mocks::Rule {
    let mut d = dep("ecs-svc/2", "PRIMARY", NEW, R::InProgress, 0);
    d.failed_tasks = failed;
    let old = dep("ecs-svc/1", "ACTIVE", OLD, R::Completed, 2);
    mock!(Client::describe_services)
        .then_output(move || answer(vec![service("web", vec![d.clone(), old.clone()], vec![])]))
}

/// Three stopped tasks of our deployment that could not pull their image.
fn stopped() -> [aws_smithy_mocks::Rule; 2] {
    let list = mock!(Client::list_tasks).then_output(|| {
        ListTasksOutput::builder()
            .task_arns("t1")
            .task_arns("t2")
            .task_arns("t3")
            .build()
    });
    let tasks = mock!(Client::describe_tasks).then_output(|| {
        let t = |id: &str| {
            Task::builder()
                .task_arn(format!("arn:aws:ecs:eu-west-1:123456789012:task/prod/{id}"))
                .started_by("ecs-svc/2")
                .stop_code(TaskStopCode::TaskFailedToStart)
                .stopped_reason(PULL)
                .containers(Container::builder().name("web").reason(PULL).build())
                .build()
        };
        DescribeTasksOutput::builder()
            .tasks(t("t1"))
            .tasks(t("t2"))
            .tasks(t("t3"))
            .build()
    });
    [list, tasks]
}

fn watch(fail_fast: bool) -> Watch<'static> {
    let mut w = Watch::new("prod", Duration::from_secs(1800), PollSchedule::default());
    if fail_fast {
        w.fail_fast = HashMap::from([("web".to_string(), OLD.to_string())]);
    }
    w
}

#[tokio::test(start_paused = true)]
async fn a_deployment_whose_image_cannot_be_pulled_is_stopped_with_rollback_at_once() {
    let describe = describe(3);
    let [list, tasks] = stopped();
    let in_progress = common::ecs::in_progress(SD_ARN);
    let stop = mock!(Client::stop_service_deployment)
        .match_requests(|r| {
            r.service_deployment_arn() == Some(SD_ARN)
                && r.stop_type().map(|t| t.as_str()) == Some("ROLLBACK")
        })
        .then_output(|| StopServiceDeploymentOutput::builder().build());
    // Not paused at a lifecycle hook: StopServiceDeployment is the way.
    let described = mock!(Client::describe_service_deployments).then_output(|| {
        DescribeServiceDeploymentsOutput::builder()
            .service_deployments(
                ServiceDeployment::builder()
                    .service_deployment_arn(SD_ARN)
                    .build(),
            )
            .build()
    });
    let rules = [&describe, &list, &tasks, &in_progress, &stop, &described];
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &rules);
    let (r, log) = runner();
    let started = tokio::time::Instant::now();
    let results = wait_all(&ecs, &r, vec![ours("web")], watch(true)).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "ended at the first poll that saw it, not at the timeout: {:?}",
        started.elapsed()
    );
    assert_eq!(stop.num_calls(), 1);
    // The stopped tasks fail-fast judged on are the ones the failure reports.
    assert_eq!(list.num_calls(), 1, "stopped tasks read once");
    assert_eq!(results[0].stopped_reasons.len(), 3, "{:?}", results[0]);
    let (reason, rolled_back) = failure(&results[0].verdict);
    assert!(rolled_back);
    assert!(
        reason.starts_with("fail-fast: CannotPullContainerError: 3 tasks of deployment ecs-svc/2 could not pull their image (CannotPullContainerError: pull image manifest"),
        "{reason}"
    );
    assert!(
        reason.contains("stopped with rollback: StopServiceDeployment (ROLLBACK) of service deployment d2, back to web:1"),
        "{reason}"
    );
    assert!(
        reason.contains("the execution role may pull it"),
        "{reason}"
    );
    assert!(
        !log.text().contains("::warning"),
        "the failure says it; no warning besides"
    );
}

#[tokio::test(start_paused = true)]
async fn without_service_deployments_it_updates_the_service_back() {
    let describe = describe(3);
    let [list, tasks] = stopped();
    let unavailable = mock!(Client::list_service_deployments).then_http_response(|| {
        Response::new(
            StatusCode::try_from(400).unwrap(),
            SdkBody::from(r#"{"__type":"UnknownOperationException","message":"not here"}"#),
        )
    });
    let back = mock!(Client::update_service)
        .match_requests(|r| r.service() == Some("web") && r.task_definition() == Some(OLD))
        .then_output(|| UpdateServiceOutput::builder().build());
    let rules = [&describe, &list, &tasks, &unavailable, &back];
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &rules);
    let (r, _) = runner();
    let results = wait_all(&ecs, &r, vec![ours("web")], watch(true)).await;
    assert_eq!(back.num_calls(), 1);
    let (reason, _) = failure(&results[0].verdict);
    assert!(
        reason.contains("stopped with rollback: UpdateService back to web:1"),
        "{reason}"
    )
}

/// With `fail-fast: false`, the same deployment is named once and waited
/// for: nothing is stopped (here, until the timeout).
#[tokio::test(start_paused = true)]
async fn without_fail_fast_it_is_named_and_left_to_ecs() {
    let describe = describe(3);
    let [list, tasks] = stopped();
    let stop = mock!(Client::stop_service_deployment)
        .then_output(|| StopServiceDeploymentOutput::builder().build());
    let rules = [&describe, &list, &tasks, &stop];
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &rules);
    let (r, log) = runner();
    let mut w = watch(false);
    w.timeout = Duration::from_secs(60);
    let results = wait_all(&ecs, &r, vec![ours("web")], w).await;
    assert_eq!(stop.num_calls(), 0);
    assert_eq!(
        list.num_calls(),
        2,
        "read once while waiting (failedTasks did not grow again), once for the failure report"
    );
    assert_eq!(log.text().matches("could not pull their image").count(), 1);
    let (reason, _) = failure(&results[0].verdict);
    assert!(reason.starts_with("timed out after 1 min"), "{reason}");
    assert!(
        reason.contains("3 so far: the image cannot be pulled"),
        "{reason}"
    );
}
