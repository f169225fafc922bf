//! Scenario tests of following native BLUE_GREEN service deployments, with
//! aws-smithy-mocks and paused time.

use crate::common;

use std::time::Duration;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::operation::describe_service_deployments::DescribeServiceDeploymentsOutput;
use aws_sdk_ecs::types::{
    DeploymentLifecycleHookAction, DeploymentLifecycleHookDetail as Hook,
    DeploymentLifecycleHookStatus as HookStatus, DeploymentLifecycleHookTargetType, Rollback,
    ServiceDeployment, ServiceDeploymentLifecycleStage as Stage, ServiceDeploymentStatus as S,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use common::capture::{Log, logged};
use fargate_deploy::deployment::assess::{Followed, PausedAt, Verdict};
use fargate_deploy::deployment::native::{Until, follow};
use fargate_deploy::deployment::wait::WaitResult;
use fargate_deploy::inputs::WaitUntil;
use fargate_deploy::poll::PollSchedule;

const ARN: &str = "arn:aws:ecs:eu-west-1:123456789012:service-deployment/prod/web/1";

/// The service deployment at `stage` with `status`, to build on.
fn deployment(status: S, stage: Stage) -> aws_sdk_ecs::types::builders::ServiceDeploymentBuilder {
    ServiceDeployment::builder()
        .service_deployment_arn(ARN)
        .status(status)
        .lifecycle_stage(stage)
}

/// DescribeServiceDeployments answering `deployment`.
fn answer(deployment: ServiceDeployment) -> DescribeServiceDeploymentsOutput {
    DescribeServiceDeploymentsOutput::builder()
        .service_deployments(deployment)
        .build()
}

fn at(status: S, stage: Stage) -> DescribeServiceDeploymentsOutput {
    answer(deployment(status, stage).build())
}

/// `native::follow` against the mocked answers until `until`, with a
/// timeout in seconds; the result and the log.
async fn follow_until(
    rules: &[&aws_smithy_mocks::Rule],
    timeout_secs: u64,
    until: Until,
) -> (WaitResult, Log) {
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, rules);
    let timeout = Duration::from_secs(timeout_secs);
    let schedule = PollSchedule::default();
    logged(async |r| follow(&ecs, r, followed(), timeout, until, schedule).await).await
}

/// [`follow_until`] the end, or production traffic shifted
/// (`until_traffic`); `expect_rollback`: mode rollback stopped it.
async fn follow_mocked(
    rules: &[&aws_smithy_mocks::Rule],
    timeout_secs: u64,
    until_traffic: bool,
    expect_rollback: bool,
) -> (WaitResult, Log) {
    let wait = match until_traffic {
        true => WaitUntil::TrafficShifted,
        false => WaitUntil::Complete,
    };
    let until = Until {
        expect_rollback,
        ..Until::wait(wait)
    };
    follow_until(rules, timeout_secs, until).await
}

fn followed() -> Followed {
    Followed {
        service: "web".into(),
        deployment_id: ARN.into(),
        task_definition: "web:2".into(),
    }
}

fn progression() -> aws_smithy_mocks::Rule {
    mock!(Client::describe_service_deployments)
        .sequence()
        .output(|| at(S::InProgress, Stage::ScaleUp))
        .output(|| at(S::InProgress, Stage::TestTrafficShift))
        .output(|| at(S::InProgress, Stage::ProductionTrafficShift))
        .output(|| at(S::InProgress, Stage::BakeTime))
        .times(30)
        .output(|| at(S::Successful, Stage::CleanUp))
        .repeatedly()
        .build()
}

