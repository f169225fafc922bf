//! Least privilege: the IAM policy per mode in docs/iam.md against the AWS
//! operations the end-to-end suites really issued (recorded by
//! tests/common into target/observed-calls/<mode>), and every action that
//! changes something granted on the resource type AWS authorises it on,
//! never on `"*"`.
//!
//! The comparison is `#[ignore]`d in a plain `cargo test` because it needs
//! every end-to-end suite to have run first; `tests/run` runs it last with
//! `--ignored`. The shape checks run always.

mod common;

use std::collections::BTreeSet;

use serde_json::Value;

const MODES: [&str; 5] = ["render", "migrate", "deploy", "continue", "rollback"];

fn policies() -> String {
    std::fs::read_to_string(common::repo_root().join("docs/iam.md")).unwrap()
}

/// The JSON block that follows `<!-- marker -->` in docs/iam.md.
fn block(marker: &str) -> Value {
    let text = policies();
    let at = text
        .find(&format!("<!-- {marker} -->"))
        .unwrap_or_else(|| panic!("docs/iam.md has no `<!-- {marker} -->`"));
    let rest = &text[at..];
    let start = rest
        .find("```json\n")
        .expect("a json block after the marker")
        + 8;
    let end = start + rest[start..].find("\n```").unwrap();
    serde_json::from_str(&rest[start..end]).unwrap_or_else(|e| panic!("{marker}: {e}"))
}

fn actions(policy: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for st in policy["Statement"].as_array().expect("Statement array") {
        assert_eq!(st["Effect"], "Allow", "{st}");
        match &st["Action"] {
            Value::String(a) => {
                out.insert(a.clone());
            }
            Value::Array(a) => out.extend(a.iter().map(|v| v.as_str().unwrap().to_string())),
            other => panic!("Action {other}"),
        }
    }
    out
}

/// Actions AWS authorises inside another call, so never seen on the wire.
fn implied(operation: &str) -> &'static [&'static str] {
    match operation {
        "ecs:RegisterTaskDefinition" | "ecs:RunTask" => &["iam:PassRole", "ecs:TagResource"],
        "codedeploy:CreateDeployment" => &[
            "codedeploy:GetDeploymentConfig",
            "codedeploy:RegisterApplicationRevision",
        ],
        // The role the rule target or schedule runs the task with.
        "events:PutTargets" | "scheduler:UpdateSchedule" => &["iam:PassRole"],
        _ => &[],
    }
}

#[test]
fn every_policy_is_a_valid_least_privilege_document() {
    for mode in MODES {
        let policy = block(&format!("iam-policy: {mode}"));
        assert_eq!(policy["Version"], "2012-10-17");
        let acts = actions(&policy);
        assert!(!acts.is_empty());
        for a in &acts {
            assert!(!a.contains('*'), "{mode}: no wildcard actions ({a})");
            let service = a.split(':').next().unwrap();
            assert!(
                [
                    "ecs",
                    "ecr",
                    "logs",
                    "codedeploy",
                    "iam",
                    "ssm",
                    "secretsmanager",
                    "events",
                    "scheduler",
                    "cloudwatch"
                ]
                .contains(&service),
                "{mode}: {a}"
            );
        }
        // PassRole only to ECS tasks, and to EventBridge and EventBridge
        // Scheduler for the role a scheduled task runs with.
        for st in policy["Statement"].as_array().unwrap() {
            if st["Action"] == "iam:PassRole" {
                let to = strings(&st["Condition"]["StringEquals"]["iam:PassedToService"]);
                let allowed = [
                    "ecs-tasks.amazonaws.com",
                    "events.amazonaws.com",
                    "scheduler.amazonaws.com",
                ];
                assert!(
                    !to.is_empty() && to.iter().all(|s| allowed.contains(&s.as_str())),
                    "{mode}: PassRole to {to:?}"
                );
                assert!(st["Resource"].is_array(), "PassRole names the roles");
            }
        }
    }
    let trust = block("iam-trust-policy");
    assert_eq!(trust["Action"], "sts:AssumeRoleWithWebIdentity");
    let cond = &trust["Condition"];
    assert_eq!(
        cond["StringEquals"]["token.actions.githubusercontent.com:aud"],
        "sts.amazonaws.com"
    );
    let sub = cond["StringLike"]["token.actions.githubusercontent.com:sub"]
        .as_str()
        .unwrap();
    assert!(
        sub.starts_with("repo:octo-org/octo-app:") && !sub.contains('*'),
        "the example trusts one repository and one ref or environment: {sub}"
    );
    assert_eq!(sub, common::SUB, "the emulator's token would be accepted");
}

