//! Scenario tests of the ECS calls around a deployment, with aws-smithy-mocks:
//! services that are not there, UpdateService's answer, rollback's fallback,
//! and the batching of DescribeServices (10) and DescribeTasks (100).

use crate::common;
use aws_sdk_ecs::types::DeploymentRolloutState as R;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
use aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput;
use aws_sdk_ecs::operation::list_tasks::ListTasksOutput;
use aws_sdk_ecs::operation::update_service::UpdateServiceOutput;
use aws_sdk_ecs::types::{Failure as EcsFailure, Service, Task};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use common::ecs::{NEW, OLD, answer, dep, ours, service};
use fargate_deploy::deployment::update_service;
use fargate_deploy::error::{Failure, FailureKind};
use fargate_deploy::service::describe_services;

/// DescribeServices of `service` in prod, answered by `describe`: refused
/// as bad input (the edge decides the kind from the error's chain).
async fn refused(describe: &aws_smithy_mocks::Rule, service: &str) -> Failure {
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &[describe]);
    let err = describe_services(&ecs, "prod", &[service.to_string()]).await;
    let err = Failure::from_error("service", err.unwrap_err());
    assert_eq!(err.kind, FailureKind::BadInput, "{err}");
    err
}

#[tokio::test]
async fn missing_inactive_and_draining_services_are_bad_input() {
    for (status, expect) in [
        ("INACTIVE", "is INACTIVE, not ACTIVE"),
        ("DRAINING", "is DRAINING, not ACTIVE"),
    ] {
        let describe = mock!(Client::describe_services).then_output(move || {
            answer(vec![
                Service::builder()
                    .service_name("web")
                    .status(status)
                    .build(),
            ])
        });
        let err = refused(&describe, "web").await;
        assert!(err.headline.contains(expect), "{err}");
    }
    let describe = mock!(Client::describe_services).then_output(|| {
        DescribeServicesOutput::builder()
            .failures(
                EcsFailure::builder()
                    .arn("arn:aws:ecs:eu-west-1:123456789012:service/prod/api")
                    .reason("MISSING")
                    .build(),
            )
            .build()
    });
    let err = refused(&describe, "api").await;
    assert!(
        err.headline
            .contains("service `api` not found in cluster `prod` (MISSING)"),
        "{err}"
    );
}

#[tokio::test]
async fn update_identifies_the_new_primary_deployment() {
    let before = service(
        "web",
        vec![dep("ecs-svc/1", "PRIMARY", OLD, R::Completed, 2)],
        vec![],
    );
    let update = mock!(Client::update_service)
        .match_requests(|req| {
            req.task_definition() == Some(NEW)
                && req.force_new_deployment() == Some(false)
                && req.desired_count() == Some(3)
        })
        .then_output(|| {
            UpdateServiceOutput::builder()
                .service(service(
                    "web",
                    vec![
                        dep("ecs-svc/2", "PRIMARY", NEW, R::InProgress, 0),
                        dep("ecs-svc/1", "ACTIVE", OLD, R::Completed, 2),
                    ],
                    vec![],
                ))
                .build()
        });
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &[&update]);
    let u = update_service(&ecs, "prod", &before, NEW, false, Some(3))
        .await
        .unwrap();
    assert!(u.new_deployment);
    assert_eq!(u.followed, ours("web"));

    // Same revision, not forced: ECS starts nothing and the current PRIMARY is followed.
    let same = mock!(Client::update_service).then_output(|| {
        UpdateServiceOutput::builder()
            .service(service(
                "web",
                vec![dep("ecs-svc/1", "PRIMARY", OLD, R::Completed, 2)],
                vec![],
            ))
            .build()
    });
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &[&same]);
    let u = update_service(&ecs, "prod", &before, OLD, false, None)
        .await
        .unwrap();
    assert!(!u.new_deployment);
    assert_eq!(u.followed.deployment_id, "ecs-svc/1");
}

