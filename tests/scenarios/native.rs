//! Scenario tests of following native BLUE_GREEN service deployments, with
//! aws-smithy-mocks and paused time.

use crate::common;

use std::time::Duration;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::operation::describe_service_deployments::DescribeServiceDeploymentsOutput;
use aws_sdk_ecs::types::{
    Rollback, ServiceDeployment, ServiceDeploymentLifecycleStage as Stage,
    ServiceDeploymentStatus as S,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use common::capture::{Log, logged};
use fargate_deploy::deployment::assess::{Followed, Verdict};
use fargate_deploy::deployment::native::follow;
use fargate_deploy::deployment::wait::WaitResult;
use fargate_deploy::poll::PollSchedule;

const ARN: &str = "arn:aws:ecs:eu-west-1:123456789012:service-deployment/prod/web/1";

fn at(status: S, stage: Stage) -> DescribeServiceDeploymentsOutput {
    DescribeServiceDeploymentsOutput::builder()
        .service_deployments(
            ServiceDeployment::builder()
                .service_deployment_arn(ARN)
                .status(status)
                .lifecycle_stage(stage)
                .build(),
        )
        .build()
}

/// `native::follow` against the mocked answers: `until_traffic`,
/// `expect_rollback`, a timeout in seconds; the result and the log.
async fn follow_mocked(
    rules: &[&aws_smithy_mocks::Rule],
    timeout_secs: u64,
    until_traffic: bool,
    expect_rollback: bool,
) -> (WaitResult, Log) {
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, rules);
    let timeout = Duration::from_secs(timeout_secs);
    let (schedule, until) = (PollSchedule::default(), until_traffic);
    logged(async |r| {
        follow(
            &ecs,
            r,
            followed(),
            timeout,
            until,
            expect_rollback,
            schedule,
        )
        .await
    })
    .await
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

#[tokio::test(start_paused = true)]
async fn stages_are_printed_once_each_until_success() {
    let rule = progression();
    let (res, log) = follow_mocked(&[&rule], 3600, false, false).await;
    assert_eq!(res.verdict, Verdict::Succeeded);
    let text = log.text();
    for stage in [
        "SCALE_UP",
        "TEST_TRAFFIC_SHIFT",
        "PRODUCTION_TRAFFIC_SHIFT",
        "BAKE_TIME",
    ] {
        assert_eq!(
            text.matches(&format!("[web] IN_PROGRESS · {stage}\n"))
                .count(),
            1,
            "{stage}: {text}"
        );
    }
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
        DescribeServiceDeploymentsOutput::builder()
            .service_deployments(
                ServiceDeployment::builder()
                    .service_deployment_arn(ARN)
                    .status(S::RollbackSuccessful)
                    .lifecycle_stage(Stage::ScaleUp)
                    .rollback(
                        Rollback::builder()
                            .reason("Alarm high-5xx went into ALARM")
                            .build(),
                    )
                    .build(),
            )
            .build()
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