/// Follows `rule`'s answers to success and checks that each in-progress
/// stage was printed once; the log's text.
async fn followed_to_success(rule: &aws_smithy_mocks::Rule) -> String {
    let (res, log) = follow_mocked(&[rule], 3600, false, false).await;
    assert_eq!(res.verdict, Verdict::Succeeded);
    let text = log.text();
    for stage in [
        "SCALE_UP",
        "TEST_TRAFFIC_SHIFT",
        "PRODUCTION_TRAFFIC_SHIFT",
        "BAKE_TIME",
    ] {
        let line = format!("[web] IN_PROGRESS · {stage}\n");
        assert_eq!(text.matches(&line).count(), 1, "{stage}: {text}");
    }
    text
}

#[tokio::test(start_paused = true)]
async fn stages_are_printed_once_each_until_success() {
    let rule = progression();
    let text = followed_to_success(&rule).await;
    assert!(text.contains("[web] SUCCESSFUL · CLEAN_UP"));
    assert_eq!(rule.num_calls(), 34, "sat through the whole bake time");
}

#[tokio::test(start_paused = true)]
async fn traffic_shifted_returns_at_the_bake_time() {
    let rule = progression();
    let (res, _) = follow_mocked(&[&rule], 3600, true, false).await;
    assert_eq!(res.verdict, Verdict::Succeeded);
    assert_eq!(
        rule.num_calls(),
        4,
        "returned as soon as traffic had shifted"
    );
}

#[tokio::test(start_paused = true)]
async fn a_rollback_is_a_failure_with_its_reason_unless_it_was_asked_for() {
    let rolled = || {
        answer(
            deployment(S::RollbackSuccessful, Stage::ScaleUp)
                .rollback(
                    Rollback::builder()
                        .reason("Alarm high-5xx went into ALARM")
                        .build(),
                )
                .build(),
        )
    };
    let rule = mock!(Client::describe_service_deployments).then_output(rolled);
    let (res, _) = follow_mocked(&[&rule], 600, false, false).await;
    assert_eq!(
        res.verdict,
        Verdict::Failed {
            reason: "service deployment 1 is ROLLBACK_SUCCESSFUL: Alarm high-5xx went into ALARM"
                .into(),
            rolled_back: true
        }
    );
    // Mode rollback stopped it on purpose: the finished rollback is the success.
    let (res, _) = follow_mocked(&[&rule], 600, false, true).await;
    assert_eq!(res.verdict, Verdict::Succeeded);
}

/// At POST_TEST_TRAFFIC_SHIFT, its PAUSE hook `hook` in `status`.
fn paused(hook: &str, status: HookStatus) -> DescribeServiceDeploymentsOutput {
    let detail = Hook::builder()
        .hook_id(hook)
        .target_type(DeploymentLifecycleHookTargetType::Pause)
        .status(status)
        .expires_at(aws_smithy_types::DateTime::from_secs(1_800_000_000))
        .timeout_action(DeploymentLifecycleHookAction::Rollback)
        .build();
    answer(
        deployment(S::InProgress, Stage::PostTestTrafficShift)
            .lifecycle_hook_details(detail)
            .build(),
    )
}

#[tokio::test(start_paused = true)]
async fn wait_until_paused_returns_at_the_pause_hook_naming_it() {
    let rule = mock!(Client::describe_service_deployments)
        .sequence()
        .output(|| at(S::InProgress, Stage::TestTrafficShift))
        .output(|| paused("ecs-pause-1", HookStatus::AwaitingAction))
        .repeatedly()
        .build();
    let (res, log) = follow_until(&[&rule], 600, Until::wait(WaitUntil::Paused)).await;
    assert_eq!(
        res.verdict,
        Verdict::Paused(PausedAt {
            stage: "POST_TEST_TRAFFIC_SHIFT".into(),
            hook_id: "ecs-pause-1".into(),
            expires_at: Some("2027-01-15T08:00:00Z".into()),
            timeout_action: Some("ROLLBACK".into()),
        })
    );
    assert_eq!(
        rule.num_calls(),
        2,
        "returned at the first read of the pause"
    );
    assert!(!log.text().contains("::warning"), "{}", log.text());
    // Without wait-until: paused, the same pause is a warning and the wait goes on.
    let (res, log) = follow_until(&[&rule], 60, Until::wait(WaitUntil::Complete)).await;
    assert!(res.verdict.failure().unwrap().0.starts_with("timed out"));
    assert_eq!(
        log.text()
            .matches("::warning title=deploy::web: paused at")
            .count(),
        1
    );
}