#[tokio::test]
async fn rollback_falls_back_to_the_family_lineage_without_deployment_history() {
    use aws_sdk_ecs::operation::list_task_definitions::ListTaskDefinitionsOutput;
    use fargate_deploy::deployment::previous::previous_good;
    let unavailable = mock!(Client::list_service_deployments).then_http_response(|| {
        Response::new(
            StatusCode::try_from(400).unwrap(),
            SdkBody::from(
                r#"{"__type":"UnknownOperationException","message":"not supported here"}"#,
            ),
        )
    });
    let lineage = mock!(Client::list_task_definitions)
        .match_requests(|r| r.family_prefix() == Some("web"))
        .then_output(|| {
            ListTaskDefinitionsOutput::builder()
                .task_definition_arns("arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7")
                .task_definition_arns(
                    "arn:aws:ecs:eu-west-1:123456789012:task-definition/web-admin:6",
                )
                .task_definition_arns("arn:aws:ecs:eu-west-1:123456789012:task-definition/web:5")
                .build()
        });
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &[&unavailable, &lineage]);
    let svc = Service::builder()
        .service_name("web")
        .task_definition("arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7")
        .deployments(dep(
            "ecs-svc/7",
            "PRIMARY",
            "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7",
            R::Completed,
            2,
        ))
        .build();
    let plan = previous_good(&ecs, "prod", &svc).await.unwrap();
    assert_eq!(
        plan.to, "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:5",
        "skips web-admin, a different family with the same prefix"
    );
    assert!(
        plan.why.contains("previous ACTIVE revision of web")
            && plan.why.contains("not supported here"),
        "{}",
        plan.why
    );
}

#[tokio::test]
async fn describe_services_is_batched_ten_at_a_time() {
    use fargate_deploy::service::describe_batched;
    let describe = mock!(Client::describe_services)
        .match_requests(|req| req.services().len() <= 10)
        .then_compute_output(|req| {
            answer(
                req.services()
                    .iter()
                    .map(|n| service(n, vec![], vec![]))
                    .collect(),
            )
        });
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &[&describe]);
    let names: Vec<String> = (0..23).map(|i| format!("svc{i}")).collect();
    let described = describe_batched(&ecs, "prod", &names).await.unwrap();
    assert_eq!(described.services.len(), 23);
    assert_eq!(
        describe.num_calls(),
        3,
        "23 services take 3 calls of at most 10"
    );
}

#[tokio::test]
async fn stopped_tasks_are_described_a_hundred_at_a_time() {
    use fargate_deploy::deployment::wait::stopped_task_reasons;
    let list = mock!(Client::list_tasks).then_output(|| {
        ListTasksOutput::builder()
            .set_task_arns(Some((0..150).map(|i| format!("arn:task/{i}")).collect()))
            .build()
    });
    let tasks = mock!(Client::describe_tasks)
        .match_requests(|req| req.tasks().len() <= 100)
        .then_compute_output(|req| {
            DescribeTasksOutput::builder()
                .set_tasks(Some(
                    req.tasks()
                        .iter()
                        .map(|arn| {
                            Task::builder()
                                .task_arn(arn)
                                .started_by("ecs-svc/2")
                                .stopped_reason("Essential container in task exited")
                                .build()
                        })
                        .collect(),
                ))
                .build()
        });
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &[&list, &tasks]);
    let reasons = stopped_task_reasons(&ecs, "prod", &ours("web")).await;
    assert_eq!(
        tasks.num_calls(),
        2,
        "150 tasks take 2 DescribeTasks calls of at most 100"
    );
    assert_eq!(reasons.len(), 5, "the report keeps five");
}