/// How AWS authorises an action the policies grant, from the Service
/// Authorization Reference: <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html>,
/// <https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscodedeploy.html>,
/// <https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html>.
#[derive(Debug, PartialEq)]
enum Grant {
    /// Changes nothing: `"*"` is fine.
    Read,
    /// Changes something, and AWS defines no resource type for it: only
    /// `"*"` can grant it (the one documented exception).
    NoResourceType,
    /// Changes something: granted only on resources of these types, given
    /// as (ARN service, resource-type prefix), with this condition key.
    Scoped(
        &'static [(&'static str, &'static str)],
        Option<&'static str>,
    ),
}

fn grant(action: &str) -> Option<Grant> {
    use Grant::*;
    Some(match action {
        "ecs:UpdateService" => Scoped(&[("ecs", "service/")], None),
        "ecs:RunTask" => Scoped(&[("ecs", "task-definition/")], Some("ecs:cluster")),
        "ecs:StopTask" => Scoped(&[("ecs", "task/")], None),
        "ecs:StopServiceDeployment" | "ecs:ContinueServiceDeployment" => {
            Scoped(&[("ecs", "service-deployment/")], None)
        }
        // Tagging only while creating: the condition is what keeps it from
        // retagging anything else.
        "ecs:TagResource" => Scoped(
            &[("ecs", "task-definition/"), ("ecs", "task/")],
            Some("ecs:CreateAction"),
        ),
        "codedeploy:CreateDeployment" | "codedeploy:StopDeployment" => {
            Scoped(&[("codedeploy", "deploymentgroup:")], None)
        }
        "codedeploy:RegisterApplicationRevision" => Scoped(&[("codedeploy", "application:")], None),
        "iam:PassRole" => Scoped(&[("iam", "role/")], Some("iam:PassedToService")),
        // <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html>,
        // <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridgescheduler.html>
        "events:PutTargets" => Scoped(&[("events", "rule/")], None),
        "scheduler:UpdateSchedule" => Scoped(&[("scheduler", "schedule/")], None),
        "ecs:RegisterTaskDefinition"
        | "ecs:DeregisterTaskDefinition"
        | "ecs:DeleteTaskDefinitions" => NoResourceType,
        "ecr:DescribeImages"
        | "ecr:BatchGetImage"
        | "ecr:GetDownloadUrlForLayer"
        | "ecs:DescribeServiceDeployments"
        | "ecs:DescribeServiceRevisions"
        | "ecs:DescribeServices"
        | "ecs:DescribeTaskDefinition"
        | "ecs:DescribeTasks"
        | "ecs:ListClusters"
        | "ecs:ListServiceDeployments"
        | "ecs:ListTaskDefinitions"
        | "ecs:ListServices"
        | "ecs:ListTasks"
        | "logs:DescribeLogGroups"
        | "iam:GetRole"
        | "logs:GetLogEvents"
        | "secretsmanager:DescribeSecret"
        | "ssm:GetParameters"
        | "codedeploy:BatchGetDeploymentTargets"
        | "codedeploy:GetDeployment"
        | "codedeploy:GetDeploymentConfig"
        | "codedeploy:GetDeploymentGroup"
        | "codedeploy:ListDeploymentTargets"
        | "codedeploy:ListDeployments"
        | "events:ListRuleNamesByTarget"
        | "events:ListTargetsByRule"
        | "scheduler:GetSchedule"
        | "scheduler:ListSchedules"
        // <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html>
        | "cloudwatch:DescribeAlarms" => Read,
        _ => return None,
    })
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().map(|v| v.as_str().unwrap().to_string()).collect(),
        _ => Vec::new(),
    }
}

