//! Scenario tests of why a deployment's CloudWatch alarms fired: one
//! DescribeAlarms for every failed deployment's watching alarms, after the
//! deployments ended (aws-smithy-mocks).

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_cloudwatch::operation::describe_alarms::{DescribeAlarmsError, DescribeAlarmsOutput};
use aws_sdk_cloudwatch::types::{AlarmType, CompositeAlarm, MetricAlarm, StateValue};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_types::DateTime;
use fargate_deploy::deployment::alarms;
use fargate_deploy::deployment::assess::{Followed, Verdict};
use fargate_deploy::deployment::wait::WaitResult;

fn result(service: &str, verdict: Verdict) -> WaitResult {
    WaitResult {
        followed: Followed {
            service: service.into(),
            deployment_id: format!("ecs-svc/{service}"),
            task_definition: format!(
                "arn:aws:ecs:eu-west-1:123456789012:task-definition/{service}:2"
            ),
        },
        verdict,
        last_events: vec![],
        stopped_reasons: vec![],
        crash_logs: vec![],
        alarms: vec![],
        took: Duration::ZERO,
    }
}

/// What the wait stage does once the deployments ended: the failed ones'
/// fired alarms, read once and given to each; the warning of a failed read.
async fn explain(
    cw: &aws_sdk_cloudwatch::Client,
    watched: &HashMap<String, Vec<String>>,
    results: &mut [WaitResult],
) -> Option<String> {
    let failed = alarms::failed(results.iter());
    match alarms::fired(cw, watched, &failed).await {
        Ok(fired) => {
            alarms::assign(results, fired);
            None
        }
        Err(warning) => Some(warning),
    }
}

fn failed() -> Verdict {
    Verdict::Failed {
        reason: "rolled back".into(),
        rolled_back: true,
    }
}

fn watched() -> HashMap<String, Vec<String>> {
    HashMap::from([
        (
            "web".to_string(),
            vec!["web-5xx".to_string(), "web-latency".to_string()],
        ),
        (
            "api".to_string(),
            vec!["api-5xx".to_string(), "web-5xx".to_string()],
        ),
        ("worker".to_string(), vec!["worker-errors".to_string()]),
    ])
}

/// The failed deployments' alarms (each name once, the succeeded one's
/// not) are read in one call, metric and composite, in ALARM only; each
/// deployment gets the fired alarms that watch it, with CloudWatch's reason.
#[tokio::test]
async fn one_read_tells_each_failed_deployment_which_of_its_alarms_fired() {
    let describe = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
        .match_requests(|r| {
            r.alarm_names() == ["web-5xx", "web-latency", "api-5xx"]
                && r.alarm_types() == [AlarmType::MetricAlarm, AlarmType::CompositeAlarm]
                && r.state_value() == Some(&StateValue::Alarm)
        })
        .then_output(|| {
            DescribeAlarmsOutput::builder()
                .metric_alarms(
                    MetricAlarm::builder()
                        .alarm_name("web-5xx")
                        .state_value(StateValue::Alarm)
                        .state_reason("Threshold Crossed: 1 out of the last 1 datapoints [12.0 (30/11/26 17:02:00)] was greater than the threshold (5.0) (minimum 1 datapoint for OK -> ALARM transition).")
                        .state_updated_timestamp(DateTime::from_secs(1_796_058_192))
                        .build(),
                )
                .metric_alarms(
                    // An answer may carry an alarm that is not in ALARM
                    // (an emulator that ignores StateValue did): not fired.
                    MetricAlarm::builder()
                        .alarm_name("web-latency")
                        .state_value(StateValue::Ok)
                        .state_reason("Unchecked: Initial alarm creation")
                        .build(),
                )
                .composite_alarms(
                    CompositeAlarm::builder()
                        .alarm_name("api-5xx")
                        .state_value(StateValue::Alarm)
                        .state_reason("arn:aws:cloudwatch:eu-west-1:123456789012:alarm:api-5xx-a transitioned to ALARM at Monday 30 November, 2026 17:03:12 UTC")
                        .build(),
                )
                .build()
        });
    let cw = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, &[&describe]);
    let mut results = vec![
        result("web", failed()),
        result("api", failed()),
        result("worker", Verdict::Succeeded),
    ];
    let warning = explain(&cw, &watched(), &mut results).await;
    assert_eq!(warning, None);
    assert_eq!(describe.num_calls(), 1);
    let lines = |r: &WaitResult| r.alarms.iter().map(|a| a.line()).collect::<Vec<_>>();
    assert_eq!(
        lines(&results[0]),
        [
            "CloudWatch alarm web-5xx is in ALARM since 2026-11-30T17:03:12Z: Threshold Crossed: 1 out of the last 1 datapoints [12.0 (30/11/26 17:02:00)] was greater than the threshold (5.0) (minimum 1 datapoint for OK -> ALARM transition)."
        ]
    );
    // api's alarms in the order its service names them: web-5xx is api's too.
    assert_eq!(
        results[1]
            .alarms
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>(),
        ["api-5xx", "web-5xx"]
    );
    assert!(results[2].alarms.is_empty());
}