/// ListServiceDeployments pages (20 by default) and documents no order: a
/// busy service's last good deployment can be on the second page. Rollback
/// reads every page and orders by creation time.
#[tokio::test]
async fn rollback_reads_every_page_of_the_deployment_history() {
    use aws_sdk_ecs::operation::describe_service_revisions::DescribeServiceRevisionsOutput;
    use aws_sdk_ecs::operation::list_service_deployments::ListServiceDeploymentsOutput;
    use aws_sdk_ecs::types::{ServiceDeploymentBrief, ServiceRevision};
    use aws_smithy_types::DateTime;
    use fargate_deploy::deployment::previous::previous_good;
    let td = |n: u32| format!("arn:aws:ecs:eu-west-1:123456789012:task-definition/web:{n}");
    let rev = |n: u32| format!("arn:aws:ecs:eu-west-1:123456789012:service-revision/prod/web/{n}");
    let brief = move |n: u32| {
        ServiceDeploymentBrief::builder()
            .service_deployment_arn(format!(
                "arn:aws:ecs:eu-west-1:123456789012:service-deployment/prod/web/d{n}"
            ))
            .target_service_revision_arn(rev(n))
            .created_at(DateTime::from_secs(1_790_000_000 + i64::from(n) * 60))
            .build()
    };
    // Oldest first: revisions 1–20 on the first page, 21 and 22 on the second.
    let first = mock!(Client::list_service_deployments)
        .match_requests(|r| r.next_token().is_none())
        .then_output(move || {
            let mut out = ListServiceDeploymentsOutput::builder().next_token("page-2");
            for n in 1..=20 {
                out = out.service_deployments(brief(n));
            }
            out.build()
        });
    let second = mock!(Client::list_service_deployments)
        .match_requests(|r| r.next_token() == Some("page-2"))
        .then_output(move || {
            ListServiceDeploymentsOutput::builder()
                .service_deployments(brief(21))
                .service_deployments(brief(22))
                .build()
        });
    let revisions = mock!(Client::describe_service_revisions).then_output(move || {
        let mut out = DescribeServiceRevisionsOutput::builder();
        for n in 1..=22 {
            out = out.service_revisions(
                ServiceRevision::builder()
                    .service_revision_arn(rev(n))
                    .task_definition(td(n))
                    .build(),
            );
        }
        out.build()
    });
    let ecs = mock_client!(
        aws_sdk_ecs,
        RuleMode::MatchAny,
        &[&first, &second, &revisions]
    );
    let svc = Service::builder()
        .service_name("web")
        .task_definition(td(22))
        .deployments(dep("ecs-svc/22", "PRIMARY", &td(22), R::Completed, 2))
        .build();
    let plan = previous_good(&ecs, "prod", &svc).await.unwrap();
    assert_eq!(plan.to, td(21), "{}", plan.why);
    assert_eq!(second.num_calls(), 1);
}

/// Rollback of two services, one rolling (UpdateService) and one native
/// (StopServiceDeployment), where the stop is refused: the update is not
/// abandoned in flight, and the failure names the service already changed.
#[tokio::test]
async fn a_failed_change_never_abandons_the_others_and_names_what_changed() {
    use fargate_deploy::deployment::apply::{apply_all, rollback_change};
    use fargate_deploy::plan::{DeploymentKind, RollbackAction, RollbackTo};

    let update = mock!(Client::update_service)
        .match_requests(|req| req.service() == Some("web") && req.task_definition() == Some(OLD))
        .then_output(|| {
            UpdateServiceOutput::builder()
                .service(service(
                    "web",
                    vec![dep("ecs-svc/3", "PRIMARY", OLD, R::InProgress, 0)],
                    vec![],
                ))
                .build()
        });
    let stop = mock!(Client::stop_service_deployment).then_http_response(|| {
        Response::new(
            StatusCode::try_from(400).unwrap(),
            SdkBody::from(
                r#"{"__type":"AccessDeniedException","message":"not authorized to perform: ecs:StopServiceDeployment"}"#,
            ),
        )
    });
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &[&update, &stop]);
    let cd = aws_sdk_codedeploy::Client::from_conf(
        aws_sdk_codedeploy::Config::builder()
            .behavior_version(aws_sdk_codedeploy::config::BehaviorVersion::latest())
            .region(aws_sdk_codedeploy::config::Region::new("eu-west-1"))
            // Never called here; loopback all the same.
            .endpoint_url("http://127.0.0.1:9")
            .build(),
    );
    let web = service(
        "web",
        vec![dep("ecs-svc/2", "PRIMARY", NEW, R::Completed, 2)],
        vec![],
    );
    let api = service("api", vec![], vec![]);
    let actions = [
        RollbackAction::Update {
            to: RollbackTo {
                service: "web".into(),
                from: NEW.into(),
                to: OLD.into(),
                why: "the previous revision".into(),
            },
            kind: DeploymentKind::Rolling,
        },
        RollbackAction::StopNative {
            service: "api".into(),
            arn: "arn:aws:ecs:eu-west-1:123456789012:service-deployment/prod/api/abc".into(),
            current: "arn:aws:ecs:eu-west-1:123456789012:task-definition/api:9".into(),
            paused: None,
        },
    ];
    let changes = [&web, &api]
        .into_iter()
        .zip(&actions)
        .map(|(svc, a)| rollback_change(&ecs, &cd, "prod", svc, a))
        .collect();
    let err = apply_all("rollback", changes).await.unwrap_err();
    assert_eq!(
        update.num_calls(),
        1,
        "web's UpdateService ran to its answer"
    );
    assert_eq!(stop.num_calls(), 1);
    assert_eq!(
        err.kind,
        FailureKind::Failed,
        "something changed: exit 1, not 2"
    );
    assert!(
        err.headline.contains("StopServiceDeployment") && err.headline.contains("AccessDenied"),
        "{err}"
    );
    // Worded as every failed AWS call is (error::OrFailed).
    assert_eq!(
        err.headline,
        "StopServiceDeployment arn:aws:ecs:eu-west-1:123456789012:service-deployment/prod/api/abc failed: AccessDeniedException: not authorized to perform: ecs:StopServiceDeployment"
    );
    assert_eq!(
        err.detail,
        ["web was changed (deployment ecs-svc/3) and goes on in AWS without being watched"],
        "{err}"
    );
}