/// ECS may still show the hook mode continue has just continued as awaiting
/// action: it is not a new pause, and the wait goes on to the end.
#[tokio::test(start_paused = true)]
async fn the_hook_just_continued_is_not_a_second_pause() {
    let rule = mock!(Client::describe_service_deployments)
        .sequence()
        .output(|| paused("ecs-pause-1", HookStatus::AwaitingAction))
        .output(|| paused("ecs-pause-1", HookStatus::Succeeded))
        .output(|| at(S::InProgress, Stage::ProductionTrafficShift))
        .output(|| at(S::Successful, Stage::CleanUp))
        .repeatedly()
        .build();
    let until = Until {
        continued: Some("ecs-pause-1".into()),
        ..Until::wait(WaitUntil::Paused)
    };
    let (res, log) = follow_until(&[&rule], 600, until).await;
    assert_eq!(res.verdict, Verdict::Succeeded, "{}", log.text());
    assert!(!log.text().contains("awaits ContinueServiceDeployment"));
}

#[tokio::test(start_paused = true)]
async fn a_deployment_that_rolls_back_before_its_pause_is_a_failure() {
    let rule = mock!(Client::describe_service_deployments)
        .sequence()
        .output(|| at(S::InProgress, Stage::ScaleUp))
        .output(|| at(S::RollbackInProgress, Stage::ScaleUp))
        .repeatedly()
        .build();
    let (res, _) = follow_until(&[&rule], 600, Until::wait(WaitUntil::Paused)).await;
    let (reason, rolled_back) = res.verdict.failure().unwrap();
    assert!(rolled_back);
    assert!(reason.contains("is ROLLBACK_IN_PROGRESS"), "{reason}");
}

/// ECS refusing ContinueServiceDeployment (the hook timed out meanwhile, or
/// another person acted first) fails mode continue naming the call, the
/// deployment and ECS's reason.
#[tokio::test(start_paused = true)]
async fn a_refused_continue_names_the_deployment_and_the_reason() {
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;
    let refused = mock!(Client::continue_service_deployment)
        .match_requests(|r| {
            r.hook_id() == Some("ecs-pause-1")
                && r.action() == Some(&DeploymentLifecycleHookAction::Continue)
        })
        .then_http_response(|| {
            Response::new(
                StatusCode::try_from(400).unwrap(),
                SdkBody::from(
                    r#"{"__type":"InvalidParameterException","message":"The lifecycle hook is not awaiting an action."}"#,
                ),
            )
        });
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &[&refused]);
    let err = fargate_deploy::deployment::native::continue_paused(&ecs, ARN, "ecs-pause-1", false)
        .await
        .unwrap_err();
    assert_eq!(
        format!("{err:#}"),
        "ContinueServiceDeployment (CONTINUE) of 1 failed: InvalidParameterException: The lifecycle hook is not awaiting an action."
    );
    assert_eq!(refused.num_calls(), 1);
}

