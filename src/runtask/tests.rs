use aws_sdk_ecs::types::{Container, TaskStopCode};

use super::*;
use crate::inputs::{ModeSettings, RawInputs, Settings, TaskSettings};

fn settings(extra: &[(&'static str, &str)]) -> TaskSettings {
    let given = [("mode", "migrate"), ("image", "web:v1"), ("service", "web")];
    let raw: RawInputs = given.iter().chain(extra).copied().collect();
    task(Settings::parse(&raw).unwrap())
}

fn task(s: Settings) -> TaskSettings {
    match s.mode {
        ModeSettings::Migrate(m) => m.task,
        other => panic!("not migrate: {other:?}"),
    }
}

fn td() -> Value {
    serde_json::json!({"family": "web", "networkMode": "awsvpc", "containerDefinitions": [{"name": "web", "image": "i"}, {"name": "sidecar", "image": "s"}]})
}

fn service() -> Service {
    Service::builder()
        .service_name("web")
        .launch_type(LaunchType::Fargate)
        .platform_version("1.4.0")
        .network_configuration(
            NetworkConfiguration::builder()
                .awsvpc_configuration(
                    AwsVpcConfiguration::builder()
                        .subnets("subnet-a")
                        .subnets("subnet-b")
                        .security_groups("sg-1")
                        .assign_public_ip(AssignPublicIp::Disabled)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .build()
}

#[test]
fn placement_is_copied_from_the_service() {
    let p = plan(
        &settings(&[("command", "rake db:migrate")]),
        Some(&service()),
        &td(),
        &["web".into()],
    )
    .unwrap();
    assert_eq!(p.subnets, ["subnet-a", "subnet-b"]);
    assert_eq!(p.security_groups, ["sg-1"]);
    assert_eq!(p.assign_public_ip, Some(false));
    assert_eq!(p.launch_type, Some(LaunchType::Fargate));
    assert_eq!(p.platform_version.as_deref(), Some("1.4.0"));
    assert_eq!(p.container, "web");
    assert_eq!(
        p.command.as_deref(),
        Some(&["rake".to_string(), "db:migrate".to_string()][..])
    );
    assert_eq!(p.origin, "placement from the service");
}

#[test]
fn inputs_override_the_service() {
    let s = settings(&[
        ("subnets", "subnet-x"),
        ("security-groups", "sg-9, sg-8"),
        ("assign-public-ip", "ENABLED"),
        ("migration-container", "sidecar"),
    ]);
    let p = plan(&s, Some(&service()), &td(), &["web".into()]).unwrap();
    assert_eq!(p.subnets, ["subnet-x"]);
    assert_eq!(p.security_groups, ["sg-9", "sg-8"]);
    assert_eq!(p.assign_public_ip, Some(true));
    assert_eq!(p.container, "sidecar");
}

#[test]
fn without_a_service_subnets_are_required() {
    let given = [
        ("mode", "migrate"),
        ("image", "web:v1"),
        ("task-definition", "web"),
    ];
    let s = task(Settings::parse(&RawInputs::from_iter(given)).unwrap());
    let edge = |e| crate::error::Failure::from_error("migrate", e);
    let err = edge(plan(&s, None, &td(), &["web".into()]).unwrap_err());
    assert_eq!(err.title, "subnets");
    assert_eq!(err.kind, crate::error::FailureKind::BadInput);
    let err = edge(
        plan(
            &settings(&[("migration-container", "db")]),
            Some(&service()),
            &td(),
            &["web".into()],
        )
        .unwrap_err(),
    );
    assert_eq!(err.title, "migration-container");
    assert!(
        err.headline.contains("no container `db`") && err.headline.contains("web, sidecar"),
        "{err}"
    );
}

#[test]
fn outcome_comes_from_the_migration_container() {
    let task = Task::builder()
        .containers(Container::builder().name("sidecar").exit_code(0).build())
        .containers(Container::builder().name("web").exit_code(3).build())
        .build();
    assert_eq!(outcome(&task, "web"), TaskOutcome::Exited(3));
    assert_eq!(outcome(&task, "sidecar"), TaskOutcome::Exited(0));
    let failed = Task::builder()
        .stop_code(TaskStopCode::TaskFailedToStart)
        .stopped_reason("CannotPullContainerError: pull image manifest has been retried 5 time(s)")
        .containers(
            Container::builder()
                .name("web")
                .reason("CannotPullContainerError: ref not found")
                .build(),
        )
        .build();
    assert_eq!(
        outcome(&failed, "web"),
        TaskOutcome::NoExitCode("TaskFailedToStart: CannotPullContainerError: pull image manifest has been retried 5 time(s): container web: CannotPullContainerError: ref not found".into())
    );
}

#[test]
fn capacity_failures_are_transient_others_are_not() {
    assert!(is_transient_failure(
        "Capacity is unavailable at this time. Please try again later or in a different availability zone"
    ));
    assert!(!is_transient_failure("MISSING"));
    assert!(!is_transient_failure(
        "InvalidParameterException: subnet not found"
    ));
}
