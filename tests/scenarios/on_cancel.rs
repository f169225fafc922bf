//! Scenario tests of `on-cancel: rollback`: what a cancelled run does with
//! the deployments it started, within the runner's grace period.

use crate::common;

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::operation::continue_service_deployment::ContinueServiceDeploymentOutput;
use aws_sdk_ecs::operation::describe_service_deployments::DescribeServiceDeploymentsOutput;
use aws_sdk_ecs::types::{
    DeploymentLifecycleHookDetail as Hook, DeploymentLifecycleHookStatus as HookStatus,
    DeploymentLifecycleHookTargetType, DeploymentRolloutState as R, ServiceDeployment,
    ServiceDeploymentLifecycleStage as Stage,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use common::ecs::{NEW, OLD, answer, dep, service};
use fargate_deploy::deployment::Updated;
use fargate_deploy::deployment::assess::Followed;
use fargate_deploy::deployment::on_cancel::{Grace, roll_back_on_cancel};
use fargate_deploy::plan::DeploymentKind;

const SD_ARN: &str = "arn:aws:ecs:eu-west-1:123456789012:service-deployment/prod/web/d2";

fn updated(kind: DeploymentKind) -> Updated {
    Updated {
        followed: Followed {
            service: "web".into(),
            deployment_id: SD_ARN.into(),
            task_definition: NEW.into(),
        },
        new_deployment: true,
        desired_count: 2,
        kind,
        expect_rollback: false,
    }
}

fn in_progress() -> aws_smithy_mocks::Rule {
    common::ecs::in_progress(SD_ARN)
}

/// The service's PRIMARY deployment: back on web:1 and COMPLETED after
/// `polls_until_back` DescribeServices.
fn rolling_back(polls_until_back: usize) -> aws_smithy_mocks::Rule {
    let under_way = || {
        answer(vec![service(
            "web",
            vec![dep("ecs-svc/3", "PRIMARY", OLD, R::InProgress, 1)],
            vec![],
        )])
    };
    let back = || {
        answer(vec![service(
            "web",
            vec![dep("ecs-svc/3", "PRIMARY", OLD, R::Completed, 2)],
            vec![],
        )])
    };
    mock!(Client::describe_services)
        .sequence()
        .output(under_way)
        .times(polls_until_back)
        .output(back)
        .repeatedly()
        .build()
}

async fn cancel(
    rules: &[&aws_smithy_mocks::Rule],
    kind: DeploymentKind,
    signal: &str,
) -> (Vec<String>, Duration) {
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, rules);
    let cd = mock_client!(aws_sdk_codedeploy, RuleMode::MatchAny, &[]);
    let back_to = HashMap::from([("web".to_string(), OLD.to_string())]);
    let started = tokio::time::Instant::now();
    let lines = roll_back_on_cancel(
        &ecs,
        &cd,
        "prod",
        &[updated(kind)],
        &back_to,
        Grace::after(signal),
    )
    .await;
    (lines, started.elapsed())
}

/// Its service deployment is not paused; StopServiceDeployment answers.
fn not_paused_stop() -> [aws_smithy_mocks::Rule; 2] {
    let described = mock!(Client::describe_service_deployments)
        .then_output(|| DescribeServiceDeploymentsOutput::builder().build());
    let stop = mock!(Client::stop_service_deployment).then_output(|| {
        aws_sdk_ecs::operation::stop_service_deployment::StopServiceDeploymentOutput::builder()
            .build()
    });
    [described, stop]
}

/// A run cancelled by `signal` while a rolling deployment is in progress:
/// it is stopped with rollback, which is back after `polls_until_back`
/// polls. The lines said, the time taken, and the rollback's poll rule.
async fn cancel_rolling(
    polls_until_back: usize,
    signal: &str,
) -> (Vec<String>, Duration, aws_smithy_mocks::Rule) {
    let (list, back) = (in_progress(), rolling_back(polls_until_back));
    let [described, stop] = not_paused_stop();
    let rules = [&list, &described, &stop, &back];
    let (lines, took) = cancel(&rules, DeploymentKind::Rolling, signal).await;
    (lines, took, back)
}

/// A native deployment paused at a lifecycle hook is rolled back the way
/// ECS documents for a paused one: ContinueServiceDeployment ROLLBACK.
#[tokio::test(start_paused = true)]
async fn a_deployment_paused_at_a_hook_is_continued_with_rollback() {
    let described = mock!(Client::describe_service_deployments).then_output(|| {
        let hook = Hook::builder()
            .hook_id("hook-1")
            .target_type(DeploymentLifecycleHookTargetType::Pause)
            .status(HookStatus::AwaitingAction)
            .build();
        DescribeServiceDeploymentsOutput::builder()
            .service_deployments(
                ServiceDeployment::builder()
                    .service_deployment_arn(SD_ARN)
                    .lifecycle_stage(Stage::PostTestTrafficShift)
                    .lifecycle_hook_details(hook)
                    .build(),
            )
            .build()
    });
    let resume = mock!(Client::continue_service_deployment)
        .match_requests(|r| {
            r.hook_id() == Some("hook-1") && r.action().map(|a| a.as_str()) == Some("ROLLBACK")
        })
        .then_output(|| ContinueServiceDeploymentOutput::builder().build());
    let (list, back) = (in_progress(), rolling_back(1));
    let (lines, _) = cancel(
        &[&list, &described, &resume, &back],
        DeploymentKind::Native,
        "SIGINT",
    )
    .await;
    assert_eq!(resume.num_calls(), 1);
    assert_eq!(
        lines,
        [
            "web: stopped with rollback: ContinueServiceDeployment (ROLLBACK) of service deployment d2, paused at POST_TEST_TRAFFIC_SHIFT, back to web:1; back on web:1 (rollout COMPLETED)"
        ]
    );
}

/// After SIGINT the runner waits 7.5 s for SIGTERM: the rollback is
/// followed until it is back (here after three polls), and says so.
#[tokio::test(start_paused = true)]
async fn after_sigint_the_rollback_is_followed_until_it_is_back() {
    let (lines, took, back) = cancel_rolling(3, "SIGINT").await;
    assert_eq!(
        lines,
        [
            "web: stopped with rollback: StopServiceDeployment (ROLLBACK) of service deployment d2, back to web:1; back on web:1 (rollout COMPLETED)"
        ]
    );
    assert_eq!(back.num_calls(), 4);
    assert!(took <= Duration::from_secs(5), "{took:?}");
}

/// After SIGTERM the kill follows in 2.5 s: the run ends within 2 s and
/// says the rollback is still under way.
#[tokio::test(start_paused = true)]
async fn after_sigterm_it_ends_in_time_and_says_where_the_rollback_stands() {
    let (lines, took, _) = cancel_rolling(30, "SIGTERM").await;
    assert!(took <= Duration::from_secs(2), "{took:?}");
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].ends_with("; its rollback was under way when the run had to end: IN_PROGRESS, 1/2 running, 1 pending"),
        "{}",
        lines[0]
    );
}
