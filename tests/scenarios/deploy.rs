//! Scenario tests of the deployment orchestration with aws-smithy-mocks and
//! paused tokio time: minutes of waiting run in milliseconds.

use crate::common;
use aws_sdk_ecs::types::DeploymentRolloutState as R;

use std::time::Duration;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
use aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput;
use aws_sdk_ecs::operation::list_tasks::ListTasksOutput;
use aws_sdk_ecs::types::{Container, Failure as EcsFailure, Task};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::DateTime;
use aws_smithy_types::body::SdkBody;
use common::capture::runner;
use common::ecs::{NEW, OLD, answer, dep, failure, no_stopped_tasks, ours, service};
use fargate_deploy::deployment::assess::Verdict;
use fargate_deploy::deployment::wait::{WaitResult, Watch, wait_all};
use fargate_deploy::poll::PollSchedule;
use fargate_deploy::runner::Runner;

/// Waits for our deployment of `web` (10 minutes at most).
async fn wait_web(ecs: &Client, r: &Runner, schedule: PollSchedule) -> Vec<WaitResult> {
    wait_all(
        ecs,
        r,
        vec![ours("web")],
        Watch::new("prod", Duration::from_secs(600), schedule),
    )
    .await
}

#[tokio::test(start_paused = true)]
async fn success_after_progress_with_events_printed_once() {
    let t0 = 1_800_000_000;
    let describe = mock!(Client::describe_services)
        .sequence()
        .output(move || {
            answer(vec![service(
                "web",
                vec![
                    dep("ecs-svc/2", "PRIMARY", NEW, R::InProgress, 0),
                    dep("ecs-svc/1", "ACTIVE", OLD, R::Completed, 2),
                ],
                vec![
                    ("e0", "old event", t0 - 100),
                    ("e1", "has started 2 tasks: (task a) (task b).", t0 + 1),
                ],
            )])
        })
        .times(3)
        .output(move || {
            answer(vec![service(
                "web",
                vec![dep("ecs-svc/2", "PRIMARY", NEW, R::Completed, 2)],
                vec![
                    ("e0", "old event", t0 - 100),
                    ("e1", "has started 2 tasks: (task a) (task b).", t0 + 1),
                    ("e2", "has reached a steady state.", t0 + 30),
                ],
            )])
        })
        .repeatedly()
        .build();
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &[&describe]);
    let (r, log) = runner();
    let results = wait_all(
        &ecs,
        &r,
        vec![ours("web")],
        Watch {
            since: Some(DateTime::from_secs(t0)),
            ..Watch::new("prod", Duration::from_secs(600), PollSchedule::default())
        },
    )
    .await;
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].verdict, Verdict::Succeeded);
    assert_eq!(
        describe.num_calls(),
        4,
        "polled until the deployment completed, no more"
    );
    let text = log.text();
    assert_eq!(text.matches("has started 2 tasks").count(), 1, "{text}");
    assert!(
        !text.contains("old event"),
        "events from before the update are not printed: {text}"
    );
    assert!(text.contains("[web] (service web) has reached a steady state."));
    assert!(text.contains("[web] IN_PROGRESS, 0/2 running, 2 pending"));
}