/// When nothing changed, the one failure is passed on as it is (a bad input
/// stays exit 2); when every change succeeds, they come back in plan order.
#[tokio::test(start_paused = true)]
async fn apply_all_passes_a_lone_failure_on_and_keeps_plan_order() {
    use fargate_deploy::deployment::Updated;
    use fargate_deploy::deployment::apply::{Change, apply_all};
    use fargate_deploy::plan::DeploymentKind;
    use std::time::Duration;

    // A lone failure passes on as the edge classifies it (bad input here).
    let bad: Vec<Change> = vec![Box::pin(async {
        Err(fargate_deploy::error::bad_input("service", "no such group"))
    })];
    let err = apply_all("update service", bad).await.unwrap_err();
    assert_eq!(
        (err.kind, err.title.as_str(), err.headline.as_str()),
        (FailureKind::BadInput, "service", "no such group")
    );

    let changed = |name: &'static str, after: u64| -> Change {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(after)).await;
            Ok(Updated {
                followed: ours(name),
                new_deployment: true,
                desired_count: 2,
                kind: DeploymentKind::Rolling,
                expect_rollback: false,
            })
        })
    };
    let done = apply_all(
        "update service",
        vec![changed("slow", 50), changed("fast", 1)],
    )
    .await
    .unwrap();
    let names: Vec<&str> = done.iter().map(|u| u.followed.service.as_str()).collect();
    assert_eq!(names, ["slow", "fast"]);
}

/// Fifty services are updated at most `CHANGES_AT_ONCE` at a time (ECS
/// throttles service writes), all of them, in plan order.
#[tokio::test(start_paused = true)]
async fn apply_all_keeps_at_most_ten_changes_in_flight() {
    use fargate_deploy::deployment::Updated;
    use fargate_deploy::deployment::apply::{CHANGES_AT_ONCE, Change, apply_all};
    use fargate_deploy::plan::DeploymentKind;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let names: Vec<String> = (0..50).map(|i| format!("svc-{i}")).collect();
    let changes: Vec<Change> = names
        .iter()
        .map(|name| {
            let (now, most, name) = (now.clone(), most.clone(), name.clone());
            Box::pin(async move {
                let at = now.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(at, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
                now.fetch_sub(1, Ordering::SeqCst);
                Ok(Updated {
                    followed: ours(&name),
                    new_deployment: true,
                    desired_count: 1,
                    kind: DeploymentKind::Rolling,
                    expect_rollback: false,
                })
            }) as Change
        })
        .collect();
    let t0 = tokio::time::Instant::now();
    let done = apply_all("update service", changes).await.unwrap();
    assert_eq!(CHANGES_AT_ONCE, 10);
    assert_eq!(most.load(Ordering::SeqCst), CHANGES_AT_ONCE);
    assert_eq!(
        t0.elapsed(),
        Duration::from_millis(500),
        "five rounds of ten"
    );
    let order: Vec<&str> = done.iter().map(|u| u.followed.service.as_str()).collect();
    assert_eq!(order, names.iter().map(String::as_str).collect::<Vec<_>>());
}
