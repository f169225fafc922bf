//! The tool's judgement over AWS's own answers: DescribeServices of a
//! rolling deployment under way, after a circuit-breaker rollback and after
//! an alarm rollback; DescribeTasks of tasks stopped each way ECS stops
//! them. The answers are the fixtures of `tests/fixtures/aws` (sources in
//! its README), read by the SDK's deserializer from the wire.

use crate::common;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{Service, Task};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use common::recorded::body;
use fargate_deploy::deployment::assess::{Followed, Verdict, assess};
use fargate_deploy::deployment::hopeless::{Class, detect};
use fargate_deploy::runtask::{TaskOutcome, outcome};

const OURS: &str = "ecs-svc/2216873522431178940";

async fn service(fixture: &'static str) -> Service {
    let rule = mock!(Client::describe_services)
        .sequence()
        .http_status(200, Some(body(fixture)))
        .build();
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&rule]);
    let out = ecs
        .describe_services()
        .cluster("prod")
        .services("web")
        .send()
        .await;
    out.unwrap().services()[0].clone()
}

async fn tasks(fixture: &'static str) -> Vec<Task> {
    let rule = mock!(Client::describe_tasks)
        .sequence()
        .http_status(200, Some(body(fixture)))
        .build();
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&rule]);
    let out = ecs.describe_tasks().cluster("prod").tasks("t").send().await;
    out.unwrap().tasks().to_vec()
}

fn ours() -> Followed {
    Followed {
        service: "web".into(),
        deployment_id: OURS.into(),
        task_definition: "arn:aws:ecs:eu-west-1:111122223333:task-definition/web:8".into(),
    }
}

/// The service of `fixture`, judged a failure that rolled back; its reason.
async fn rolled_back(fixture: &'static str) -> (Service, String) {
    let svc = service(fixture).await;
    let verdict = assess(&svc, &ours());
    let (reason, rolled_back) = common::ecs::failure(&verdict);
    assert!(rolled_back, "{reason}");
    let reason = reason.to_string();
    (svc, reason)
}

#[tokio::test]
async fn a_rolling_deployment_under_way_is_waited_for() {
    let svc = service("ecs-describe-services-rolling.json").await;
    match assess(&svc, &ours()) {
        Verdict::Waiting(state) => assert!(state.contains("1/2 running"), "{state}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_circuit_breaker_rollback_is_a_failure_that_rolled_back() {
    let (_, reason) = rolled_back("ecs-describe-services-circuit-breaker-rollback.json").await;
    assert!(
        reason.starts_with(
            "ECS deployment circuit breaker: tasks failed to start. ECS is rolling back to web:7"
        ),
        "{reason}"
    );
}

#[tokio::test]
async fn an_alarm_rollback_is_a_failure_that_rolled_back_in_ecs_words() {
    let (svc, reason) = rolled_back("ecs-describe-services-alarm-rollback.json").await;
    let said = svc.deployments()[1].rollout_state_reason().unwrap();
    assert!(reason.starts_with(said.trim_end_matches('.')), "{reason}");
    assert!(reason.contains("ECS is rolling back to web:7"), "{reason}");
}

#[tokio::test]
async fn tasks_that_cannot_start_are_classed_as_hopeless() {
    let pull = detect(&tasks("ecs-describe-tasks-cannot-pull.json").await, OURS).unwrap();
    assert_eq!(pull.class, Class::CannotPull);
    assert_eq!(pull.tasks, 3);
    assert!(
        pull.reason.starts_with(
            "CannotPullContainerError: pull image manifest has been retried 5 time(s)"
        )
    );
    let never_ran = outcome(
        &tasks("ecs-describe-tasks-cannot-pull.json").await[0],
        "web",
    );
    assert!(
        matches!(never_ran, TaskOutcome::NoExitCode(r) if r.contains("CannotPullContainerError"))
    );
    let init = detect(
        &tasks("ecs-describe-tasks-resource-initialization.json").await,
        OURS,
    )
    .unwrap();
    assert_eq!(init.class, Class::ResourceInitialization);
    assert!(
        init.reason
            .contains("unable to pull secrets or registry auth")
    );
    assert!(
        detect(
            &tasks("ecs-describe-tasks-cannot-pull.json").await,
            "ecs-svc/1"
        )
        .is_none(),
        "another deployment's tasks"
    );
}

#[tokio::test]
async fn crashing_containers_are_a_crash_loop_with_their_exit_code() {
    for (fixture, code) in [
        ("ecs-describe-tasks-out-of-memory.json", 137),
        ("ecs-describe-tasks-essential-exit.json", 1),
    ] {
        let stopped = tasks(fixture).await;
        let found = detect(&stopped, OURS).unwrap();
        assert_eq!(
            found.class,
            Class::CrashLoop {
                container: "web".into(),
                code
            },
            "{fixture}"
        );
        assert_eq!(
            outcome(&stopped[0], "web"),
            TaskOutcome::Exited(code),
            "{fixture}"
        );
    }
}
