use super::*;
use serde_json::json;

#[test]
fn value_from_is_read_as_ecs_reads_it() {
    let r = "eu-west-1";
    let secret = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf";
    for (value_from, source) in [
        (secret, Some(Source::Secret(secret.into()))),
        (
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf:password:AWSCURRENT:",
            Some(Source::Secret(secret.into())),
        ),
        (
            "arn:aws:ssm:eu-west-1:123456789012:parameter/prod/token",
            Some(Source::Parameter(
                "arn:aws:ssm:eu-west-1:123456789012:parameter/prod/token".into(),
            )),
        ),
        ("/prod/token", Some(Source::Parameter("/prod/token".into()))),
        ("token", Some(Source::Parameter("token".into()))),
        (
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:far-AbCdEf",
            None,
        ),
        ("arn:aws:ssm:us-east-1:123456789012:parameter/far", None),
    ] {
        assert_eq!(source_of(value_from, r), source, "{value_from}");
    }
    let td = json!({"containerDefinitions": [{"name": "web",
        "secrets": [{"name": "DB", "valueFrom": secret}],
        "repositoryCredentials": {"credentialsParameter": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:hub-XyZ123"}}]});
    let names: Vec<String> = secret_refs("web", &td, r)
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["DB", "repositoryCredentials"]);
}

#[test]
fn roles_of_another_account_are_not_read() {
    let td = json!({
        "executionRoleArn": "arn:aws:iam::123456789012:role/ecs-execution",
        "taskRoleArn": "arn:aws:iam::210987654321:role/shared/web-task"
    });
    let mut refs = role_refs("web", &td);
    refs.extend(role_refs("worker", &json!({"executionRoleArn": "arn:aws:iam::123456789012:role/ecs-execution", "taskRoleArn": "worker-task"})));
    assert_eq!(
        readable_roles(&refs, Some("123456789012")),
        [
            "arn:aws:iam::123456789012:role/ecs-execution",
            "worker-task"
        ],
        "once each; the other account's left out; a bare name is ours"
    );
    assert_eq!(
        readable_roles(&refs, None).len(),
        3,
        "no known account: all read"
    );
}

#[test]
fn a_trust_policy_must_let_ecs_tasks_assume_the_role() {
    let ecs = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["ecs-tasks.amazonaws.com"]},"Action":"sts:AssumeRole"}]}"#;
    assert!(trusts_ecs_tasks(ecs));
    let encoded: String =
        percent_encoding::utf8_percent_encode(ecs, percent_encoding::NON_ALPHANUMERIC).to_string();
    assert!(trusts_ecs_tasks(&encoded), "GetRole answers it URL-encoded");
    let lambda = ecs.replace("ecs-tasks", "lambda");
    assert!(!trusts_ecs_tasks(&lambda));
    let denied = ecs.replace("Allow", "Deny");
    assert!(!trusts_ecs_tasks(&denied));
    let single = r#"{"Statement":{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}}"#;
    assert!(trusts_ecs_tasks(single));
    assert!(!trusts_ecs_tasks("not json"));
}

#[test]
fn only_groups_that_must_exist_here_are_checked() {
    let td = json!({"containerDefinitions": [
        {"name": "web", "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web", "awslogs-region": "eu-west-1"}}},
        {"name": "made", "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/new", "awslogs-create-group": "True"}}},
        {"name": "far", "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/far", "awslogs-region": "us-east-1"}}},
        {"name": "router", "logConfiguration": {"logDriver": "awsfirelens"}},
        {"name": "bare"}
    ]});
    assert_eq!(
        awslogs_groups("web", &td, "eu-west-1"),
        [LogGroupRef {
            target: "web".into(),
            container: "web".into(),
            group: "/ecs/web".into()
        }]
    );
}