#[tokio::test(start_paused = true)]
async fn circuit_breaker_rollback_is_reported_with_stopped_task_reasons() {
    let mut failed = dep("ecs-svc/2", "ACTIVE", NEW, R::Failed, 0);
    failed.rollout_state_reason =
        Some("ECS deployment circuit breaker: tasks failed to start.".into());
    let rollback = dep("ecs-svc/3", "PRIMARY", OLD, R::InProgress, 0);
    let describe = mock!(Client::describe_services).then_output(move || {
        answer(vec![service(
            "web",
            vec![rollback.clone(), failed.clone()],
            vec![("e1", "rolling back to deployment ecs-svc/1.", 1)],
        )])
    });
    let list = mock!(Client::list_tasks).then_output(|| {
        ListTasksOutput::builder()
            .task_arns("arn:task/1")
            .task_arns("arn:task/2")
            .build()
    });
    let tasks = mock!(Client::describe_tasks).then_output(|| {
        DescribeTasksOutput::builder()
            .tasks(
                Task::builder()
                    .task_arn("arn:task/1")
                    .started_by("ecs-svc/2")
                    .stopped_reason("Essential container in task exited")
                    .containers(Container::builder().name("web").exit_code(3).build())
                    .build(),
            )
            .tasks(
                Task::builder()
                    .task_arn("arn:task/2")
                    .started_by("ecs-svc/1")
                    .stopped_reason("Scaling activity initiated by deployment ecs-svc/1")
                    .build(),
            )
            .build()
    });
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &[&describe, &list, &tasks]);
    let (r, _) = runner();
    let results = wait_web(&ecs, &r, PollSchedule::default()).await;
    let (reason, rolled_back) = failure(&results[0].verdict);
    assert!(rolled_back);
    assert!(
        reason.contains("circuit breaker") && reason.contains("rolling back to web:1"),
        "{reason}"
    );
    assert_eq!(
        results[0].stopped_reasons,
        ["task 1: Essential container in task exited; web exited with code 3"],
        "only tasks of our deployment"
    );
    assert_eq!(
        results[0].last_events,
        ["(service web) rolling back to deployment ecs-svc/1."]
    );
}

#[tokio::test(start_paused = true)]
async fn another_deployment_replacing_ours_mid_wait_fails() {
    let describe = mock!(Client::describe_services)
        .sequence()
        .output(|| {
            answer(vec![service(
                "web",
                vec![dep("ecs-svc/2", "PRIMARY", NEW, R::InProgress, 1)],
                vec![],
            )])
        })
        .times(2)
        .output(|| {
            answer(vec![service(
                "web",
                vec![
                    dep(
                        "ecs-svc/9",
                        "PRIMARY",
                        "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:3",
                        R::InProgress,
                        0,
                    ),
                    dep("ecs-svc/2", "ACTIVE", NEW, R::InProgress, 1),
                ],
                vec![],
            )])
        })
        .repeatedly()
        .build();
    let list = no_stopped_tasks();
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &[&describe, &list]);
    let (r, _) = runner();
    let results = wait_web(&ecs, &r, PollSchedule::default()).await;
    let (reason, rolled_back) = failure(&results[0].verdict);
    assert!(!rolled_back);
    assert!(
        reason.contains("replaced by deployment ecs-svc/9 of web:3"),
        "{reason}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_stuck_deployment_times_out_naming_its_state() {
    let mut stuck = dep("ecs-svc/2", "PRIMARY", NEW, R::InProgress, 1);
    stuck.failed_tasks = 7;
    let describe = mock!(Client::describe_services)
        .then_output(move || answer(vec![service("web", vec![stuck.clone()], vec![])]));
    let list = no_stopped_tasks();
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &[&describe, &list]);
    let (r, _) = runner();
    let started = tokio::time::Instant::now();
    let results = wait_all(
        &ecs,
        &r,
        vec![ours("web")],
        Watch::new(
            "prod",
            Duration::from_secs(30 * 60),
            PollSchedule::default(),
        ),
    )
    .await;
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(30 * 60),
        "waits exactly the timeout (virtual time)"
    );
    match &results[0].verdict {
        Verdict::Failed { reason, .. } => assert_eq!(
            reason,
            "timed out after 30 min waiting for deployment ecs-svc/2; it was IN_PROGRESS, 1/2 running, 1 pending, 7 failed tasks"
        ),
        v => panic!("{v:?}"),
    }
    // Adaptive polling: far fewer calls than one per second over 30 minutes.
    let calls = describe.num_calls();
    assert!(
        (300..=420).contains(&calls),
        "{calls} DescribeServices calls in 30 minutes"
    );
}