/// Whether `arn` names resources of one of `types` in one region and
/// account (no wildcard before the resource).
fn arn_of(arn: &str, types: &[(&str, &str)]) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [_, partition, service, region, account, resource] = parts[..] else {
        return false;
    };
    let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    let region_ok = if service == "iam" {
        region.is_empty()
    } else {
        !region.is_empty() && !region.contains('*')
    };
    partition == "aws"
        && account_ok
        && region_ok
        && types
            .iter()
            .any(|(s, prefix)| *s == service && resource.starts_with(prefix))
}

/// What is wrong with how one statement scopes its actions.
fn scoping_problems(statement: &Value) -> Vec<String> {
    let resources = strings(&statement["Resource"]);
    let sid = statement["Sid"].as_str().unwrap_or("?");
    let mut problems = Vec::new();
    for action in strings(&statement["Action"]) {
        match grant(&action) {
            None => problems.push(format!(
                "{sid}: {action} is not classified: add it to grant() from the Service Authorization Reference"
            )),
            Some(Grant::Read) => {}
            Some(Grant::NoResourceType) => {
                if resources != ["*"] {
                    problems.push(format!("{sid}: {action} has no resource type; only \"*\" grants it"));
                }
            }
            Some(Grant::Scoped(types, condition)) => {
                if resources.is_empty() || resources.iter().any(|r| !arn_of(r, types)) {
                    problems.push(format!(
                        "{sid}: {action} changes something: grant it on {types:?} ARNs, not {resources:?}"
                    ));
                }
                if let Some(key) = condition {
                    let conditioned = statement["Condition"]
                        .as_object()
                        .is_some_and(|c| c.values().any(|op| op.get(key).is_some()));
                    if !conditioned {
                        problems.push(format!("{sid}: {action} needs the condition {key}"));
                    }
                }
            }
        }
    }
    problems
}

