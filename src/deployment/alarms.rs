//! Why a deployment's CloudWatch alarms fired: the alarms that watch a
//! deployment (the service's `deploymentConfiguration.alarms`, or the
//! CodeDeploy deployment group's alarm configuration) are known from the
//! plan; when a deployment they watch fails, one DescribeAlarms reads them
//! (beside the stopped tasks' reads) and each one in ALARM is reported with
//! CloudWatch's state reason.

use std::collections::HashMap;

use aws_sdk_cloudwatch::types::{AlarmType, StateValue};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;

use super::wait::WaitResult;
use crate::error::{aws_code, aws_message};

/// DescribeAlarms takes at most this many alarm names per call.
const NAMES_PER_CALL: usize = 100;

/// An alarm in ALARM, as CloudWatch describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiredAlarm {
    pub name: String,
    /// CloudWatch's `StateReason`: what crossed which threshold.
    pub reason: String,
    /// When it went into ALARM (RFC 3339), when CloudWatch says.
    pub since: Option<String>,
}

impl FiredAlarm {
    /// `CloudWatch alarm web-5xx is in ALARM since …: <reason>`.
    pub fn line(&self) -> String {
        let since = self
            .since
            .as_deref()
            .map(|s| format!(" since {s}"))
            .unwrap_or_default();
        format!(
            "CloudWatch alarm {} is in ALARM{since}: {}",
            self.name,
            one_line(&self.reason)
        )
    }
}

