//! Least privilege: the README's IAM policy per mode against the AWS
//! operations the end-to-end suites really issued (recorded by
//! tests/common into target/observed-calls/<mode>).
//!
//! The comparison is `#[ignore]`d in a plain `cargo test` because it needs
//! every end-to-end suite to have run first; `tests/run` runs it last with
//! `--ignored`. The shape checks run always.

mod common;

use std::collections::BTreeSet;

use serde_json::Value;

const MODES: [&str; 4] = ["render", "migrate", "deploy", "rollback"];

fn readme() -> String {
    std::fs::read_to_string(common::repo_root().join("README.md")).unwrap()
}

/// The JSON block that follows `<!-- marker -->` in the README.
fn block(marker: &str) -> Value {
    let text = readme();
    let at = text
        .find(&format!("<!-- {marker} -->"))
        .unwrap_or_else(|| panic!("README has no `<!-- {marker} -->`"));
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
                ["ecs", "ecr", "logs", "codedeploy", "iam"].contains(&service),
                "{mode}: {a}"
            );
        }
        // PassRole only to ECS tasks.
        for st in policy["Statement"].as_array().unwrap() {
            if st["Action"] == "iam:PassRole" {
                assert_eq!(
                    st["Condition"]["StringEquals"]["iam:PassedToService"],
                    "ecs-tasks.amazonaws.com"
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
        .map(str::to_string)
        .collect();
    let mut expected = observed.clone();
    for op in &observed {
        expected.extend(implied(op).iter().map(|s| s.to_string()));
    }
    let missing: Vec<_> = expected.difference(documented).collect();
    let over: Vec<_> = documented.difference(&expected).collect();
    let mut problems = Vec::new();
    if !missing.is_empty() {
        problems.push(format!("{mode}: the README's policy misses {missing:?}"));
    }
    if !over.is_empty() {
        problems.push(format!(
            "{mode}: the README's policy grants {over:?}, never called by {mode}"
        ));
    }
    problems
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
            "deploy: the README's policy misses [\"ecs:UpdateService\"]",
            "deploy: the README's policy grants [\"ecs:DeleteService\"], never called by deploy"
        ]
    );
    let implied_too = compare(
        "migrate",
        "ecs:RunTask\n",
        &["ecs:RunTask".to_string()].into(),
    );
    assert_eq!(
        implied_too,
        ["migrate: the README's policy misses [\"ecs:TagResource\", \"iam:PassRole\"]"]
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
