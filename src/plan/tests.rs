use std::time::Duration;

use aws_sdk_ecs::types::{
    DeploymentConfiguration, DeploymentController, DeploymentControllerType, DeploymentStrategy,
    Service,
};
use serde_json::json;

use super::*;

fn service(
    name: &str,
    controller: Option<DeploymentControllerType>,
    strategy: Option<DeploymentStrategy>,
) -> Service {
    let mut b = Service::builder()
        .service_name(name)
        .task_definition(format!(
            "arn:aws:ecs:eu-west-1:123456789012:task-definition/{name}:4"
        ));
    if let Some(c) = controller {
        b = b.deployment_controller(DeploymentController::builder().r#type(c).build().unwrap());
    }
    if let Some(s) = strategy {
        b = b.deployment_configuration(DeploymentConfiguration::builder().strategy(s).build());
    }
    b.build()
}

#[test]
fn the_controller_and_the_strategy_decide_how_a_service_is_deployed() {
    let names = CodeDeployNames::default();
    let of = |svc: &Service| {
        Strategy::of(
            "arn:aws:ecs:eu-west-1:123456789012:cluster/prod",
            svc,
            names,
        )
    };
    assert_eq!(of(&service("web", None, None)).unwrap(), Strategy::Rolling);
    assert_eq!(
        of(&service(
            "web",
            Some(DeploymentControllerType::Ecs),
            Some(DeploymentStrategy::Rolling)
        ))
        .unwrap(),
        Strategy::Rolling
    );
    assert_eq!(
        of(&service(
            "web",
            Some(DeploymentControllerType::Ecs),
            Some(DeploymentStrategy::BlueGreen)
        ))
        .unwrap(),
        Strategy::Native(NativeKind::BlueGreen)
    );
    assert_eq!(
        of(&service("web", None, Some(DeploymentStrategy::Canary)))
            .unwrap()
            .kind(),
        DeploymentKind::Native
    );
    let Strategy::CodeDeploy(t) = of(&service(
        "bg",
        Some(DeploymentControllerType::CodeDeploy),
        None,
    ))
    .unwrap() else {
        panic!("CODE_DEPLOY is a CodeDeploy deployment");
    };
    assert_eq!(
        (t.application.as_str(), t.group.as_str()),
        ("AppECS-prod-bg", "DgpECS-prod-bg")
    );
    let refused = of(&service(
        "ext",
        Some(DeploymentControllerType::External),
        None,
    ))
    .unwrap_err();
    let refused = crate::error::Failure::from_error("deploy", refused);
    assert_eq!(refused.kind, crate::error::FailureKind::BadInput);
    assert_eq!(refused.title, "service");
    let says = "EXTERNAL deployment controller";
    assert!(refused.headline.contains(says), "{refused}");
}

#[test]
fn codedeploy_names_given_win_over_the_consoles_defaults() {
    let t = CodeDeployTarget::new(
        "prod",
        "bg",
        CodeDeployNames {
            application: Some("app"),
            group: Some("group"),
            config: Some("CodeDeployDefault.ECSCanary10Percent5Minutes"),
        },
    );
    assert_eq!((t.application.as_str(), t.group.as_str()), ("app", "group"));
    assert_eq!(
        Strategy::CodeDeploy(t).describe(),
        "CodeDeploy deployment in app/group with CodeDeployDefault.ECSCanary10Percent5Minutes"
    );
}

#[test]
fn an_identical_latest_revision_is_reused_and_anything_else_registers() {
    let rendered = json!({"family": "web", "containerDefinitions": [{"name": "web", "image": "web@sha256:1"}]});
    let mut latest = rendered.clone();
    latest["taskDefinitionArn"] = json!("arn:aws:ecs:eu-west-1:123456789012:task-definition/web:4");
    latest["revision"] = json!(4);
    latest["status"] = json!("ACTIVE");
    assert_eq!(
        Revision::decide(&rendered, Some(&latest)),
        Revision::Reuse {
            arn: "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:4".into()
        }
    );
    let mut other = latest.clone();
    other["containerDefinitions"][0]["image"] = json!("web@sha256:2");
    assert_eq!(
        Revision::decide(&rendered, Some(&other)),
        Revision::New {
            latest: Some("arn:aws:ecs:eu-west-1:123456789012:task-definition/web:4".into())
        }
    );
    assert_eq!(
        Revision::decide(&rendered, None),
        Revision::New { latest: None }
    );
}

#[test]
fn the_plan_says_per_service_what_changes_how_and_what_done_means() {
    let plan = DeployPlan {
        cluster: "arn:aws:ecs:eu-west-1:123456789012:cluster/prod".into(),
        services: vec![
            ServicePlan {
                service: "web".into(),
                family: "web".into(),
                from: "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:4".into(),
                revision: Revision::New {
                    latest: Some("arn:aws:ecs:eu-west-1:123456789012:task-definition/web:4".into()),
                },
                same_as: None,
                strategy: Strategy::Rolling,
                alarms: vec!["web-5xx".into(), "web-latency".into()],
            },
            ServicePlan {
                service: "cron".into(),
                family: "web".into(),
                from: "web:4".into(),
                revision: Revision::New {
                    latest: Some("web:4".into()),
                },
                same_as: Some("web".into()),
                strategy: Strategy::Rolling,
                alarms: vec![],
            },
            ServicePlan {
                service: "api".into(),
                family: "api".into(),
                from: "api:7".into(),
                revision: Revision::Reuse {
                    arn: "api:8".into(),
                },
                same_as: None,
                strategy: Strategy::Native(NativeKind::Linear),
                alarms: vec![],
            },
        ],
        wait: Some((WaitUntil::Complete, Duration::from_secs(1800))),
        fail_fast: true,
        rollback_on_cancel: false,
        retention: None,
        schedules: None,
    };
    assert_eq!(
        plan.lines(),
        [
            "web: register a new revision of web (differs from web:4); rolling update (UpdateService) from web:4",
            "cron: the new revision registered for web; rolling update (UpdateService) from web:4",
            "api: reuse api:8 (identical); ECS-native LINEAR deployment (UpdateService) from api:7",
            "web: watched by CloudWatch alarm(s) web-5xx, web-latency; should its deployment fail, each one in ALARM is reported with its state reason",
            "then wait until every deployment completes (at most 30 min)",
            "fail-fast: once 3 tasks of a rolling or ECS-native deployment fail the same way for a reason that will not fix itself and none runs, it is stopped with rollback (api to api:7, cron to web:4, web to web:4)",
        ]
    );
    check_what_a_failure_or_a_cancel_returns_to(&plan);
    assert_eq!(
        plan.alarm_targets(),
        HashMap::from([(
            "web".to_string(),
            vec!["web-5xx".to_string(), "web-latency".to_string()]
        )])
    );
    assert_eq!(
        plan.headline(),
        "3 service(s) in prod: 1 new revision(s) to register, 1 reused; 2 rolling, 1 ECS-native"
    );
    // What a deploy would do (mode render): no wait to speak of.
    let shown = DeployPlan { wait: None, ..plan };
    assert!(
        shown.fail_fast_targets().is_empty(),
        "no wait, nothing to stop"
    );
    assert_eq!(
        shown.lines().len(),
        4,
        "the services and the alarms watching web"
    );
    assert!(shown.lines()[2].starts_with("api: reuse api:8"));
}

/// Fail-fast's rolling and ECS-native services and on-cancel's every
/// service, each with the revision it returns to, decided in the plan.
fn check_what_a_failure_or_a_cancel_returns_to(plan: &DeployPlan) {
    // The rolling and native services and where a hopeless deployment of
    // each returns (not CodeDeploy ones: their deployment group decides).
    let targets = plan.fail_fast_targets();
    assert_eq!(targets.len(), 3);
    assert_eq!(targets["cron"], "web:4");
    assert_eq!(targets["api"], "api:7");
    let off = DeployPlan {
        fail_fast: false,
        ..plan.clone()
    };
    assert!(off.fail_fast_targets().is_empty());
    assert_eq!(off.lines().len(), 5);
    let on_cancel = DeployPlan {
        rollback_on_cancel: true,
        retention: None,
        schedules: None,
        ..off.clone()
    };
    assert_eq!(
        on_cancel.on_cancel_targets().len(),
        3,
        "every service, any kind"
    );
    assert_eq!(
        on_cancel.lines()[5],
        "on-cancel: a cancelled run stops every deployment it started with rollback (api to api:7, cron to web:4, web to web:4)"
    );
}

#[test]
fn only_a_native_service_with_a_pause_hook_can_be_waited_for_until_paused() {
    use aws_sdk_ecs::types::{DeploymentLifecycleHook, DeploymentLifecycleHookTargetType as T};
    let hooked = |target: T| {
        let hook = DeploymentLifecycleHook::builder()
            .target_type(target)
            .build();
        let config = DeploymentConfiguration::builder()
            .strategy(DeploymentStrategy::BlueGreen)
            .lifecycle_hooks(hook)
            .build();
        Service::builder()
            .service_name("web")
            .deployment_configuration(config)
            .build()
    };
    let native = Strategy::Native(NativeKind::BlueGreen);
    assert!(check_pausable(&hooked(T::Pause), &native).is_ok());
    let target = CodeDeployTarget::new("prod", "web", CodeDeployNames::default());
    for (svc, strategy, why) in [
        (
            hooked(T::AwsLambda),
            native.clone(),
            "no lifecycle hook with targetType PAUSE",
        ),
        (
            hooked(T::Pause),
            Strategy::Rolling,
            "rolling updates, which never pause",
        ),
        (
            hooked(T::Pause),
            Strategy::CodeDeploy(target),
            "deployed by CodeDeploy",
        ),
    ] {
        let err = check_pausable(&svc, &strategy).unwrap_err();
        let bad = err
            .downcast_ref::<crate::error::BadInput>()
            .expect("bad input");
        assert!(format!("{err:#}").contains(why), "{err:#}");
        assert_eq!(bad.input, "wait-until");
    }
}