/// The reason on one line: CloudWatch's reasons are one sentence, but a
/// reason set with SetAlarmState is anyone's text.
fn one_line(text: &str) -> String {
    text.split(['\r', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a metric alarm and a composite alarm (two SDK types) both say:
/// name, state, state reason, when the state changed.
macro_rules! fields {
    ($alarm:expr) => {
        (
            $alarm.alarm_name(),
            $alarm.state_value(),
            $alarm.state_reason(),
            $alarm.state_updated_timestamp(),
        )
    };
}

/// The alarms of `names` that are in ALARM, in the order named; `Err`
/// says why CloudWatch could not be read (a denied read names the action).
pub async fn in_alarm(
    cw: &aws_sdk_cloudwatch::Client,
    names: &[String],
) -> Result<Vec<FiredAlarm>, String> {
    let mut fired = Vec::new();
    for chunk in names.chunks(NAMES_PER_CALL) {
        // Without AlarmTypes, DescribeAlarms returns metric alarms only.
        let out = cw
            .describe_alarms()
            .set_alarm_names(Some(chunk.to_vec()))
            .alarm_types(AlarmType::MetricAlarm)
            .alarm_types(AlarmType::CompositeAlarm)
            .state_value(StateValue::Alarm)
            .send()
            .await
            .map_err(|e| match aws_code(&e) {
                Some("AccessDenied" | "AccessDeniedException") => format!(
                    "{}; add cloudwatch:DescribeAlarms to the role's policy to see why an alarm fired",
                    aws_message(&e)
                ),
                _ => aws_message(&e),
            })?;
        // Only those in ALARM, whatever else an answer carries.
        let metric = out.metric_alarms().iter().map(|a| fields!(a));
        let composite = out.composite_alarms().iter().map(|a| fields!(a));
        fired.extend(
            metric
                .chain(composite)
                .filter(|(_, value, ..)| *value == Some(&StateValue::Alarm))
                .map(|(name, _, reason, since)| fired_alarm(name, reason, since)),
        );
    }
    fired.sort_by_key(|a| names.iter().position(|n| *n == a.name));
    Ok(fired)
}

fn fired_alarm(name: Option<&str>, reason: Option<&str>, since: Option<&DateTime>) -> FiredAlarm {
    FiredAlarm {
        name: name.unwrap_or("?").to_string(),
        reason: reason.unwrap_or("no state reason given").to_string(),
        since: since.and_then(|t| t.fmt(Format::DateTime).ok()),
    }
}

/// The services whose deployment failed, as `results` say.
pub fn failed<'a>(results: impl IntoIterator<Item = &'a WaitResult>) -> Vec<String> {
    results
        .into_iter()
        .filter(|r| r.verdict.failure().is_some())
        .map(|r| r.followed.service.clone())
        .collect()
}

/// For the `failed` services that alarms watch (`watched`), the alarms in
/// ALARM, by service and in its own order — one read for all of them, none
/// when no watched service failed. `Err`: the warning to give (the
/// failures stand as they are).
pub async fn fired(
    cw: &aws_sdk_cloudwatch::Client,
    watched: &HashMap<String, Vec<String>>,
    failed: &[String],
) -> Result<HashMap<String, Vec<FiredAlarm>>, String> {
    let mine = |service: &String| watched.get(service).filter(|a| !a.is_empty());
    let mut names: Vec<String> = Vec::new();
    for name in failed.iter().filter_map(mine).flatten() {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    if names.is_empty() {
        return Ok(HashMap::new());
    }
    let in_alarm = in_alarm(cw, &names).await.map_err(|why| {
        format!(
            "could not read the CloudWatch alarms {}: {why}",
            names.join(", ")
        )
    })?;
    Ok(failed
        .iter()
        .filter_map(|service| {
            let theirs = mine(service)?
                .iter()
                .filter_map(|name| in_alarm.iter().find(|a| a.name == *name))
                .cloned()
                .collect();
            Some((service.clone(), theirs))
        })
        .collect())
}

/// Gives each result the fired alarms of its service.
pub fn assign(results: &mut [WaitResult], mut fired: HashMap<String, Vec<FiredAlarm>>) {
    for r in results {
        if let Some(alarms) = fired.remove(&r.followed.service) {
            r.alarms = alarms;
        }
    }
}

/// The alarms of a service's `deploymentConfiguration.alarms`, when enabled.
pub fn of_service(svc: &aws_sdk_ecs::types::Service) -> Vec<String> {
    svc.deployment_configuration()
        .and_then(|c| c.alarms())
        .filter(|a| a.enable())
        .map(|a| a.alarm_names().to_vec())
        .unwrap_or_default()
}

/// The alarms of a CodeDeploy deployment group's alarm configuration, when enabled.
pub fn of_group(group: &aws_sdk_codedeploy::types::DeploymentGroupInfo) -> Vec<String> {
    group
        .alarm_configuration()
        .filter(|c| c.enabled())
        .map(|c| {
            c.alarms()
                .iter()
                .filter_map(|a| a.name().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fired_alarm_is_one_line_with_its_reason_and_time() {
        let a = FiredAlarm {
            name: "web-5xx".into(),
            reason: "Threshold Crossed: 1 datapoint [12.0 (30/11/26 17:02:00)] was greater than the threshold (5.0).\r\n::error::injected".into(),
            since: Some("2026-11-30T17:03:12Z".into()),
        };
        assert_eq!(
            a.line(),
            "CloudWatch alarm web-5xx is in ALARM since 2026-11-30T17:03:12Z: Threshold Crossed: 1 datapoint [12.0 (30/11/26 17:02:00)] was greater than the threshold (5.0). ::error::injected"
        );
        let no_time = FiredAlarm { since: None, ..a };
        assert!(
            no_time
                .line()
                .starts_with("CloudWatch alarm web-5xx is in ALARM: Threshold")
        );
    }

    #[test]
    fn the_watching_alarms_are_the_enabled_configurations_names() {
        use aws_sdk_ecs::types::{DeploymentAlarms, DeploymentConfiguration, Service};
        let service = |enable: bool| {
            let alarms = DeploymentAlarms::builder()
                .alarm_names("web-5xx")
                .alarm_names("web-latency")
                .enable(enable)
                .rollback(true)
                .build()
                .unwrap();
            let config = DeploymentConfiguration::builder().alarms(alarms).build();
            Service::builder().deployment_configuration(config).build()
        };
        assert_eq!(of_service(&service(true)), ["web-5xx", "web-latency"]);
        assert!(of_service(&service(false)).is_empty());
        assert!(of_service(&Service::builder().build()).is_empty());

        use aws_sdk_codedeploy::types::{Alarm, AlarmConfiguration, DeploymentGroupInfo};
        let group = |enabled: bool| {
            let config = AlarmConfiguration::builder()
                .enabled(enabled)
                .alarms(Alarm::builder().name("bluegreen-5xx").build())
                .build();
            DeploymentGroupInfo::builder()
                .alarm_configuration(config)
                .build()
        };
        assert_eq!(of_group(&group(true)), ["bluegreen-5xx"]);
        assert!(of_group(&group(false)).is_empty());
    }
}