#[tokio::test(start_paused = true)]
async fn throttling_during_the_wait_is_survived() {
    let throttled = || {
        Response::new(
            StatusCode::try_from(400).unwrap(),
            SdkBody::from(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#),
        )
    };
    let describe = mock!(Client::describe_services)
        .sequence()
        .http_response(throttled)
        .times(6)
        .output(|| {
            answer(vec![service(
                "web",
                vec![dep("ecs-svc/2", "PRIMARY", NEW, R::Completed, 2)],
                vec![],
            )])
        })
        .repeatedly()
        .build();
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &[&describe]);
    let (r, log) = runner();
    let results = wait_web(&ecs, &r, PollSchedule::default()).await;
    assert_eq!(results[0].verdict, Verdict::Succeeded, "{}", log.text());
    assert!(
        log.text().contains("Rate exceeded"),
        "the throttling is reported as a warning: {}",
        log.text()
    );
}

#[tokio::test(start_paused = true)]
async fn several_services_are_polled_in_one_call_and_judged_separately() {
    let describe = mock!(Client::describe_services)
        .match_requests(|req| req.services().len() == 3)
        .then_output(|| {
            let mut failed = dep("ecs-svc/2", "PRIMARY", NEW, R::Failed, 0);
            failed.rollout_state_reason =
                Some("ECS deployment circuit breaker: tasks failed to start.".into());
            answer(vec![
                service(
                    "web",
                    vec![dep("ecs-svc/2", "PRIMARY", NEW, R::Completed, 2)],
                    vec![],
                ),
                service("worker", vec![failed], vec![]),
                service(
                    "scheduler",
                    vec![dep("ecs-svc/2", "PRIMARY", NEW, R::Completed, 2)],
                    vec![],
                ),
            ])
        });
    let list = no_stopped_tasks();
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &[&describe, &list]);
    let (r, _) = runner();
    let results = wait_all(
        &ecs,
        &r,
        vec![ours("web"), ours("worker"), ours("scheduler")],
        Watch::new("prod", Duration::from_secs(600), PollSchedule::default()),
    )
    .await;
    assert_eq!(describe.num_calls(), 1);
    let verdict = |name: &str| {
        results
            .iter()
            .find(|r| r.followed.service == name)
            .unwrap()
            .verdict
            .clone()
    };
    assert_eq!(verdict("web"), Verdict::Succeeded);
    assert_eq!(verdict("scheduler"), Verdict::Succeeded);
    assert!(matches!(verdict("worker"), Verdict::Failed { .. }));
}

#[tokio::test(start_paused = true)]
async fn a_service_deleted_mid_wait_fails_it() {
    let describe = mock!(Client::describe_services).then_output(|| {
        DescribeServicesOutput::builder()
            .failures(
                EcsFailure::builder()
                    .arn("arn:aws:ecs:eu-west-1:123456789012:service/prod/web")
                    .reason("MISSING")
                    .build(),
            )
            .build()
    });
    let list = no_stopped_tasks();
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &[&describe, &list]);
    let (r, _) = runner();
    let results = wait_web(&ecs, &r, PollSchedule::default()).await;
    assert_eq!(
        results[0].verdict,
        Verdict::Failed {
            reason: "service web disappeared during the deployment (MISSING)".into(),
            rolled_back: false
        }
    );
}

#[tokio::test(start_paused = true)]
async fn a_fresh_deployment_is_first_polled_one_interval_after_the_update() {
    // UpdateService's answer already said IN_PROGRESS: `waiting_first` skips
    // the immediate poll (a service with no new deployment polls at once).
    for (schedule, first_poll_at) in [
        (
            PollSchedule::default().waiting_first(),
            Duration::from_secs(1),
        ),
        (PollSchedule::default(), Duration::ZERO),
    ] {
        let polled_at = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (at, start) = (polled_at.clone(), tokio::time::Instant::now());
        let describe = mock!(Client::describe_services).then_output(move || {
            at.lock().unwrap().push(tokio::time::Instant::now() - start);
            let done = dep("ecs-svc/2", "PRIMARY", NEW, R::Completed, 2);
            answer(vec![service("web", vec![done], vec![])])
        });
        let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &[&describe]);
        let (r, _) = runner();
        let results = wait_web(&ecs, &r, schedule).await;
        assert_eq!(results[0].verdict, Verdict::Succeeded);
        assert_eq!(*polled_at.lock().unwrap(), vec![first_poll_at]);
    }
}
