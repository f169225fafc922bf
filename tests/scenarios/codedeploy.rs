//! Scenario tests of following a CodeDeploy deployment, with
//! aws-smithy-mocks and paused time.

use crate::common;

use std::time::Duration;

use aws_sdk_codedeploy::Client;
use aws_sdk_codedeploy::operation::batch_get_deployment_targets::BatchGetDeploymentTargetsOutput;
use aws_sdk_codedeploy::operation::get_deployment::GetDeploymentOutput;
use aws_sdk_codedeploy::operation::list_deployment_targets::ListDeploymentTargetsOutput;
use aws_sdk_codedeploy::types::{
    DeploymentInfo, DeploymentStatus, DeploymentTarget, EcsTarget, ErrorCode, ErrorInformation,
    LifecycleEvent, LifecycleEventStatus, RollbackInfo,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use common::capture::{Log, logged};
use common::ecs::failure;
use fargate_deploy::deployment::assess::{Followed, Verdict};
use fargate_deploy::deployment::codedeploy::follow;
use fargate_deploy::deployment::wait::WaitResult;
use fargate_deploy::poll::PollSchedule;

fn info(status: DeploymentStatus) -> GetDeploymentOutput {
    GetDeploymentOutput::builder()
        .deployment_info(
            DeploymentInfo::builder()
                .deployment_id("d-1")
                .status(status)
                .build(),
        )
        .build()
}

fn targets(events: &[(&str, LifecycleEventStatus)]) -> BatchGetDeploymentTargetsOutput {
    let events = events
        .iter()
        .map(|(n, s)| {
            LifecycleEvent::builder()
                .lifecycle_event_name(*n)
                .status(s.clone())
                .build()
        })
        .collect();
    BatchGetDeploymentTargetsOutput::builder()
        .deployment_targets(
            DeploymentTarget::builder()
                .ecs_target(
                    EcsTarget::builder()
                        .target_id("prod:web")
                        .set_lifecycle_events(Some(events))
                        .build(),
                )
                .build(),
        )
        .build()
}

/// `codedeploy::follow` against the mocked answers: `until_traffic`, a
/// timeout in seconds; the result and the log.
async fn follow_mocked(
    rules: &[&aws_smithy_mocks::Rule],
    timeout_secs: u64,
    until_traffic: bool,
) -> (WaitResult, Log) {
    let cd = mock_client!(aws_sdk_codedeploy, RuleMode::MatchAny, rules);
    let timeout = Duration::from_secs(timeout_secs);
    let schedule = PollSchedule::default();
    logged(async |r| follow(&cd, r, followed(), timeout, until_traffic, schedule).await).await
}

fn followed() -> Followed {
    Followed {
        service: "web".into(),
        deployment_id: "d-1".into(),
        task_definition: "web:2".into(),
    }
}

fn list_targets() -> aws_smithy_mocks::Rule {
    mock!(Client::list_deployment_targets).then_output(|| {
        ListDeploymentTargetsOutput::builder()
            .target_ids("prod:web")
            .build()
    })
}

#[tokio::test(start_paused = true)]
async fn success_after_the_lifecycle_with_each_event_printed_once() {
    let get = mock!(Client::get_deployment)
        .sequence()
        .output(|| info(DeploymentStatus::InProgress))
        .times(3)
        .output(|| info(DeploymentStatus::Succeeded))
        .repeatedly()
        .build();
    let batch = mock!(Client::batch_get_deployment_targets)
        .sequence()
        .output(|| {
            targets(&[
                ("BeforeInstall", LifecycleEventStatus::Succeeded),
                ("Install", LifecycleEventStatus::InProgress),
            ])
        })
        .times(2)
        .output(|| {
            targets(&[
                ("BeforeInstall", LifecycleEventStatus::Succeeded),
                ("Install", LifecycleEventStatus::Succeeded),
                ("AllowTraffic", LifecycleEventStatus::Succeeded),
            ])
        })
        .repeatedly()
        .build();
    let list = list_targets();
    let (res, log) = follow_mocked(&[&get, &batch, &list], 600, false).await;
    assert_eq!(res.verdict, Verdict::Succeeded);
    assert_eq!(list.num_calls(), 1, "targets are listed once");
    let text = log.text();
    assert_eq!(
        text.matches("[web] BeforeInstall: Succeeded").count(),
        1,
        "{text}"
    );
    assert!(
        text.contains("[web] Install: InProgress") && text.contains("[web] Install: Succeeded")
    );
}

/// The events are read beside the status: the read that sees the deployment
/// Succeeded may carry an event still InProgress (seen in CI). The log must
/// still end with how that event ended.
#[tokio::test(start_paused = true)]
async fn the_events_are_read_once_more_when_the_deployment_ends() {
    let get = mock!(Client::get_deployment).then_output(|| info(DeploymentStatus::Succeeded));
    let batch = mock!(Client::batch_get_deployment_targets)
        .sequence()
        .output(|| targets(&[("AfterAllowTraffic", LifecycleEventStatus::InProgress)]))
        .output(|| targets(&[("AfterAllowTraffic", LifecycleEventStatus::Succeeded)]))
        .build();
    let list = list_targets();
    let (res, log) = follow_mocked(&[&get, &batch, &list], 600, false).await;
    assert_eq!(res.verdict, Verdict::Succeeded);
    assert_eq!(batch.num_calls(), 2);
    let text = log.text();
    assert!(
        text.contains("[web] AfterAllowTraffic: InProgress")
            && text.contains("[web] AfterAllowTraffic: Succeeded"),
        "{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn failure_with_automatic_rollback_is_reported_as_a_rollback() {
    let get = mock!(Client::get_deployment).then_output(|| {
        GetDeploymentOutput::builder()
            .deployment_info(
                DeploymentInfo::builder()
                    .deployment_id("d-1")
                    .status(DeploymentStatus::Failed)
                    .error_information(
                        ErrorInformation::builder()
                            .code(ErrorCode::EcsUpdateError)
                            .message("The ECS service cannot reach a steady state.")
                            .build(),
                    )
                    .rollback_info(
                        RollbackInfo::builder()
                            .rollback_deployment_id("d-2")
                            .rollback_message("Automatic rollback triggered")
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let batch = mock!(Client::batch_get_deployment_targets)
        .then_output(|| targets(&[("Install", LifecycleEventStatus::Failed)]));
    let list = list_targets();
    let (res, _) = follow_mocked(&[&get, &batch, &list], 600, false).await;
    let (reason, rolled_back) = failure(&res.verdict);
    assert!(rolled_back);
    assert_eq!(
        reason,
        "CodeDeploy deployment d-1 failed: ECS_UPDATE_ERROR: The ECS service cannot reach a steady state.; rolled back by deployment d-2: Automatic rollback triggered"
    );
    assert_eq!(res.last_events, ["Install: Failed"]);
}

#[tokio::test(start_paused = true)]
async fn a_stopped_deployment_fails() {
    let get = mock!(Client::get_deployment).then_output(|| info(DeploymentStatus::Stopped));
    let list = list_targets();
    let batch = mock!(Client::batch_get_deployment_targets).then_output(|| targets(&[]));
    let (res, _) = follow_mocked(&[&get, &list, &batch], 600, false).await;
    assert_eq!(
        res.verdict,
        Verdict::Failed {
            reason: "CodeDeploy deployment d-1 was stopped: no error information".into(),
            rolled_back: false
        }
    );
}

#[tokio::test(start_paused = true)]
async fn a_deployment_that_never_ends_times_out_naming_where_it_stood() {
    let get = mock!(Client::get_deployment).then_output(|| info(DeploymentStatus::InProgress));
    let list = list_targets();
    let batch = mock!(Client::batch_get_deployment_targets)
        .then_output(|| targets(&[("AllowTestTraffic", LifecycleEventStatus::InProgress)]));
    let (res, _) = follow_mocked(&[&get, &list, &batch], 1800, false).await;
    assert_eq!(
        res.verdict,
        Verdict::Failed { reason: "timed out waiting for CodeDeploy deployment d-1; it was InProgress, last lifecycle event AllowTestTraffic: InProgress".into(), rolled_back: false }
    );
    assert!(
        get.num_calls() < 420,
        "adaptive polling: {} GetDeployment calls in 30 minutes",
        get.num_calls()
    );
}

/// StopDeployment is asynchronous: `Pending` is not a failure, and the
/// rollback is the deployment `rollbackInfo` names once CodeDeploy has
/// created it (not yet on the first read).
#[tokio::test(start_paused = true)]
async fn a_pending_stop_leads_to_the_rollback_deployment() {
    use aws_sdk_codedeploy::operation::stop_deployment::StopDeploymentOutput;
    use aws_sdk_codedeploy::types::{DeploymentInfo, RollbackInfo, StopStatus};
    use fargate_deploy::deployment::codedeploy::stop_with_rollback;
    let stop = mock!(Client::stop_deployment).then_output(|| {
        StopDeploymentOutput::builder()
            .status(StopStatus::Pending)
            .status_message("Stopping the deployment.")
            .build()
    });
    let reads = mock!(Client::get_deployment)
        .sequence()
        .output(|| info(DeploymentStatus::InProgress))
        .output(|| {
            GetDeploymentOutput::builder()
                .deployment_info(
                    DeploymentInfo::builder()
                        .deployment_id("d-ORIGINAL1")
                        .status(DeploymentStatus::Stopped)
                        .rollback_info(
                            RollbackInfo::builder()
                                .rollback_deployment_id("d-ROLLBACK1")
                                .build(),
                        )
                        .build(),
                )
                .build()
        })
        .build();
    let cd = mock_client!(aws_sdk_codedeploy, RuleMode::MatchAny, &[&stop, &reads]);
    assert_eq!(
        stop_with_rollback(&cd, "d-ORIGINAL1").await.unwrap(),
        "d-ROLLBACK1"
    );
    assert_eq!(reads.num_calls(), 2);
}

/// A deployment that completed before the stop: DeploymentAlreadyCompleted
/// is said as such, not as a stop that failed.
#[tokio::test(start_paused = true)]
async fn a_deployment_that_already_completed_cannot_be_stopped() {
    use aws_sdk_codedeploy::operation::stop_deployment::StopDeploymentError;
    use aws_sdk_codedeploy::types::error::DeploymentAlreadyCompletedException;
    use fargate_deploy::deployment::codedeploy::stop_with_rollback;
    let stop = mock!(Client::stop_deployment).then_error(|| {
        StopDeploymentError::DeploymentAlreadyCompletedException(
            DeploymentAlreadyCompletedException::builder()
                .message("The deployment d-ORIGINAL1 has already completed.")
                .build(),
        )
    });
    let cd = mock_client!(aws_sdk_codedeploy, RuleMode::MatchAny, &[&stop]);
    let f = stop_with_rollback(&cd, "d-ORIGINAL1")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        f.starts_with("CodeDeploy deployment d-ORIGINAL1 completed before it could be stopped"),
        "{f}"
    );
}

/// GetDeployment as AWS answers it (tests/fixtures/aws): a failed
/// deployment rolled back, and one stopped by an alarm, each told in
/// CodeDeploy's words with the rollback deployment.
#[tokio::test(start_paused = true)]
async fn aws_answers_of_a_failure_and_an_alarm_stop_are_told_as_rollbacks() {
    for (fixture, said) in [
        (
            "codedeploy-get-deployment-failed-rolled-back.json",
            "failed: ECS_UPDATE_ERROR: The ECS service cannot be updated",
        ),
        (
            "codedeploy-get-deployment-alarm-stopped.json",
            "was stopped: ALARM_ACTIVE: One or more alarms have been activated",
        ),
    ] {
        let get = mock!(Client::get_deployment)
            .sequence()
            .http_status(200, Some(common::recorded::body(fixture)))
            .repeatedly()
            .build();
        let batch = mock!(Client::batch_get_deployment_targets).then_output(|| targets(&[]));
        let list = list_targets();
        let (res, _) = follow_mocked(&[&get, &batch, &list], 600, false).await;
        let (reason, rolled_back) = failure(&res.verdict);
        assert!(rolled_back, "{fixture}");
        assert!(
            reason.starts_with(&format!("CodeDeploy deployment d-1 {said}")),
            "{fixture}: {reason}"
        );
        assert!(
            reason.contains("rolled back by deployment d-9QW2FGHIJ"),
            "{fixture}: {reason}"
        );
    }
}