/// What tripped the rollback is named from the service deployment's own
/// monitors: the alarms that went into ALARM, the circuit breaker's count.
#[tokio::test(start_paused = true)]
async fn an_alarm_or_circuit_breaker_rollback_names_what_tripped() {
    use aws_sdk_ecs::types::{
        ServiceDeploymentAlarms, ServiceDeploymentCircuitBreaker,
        ServiceDeploymentRollbackMonitorsStatus as Monitor,
    };
    let rolled = || {
        let alarms = ServiceDeploymentAlarms::builder()
            .status(Monitor::Triggered)
            .alarm_names("web-5xx")
            .alarm_names("web-latency")
            .triggered_alarm_names("web-5xx")
            .build();
        let breaker = ServiceDeploymentCircuitBreaker::builder()
            .status(Monitor::Monitoring)
            .failure_count(0)
            .threshold(3)
            .build();
        answer(
            deployment(S::RollbackInProgress, Stage::BakeTime)
                .alarms(alarms)
                .deployment_circuit_breaker(breaker)
                .build(),
        )
    };
    let rule = mock!(Client::describe_service_deployments).then_output(rolled);
    let (res, _) = follow_mocked(&[&rule], 600, false, false).await;
    let (reason, rolled_back) = res.verdict.failure().unwrap();
    assert!(rolled_back);
    assert_eq!(
        reason,
        "service deployment 1 is ROLLBACK_IN_PROGRESS: no reason given; CloudWatch alarm web-5xx went into ALARM"
    );
}

/// DescribeServiceDeployments as AWS answers it (tests/fixtures/aws), stage
/// by stage to the end: every stage told once, then success.
#[tokio::test(start_paused = true)]
async fn aws_answers_at_each_stage_are_followed_to_success() {
    let stage = |name: &str| {
        common::recorded::body(&format!("ecs-describe-service-deployments-{name}.json"))
    };
    let rule = mock!(Client::describe_service_deployments)
        .sequence()
        .http_status(200, Some(stage("scale-up")))
        .http_status(200, Some(stage("test-traffic-shift")))
        .http_status(200, Some(stage("production-traffic-shift")))
        .http_status(200, Some(stage("bake-time")))
        .http_status(200, Some(stage("successful")))
        .repeatedly()
        .build();
    followed_to_success(&rule).await;
}

/// An alarm rollback as AWS answers it: a failure that rolled back, naming
/// the alarm that fired.
#[tokio::test(start_paused = true)]
async fn an_aws_alarm_rollback_names_the_alarm() {
    let rule = mock!(Client::describe_service_deployments)
        .sequence()
        .http_status(
            200,
            Some(common::recorded::body(
                "ecs-describe-service-deployments-alarm-rollback.json",
            )),
        )
        .repeatedly()
        .build();
    let (res, _) = follow_mocked(&[&rule], 600, false, false).await;
    let (reason, rolled_back) = common::ecs::failure(&res.verdict);
    assert!(rolled_back);
    assert!(reason.contains("ROLLBACK_SUCCESSFUL"), "{reason}");
    assert!(reason.contains("web-5xx"), "{reason}");
}