#[test]
fn every_action_that_changes_something_is_granted_on_its_resources_not_on_star() {
    let mut problems = Vec::new();
    for mode in MODES {
        let policy = block(&format!("iam-policy: {mode}"));
        for st in policy["Statement"].as_array().unwrap() {
            problems.extend(
                scoping_problems(st)
                    .into_iter()
                    .map(|p| format!("{mode}: {p}")),
            );
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The scoping check refuses `"*"`, a resource of another type, a missing
/// condition and an action nobody classified.
#[test]
fn the_scoping_check_can_fail() {
    let refused = |st: Value| -> Vec<String> { scoping_problems(&st) };
    let star = refused(
        serde_json::json!({"Sid": "S", "Action": ["ecs:DescribeServices", "ecs:UpdateService"], "Resource": "*"}),
    );
    assert_eq!(star.len(), 1, "{star:?}");
    assert!(
        star[0].starts_with("S: ecs:UpdateService changes something"),
        "{star:?}"
    );
    let wrong_type = refused(serde_json::json!({"Action": "ecs:UpdateService",
        "Resource": "arn:aws:ecs:eu-west-1:123456789012:task/prod/*"}));
    assert_eq!(wrong_type.len(), 1, "{wrong_type:?}");
    let any_region = refused(serde_json::json!({"Action": "ecs:StopTask",
        "Resource": "arn:aws:ecs:*:123456789012:task/prod/*"}));
    assert_eq!(any_region.len(), 1, "{any_region:?}");
    let no_condition = refused(serde_json::json!({"Action": "ecs:RunTask",
        "Resource": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:*"}));
    assert_eq!(
        no_condition,
        ["?: ecs:RunTask needs the condition ecs:cluster"]
    );
    let scoped_register = refused(serde_json::json!({"Action": "ecs:RegisterTaskDefinition",
        "Resource": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:*"}));
    assert_eq!(scoped_register.len(), 1, "{scoped_register:?}");
    let unknown = refused(serde_json::json!({"Action": "ecs:DeleteService", "Resource": "*"}));
    assert!(unknown[0].contains("not classified"), "{unknown:?}");
    assert!(
        refused(serde_json::json!({"Action": "ecs:UpdateService",
            "Resource": "arn:aws:ecs:eu-west-1:123456789012:service/prod/*"}))
        .is_empty()
    );
}

#[test]
#[ignore = "needs the end-to-end suites' records: tests/run runs it last"]
fn each_policy_grants_exactly_what_the_end_to_end_runs_called() {
    let dir = common::repo_root().join("target/observed-calls");
    let mut problems = Vec::new();
    for mode in MODES {
        let text = std::fs::read_to_string(dir.join(mode))
            .unwrap_or_else(|e| panic!("no record of {mode} runs ({e}): run tests/run"));
        let documented = actions(&block(&format!("iam-policy: {mode}")));
        problems.extend(compare(mode, &text, &documented));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// What the documented policy of `mode` misses or grants beyond the
/// operations observed (one per line, as recorded) and what they imply.
fn compare(mode: &str, observed: &str, documented: &BTreeSet<String>) -> Vec<String> {
    let observed: BTreeSet<String> = observed
        .lines()
        .filter(|l| !l.is_empty() && *l != "sts:AssumeRoleWithWebIdentity")
        .map(iam_action)
        .collect();
    let mut expected = observed.clone();
    for op in &observed {
        expected.extend(implied(op).iter().map(|s| s.to_string()));
    }
    let missing: Vec<_> = expected.difference(documented).collect();
    let over: Vec<_> = documented.difference(&expected).collect();
    let mut problems = Vec::new();
    if !missing.is_empty() {
        problems.push(format!("{mode}: the documented policy misses {missing:?}"));
    }
    if !over.is_empty() {
        problems.push(format!(
            "{mode}: the documented policy grants {over:?}, never called by {mode}"
        ));
    }
    problems
}

/// The IAM action of an operation the emulator names by its signing name:
/// CloudWatch signs as `monitoring` but its actions are `cloudwatch:…`.
fn iam_action(call: &str) -> String {
    match call.strip_prefix("monitoring:") {
        Some(op) => format!("cloudwatch:{op}"),
        None => call.to_string(),
    }
}

/// The comparison fails both ways: a call the policy lacks, a grant never used.
#[test]
fn the_comparison_can_fail() {
    let documented: BTreeSet<String> = ["ecs:DescribeServices", "ecs:DeleteService"]
        .into_iter()
        .map(str::to_string)
        .collect();
    let problems = compare(
        "deploy",
        "ecs:DescribeServices\necs:UpdateService\n",
        &documented,
    );
    assert_eq!(
        problems,
        [
            "deploy: the documented policy misses [\"ecs:UpdateService\"]",
            "deploy: the documented policy grants [\"ecs:DeleteService\"], never called by deploy"
        ]
    );
    let implied_too = compare(
        "migrate",
        "ecs:RunTask\n",
        &["ecs:RunTask".to_string()].into(),
    );
    assert_eq!(
        implied_too,
        ["migrate: the documented policy misses [\"ecs:TagResource\", \"iam:PassRole\"]"]
    );
    assert!(
        compare(
            "render",
            "ecr:DescribeImages\n",
            &["ecr:DescribeImages".to_string()].into()
        )
        .is_empty()
    );
}