/// No failed deployment that alarms watch: CloudWatch is not called.
#[tokio::test]
async fn nothing_is_read_when_no_watched_deployment_failed() {
    let describe = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
        .then_output(|| DescribeAlarmsOutput::builder().build());
    let cw = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, &[&describe]);
    let mut results = vec![result("web", Verdict::Succeeded), result("other", failed())];
    assert_eq!(explain(&cw, &watched(), &mut results).await, None);
    assert_eq!(describe.num_calls(), 0);
}

/// A role without cloudwatch:DescribeAlarms: the failures stand as they
/// are, and the warning names the action to add.
#[tokio::test]
async fn a_denied_read_warns_with_the_action_to_add() {
    let describe = mock!(aws_sdk_cloudwatch::Client::describe_alarms).then_error(|| {
        DescribeAlarmsError::generic(
            aws_smithy_types::error::ErrorMetadata::builder()
                .code("AccessDenied")
                .message("User: arn:aws:sts::123456789012:assumed-role/deploy/gha is not authorized to perform: cloudwatch:DescribeAlarms")
                .build(),
        )
    });
    let cw = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, &[&describe]);
    let mut results = vec![result("web", failed())];
    let warning = explain(&cw, &watched(), &mut results)
        .await
        .expect("a warning");
    assert!(
        warning.starts_with(
            "could not read the CloudWatch alarms web-5xx, web-latency: AccessDenied: User:"
        ),
        "{warning}"
    );
    assert!(
        warning.ends_with(
            "add cloudwatch:DescribeAlarms to the role's policy to see why an alarm fired"
        ),
        "{warning}"
    );
    assert!(results[0].alarms.is_empty());
    assert_eq!(results[0].verdict, failed());
}

/// DescribeAlarms takes at most 100 names: 101 watched alarms are read in
/// two calls, and what each answers is given to the deployment.
#[tokio::test]
async fn more_than_a_hundred_alarms_are_read_a_hundred_at_a_time() {
    let names: Vec<String> = (0..101).map(|i| format!("web-{i}")).collect();
    let first = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
        .match_requests(|r| r.alarm_names().len() == 100 && r.alarm_names()[0] == "web-0")
        .then_output(|| DescribeAlarmsOutput::builder().build());
    let rest = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
        .match_requests(|r| r.alarm_names() == ["web-100"])
        .then_output(|| {
            DescribeAlarmsOutput::builder()
                .metric_alarms(
                    MetricAlarm::builder()
                        .alarm_name("web-100")
                        .state_value(StateValue::Alarm)
                        .state_reason("Threshold Crossed")
                        .build(),
                )
                .build()
        });
    let cw = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, &[&first, &rest]);
    let watched = HashMap::from([("web".to_string(), names)]);
    let mut results = vec![result("web", failed())];
    assert_eq!(explain(&cw, &watched, &mut results).await, None);
    assert_eq!((first.num_calls(), rest.num_calls()), (1, 1));
    assert_eq!(
        results[0]
            .alarms
            .iter()
            .map(|a| a.line())
            .collect::<Vec<_>>(),
        ["CloudWatch alarm web-100 is in ALARM: Threshold Crossed"]
    );
}