/// Scaling up, none of the new revision's tasks running, its tasks
/// stopped as `reason` says (since the deployment started).
fn scaling_up_with_failed_tasks(reason: &'static str) -> [aws_smithy_mocks::Rule; 3] {
    use aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput;
    use aws_sdk_ecs::operation::list_tasks::ListTasksOutput;
    use aws_sdk_ecs::types::{ServiceRevisionSummary, Task, TaskStopCode};
    use aws_smithy_types::DateTime;
    let described = mock!(Client::describe_service_deployments).then_output(|| {
        DescribeServiceDeploymentsOutput::builder()
            .service_deployments(
                ServiceDeployment::builder()
                    .service_deployment_arn(ARN)
                    .cluster_arn("arn:aws:ecs:eu-west-1:123456789012:cluster/prod")
                    .status(S::InProgress)
                    .lifecycle_stage(Stage::ScaleUp)
                    .started_at(DateTime::from_secs(1_000))
                    .target_service_revision(
                        ServiceRevisionSummary::builder()
                            .running_task_count(0)
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let list = mock!(Client::list_tasks).then_output(|| {
        ListTasksOutput::builder()
            .task_arns("t1")
            .task_arns("t2")
            .task_arns("t3")
            .task_arns("t0")
            .build()
    });
    let tasks = mock!(Client::describe_tasks).then_output(move || {
        let t = |id: &str, td: &str, at: i64| {
            Task::builder()
                .task_arn(format!("arn:aws:ecs:eu-west-1:123456789012:task/prod/{id}"))
                .task_definition_arn(td)
                .started_by("ecs-svc/9")
                .created_at(DateTime::from_secs(at))
                .stop_code(TaskStopCode::TaskFailedToStart)
                .stopped_reason(reason)
                .build()
        };
        let new = "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:2";
        DescribeTasksOutput::builder()
            .tasks(t("t1", new, 1_010))
            .tasks(t("t2", new, 1_020))
            .tasks(t("t3", new, 1_030))
            // An earlier deployment's task of the same revision: not ours.
            .tasks(t("t0", new, 900))
            .build()
    });
    [described, list, tasks]
}

/// fail-fast: a native deployment whose new revision's tasks cannot pull
/// their image is stopped with rollback at once, not left to the circuit
/// breaker's threshold (or, without one, to the timeout).
#[tokio::test(start_paused = true)]
async fn fail_fast_stops_a_hopeless_native_deployment_with_rollback() {
    use aws_sdk_ecs::operation::stop_service_deployment::StopServiceDeploymentOutput;
    let [described, list, tasks] = scaling_up_with_failed_tasks(
        "CannotPullContainerError: pull image manifest has been retried 5 time(s): not found",
    );
    let stop = mock!(Client::stop_service_deployment)
        .match_requests(|r| {
            r.service_deployment_arn() == Some(ARN)
                && r.stop_type().map(|t| t.as_str()) == Some("ROLLBACK")
        })
        .then_output(|| StopServiceDeploymentOutput::builder().build());
    let until = Until {
        fail_fast: true,
        ..Until::wait(WaitUntil::Complete)
    };
    let (res, _) = follow_until(&[&described, &list, &tasks, &stop], 1800, until).await;
    let (reason, rolled_back) = common::ecs::failure(&res.verdict);
    assert!(rolled_back);
    assert!(
        reason.starts_with("fail-fast: CannotPullContainerError: 3 tasks of deployment 1 could not pull their image"),
        "{reason}"
    );
    assert!(
        reason.contains(
            "stopped with rollback: StopServiceDeployment (ROLLBACK) of service deployment 1"
        ),
        "{reason}"
    );
    assert_eq!(stop.num_calls(), 1);
    assert!(
        res.took < Duration::from_secs(5),
        "at the first look: {:?}",
        res.took
    );
}

/// Without fail-fast, the same deployment is left to ECS (here until the
/// timeout), and its stopped tasks are not read at all.
#[tokio::test(start_paused = true)]
async fn without_fail_fast_a_native_deployment_is_left_to_ecs() {
    let [described, list, tasks] = scaling_up_with_failed_tasks(
        "CannotPullContainerError: pull image manifest has been retried 5 time(s): not found",
    );
    let (res, _) = follow_until(
        &[&described, &list, &tasks],
        120,
        Until::wait(WaitUntil::Complete),
    )
    .await;
    let (reason, rolled_back) = common::ecs::failure(&res.verdict);
    assert!(!rolled_back);
    assert!(reason.starts_with("timed out"), "{reason}");
    assert_eq!(list.num_calls(), 0);
}

/// Tasks that fail for a reason that may pass are not hopeless: the
/// stopped tasks are read at most every 10 s, and the deployment followed on.
#[tokio::test(start_paused = true)]
async fn fail_fast_reads_stopped_tasks_at_most_every_ten_seconds() {
    let [described, list, tasks] =
        scaling_up_with_failed_tasks("Task failed ELB health checks in (target-group web)");
    let until = Until {
        fail_fast: true,
        ..Until::wait(WaitUntil::Complete)
    };
    let (res, _) = follow_until(&[&described, &list, &tasks], 120, until).await;
    assert!(
        common::ecs::failure(&res.verdict)
            .0
            .starts_with("timed out")
    );
    assert!(
        (11..=13).contains(&list.num_calls()),
        "{} ListTasks in 120 s",
        list.num_calls()
    );
}
