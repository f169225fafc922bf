use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem, LoadBalancer,
    NetworkConfiguration, Service,
};
use serde_json::{Value, json};

use super::*;

fn rendered() -> Rendered {
    Rendered::with_one_image(
        json!({"family": "web", "containerDefinitions": [
            {"name": "web", "image": "repo@sha256:abc", "portMappings": [{"containerPort": 3000}]},
            {"name": "sidecar", "image": "envoy:1"}
        ]}),
        vec!["web".into()],
    )
}

fn service() -> Service {
    Service::builder()
        .service_name("web")
        .platform_version("1.4.0")
        .load_balancers(
            LoadBalancer::builder()
                .target_group_arn("arn:tg")
                .container_name("web")
                .container_port(8080)
                .build(),
        )
        .network_configuration(
            NetworkConfiguration::builder()
                .awsvpc_configuration(
                    AwsVpcConfiguration::builder()
                        .subnets("subnet-1")
                        .subnets("subnet-2")
                        .security_groups("sg-1")
                        .assign_public_ip(AssignPublicIp::Disabled)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .capacity_provider_strategy(
            CapacityProviderStrategyItem::builder()
                .capacity_provider("FARGATE_SPOT")
                .weight(3)
                .base(1)
                .build()
                .unwrap(),
        )
        .build()
}

#[test]
fn taskdef_template_has_the_placeholder_only_where_the_image_went() {
    let t = taskdef_template(&rendered());
    assert_eq!(t["containerDefinitions"][0]["image"], "<IMAGE1_NAME>");
    assert_eq!(t["containerDefinitions"][1]["image"], "envoy:1");
}

#[test]
fn appspec_follows_codedeploys_ecs_structure() {
    let r = rendered();
    let svc = service();
    let hooks = vec![(
        "BeforeAllowTraffic".to_string(),
        "arn:aws:lambda:eu-west-1:123456789012:function:check".to_string(),
    )];
    let (spec, warning) = appspec(&AppSpecInputs {
        rendered: &r,
        service: Some(&svc),
        container_port: None,
        hooks: &hooks,
        task_definition: TASK_DEFINITION_PLACEHOLDER,
    });
    assert_eq!(warning, None);
    let yaml = yaml_serde::to_string(&spec).unwrap();
    let back: Value = yaml_serde::from_str(&yaml).unwrap();
    assert_eq!(back["version"], json!(0.0));
    let props = &back["Resources"][0]["TargetService"]["Properties"];
    assert_eq!(
        back["Resources"][0]["TargetService"]["Type"],
        "AWS::ECS::Service"
    );
    assert_eq!(props["TaskDefinition"], "<TASK_DEFINITION>");
    assert_eq!(
        props["LoadBalancerInfo"],
        json!({"ContainerName": "web", "ContainerPort": 8080})
    );
    assert_eq!(props["PlatformVersion"], "1.4.0");
    assert_eq!(
        props["NetworkConfiguration"],
        json!({"AwsvpcConfiguration": {"Subnets": ["subnet-1", "subnet-2"], "SecurityGroups": ["sg-1"], "AssignPublicIp": "DISABLED"}})
    );
    assert_eq!(
        props["CapacityProviderStrategy"],
        json!([{"Base": 1, "CapacityProvider": "FARGATE_SPOT", "Weight": 3}])
    );
    assert_eq!(
        back["Hooks"],
        json!([{"BeforeAllowTraffic": "arn:aws:lambda:eu-west-1:123456789012:function:check"}])
    );
    assert!(yaml.starts_with("version: 0.0\n"), "{yaml}");
}

/// The appspec inputs of a definition with no service and no hooks.
fn without_service<'a>(
    rendered: &'a Rendered,
    container_port: Option<i32>,
    task_definition: &'a str,
) -> AppSpecInputs<'a> {
    AppSpecInputs {
        rendered,
        service: None,
        container_port,
        hooks: &[],
        task_definition,
    }
}

#[test]
fn without_a_load_balancer_the_port_comes_from_the_container_or_input() {
    let r = rendered();
    let (spec, _) = appspec(&without_service(&r, None, "arn:td"));
    assert_eq!(
        spec["Resources"][0]["TargetService"]["Properties"]["LoadBalancerInfo"],
        json!({"ContainerName": "web", "ContainerPort": 3000})
    );
    let (spec, _) = appspec(&without_service(&r, Some(9000), "arn:td"));
    assert_eq!(
        spec["Resources"][0]["TargetService"]["Properties"]["LoadBalancerInfo"]["ContainerPort"],
        9000
    );
    let bare = Rendered::with_one_image(
        json!({"family": "w", "containerDefinitions": [{"name": "w", "image": "i"}]}),
        vec!["w".into()],
    );
    let (spec, warning) = appspec(&without_service(&bare, None, "arn:td"));
    assert!(
        spec["Resources"][0]["TargetService"]["Properties"]
            .get("LoadBalancerInfo")
            .is_none()
    );
    assert!(warning.unwrap().contains("container-port"));
}

#[test]
fn written_files_parse_back() {
    let dir = tempfile::tempdir().unwrap();
    let r = rendered();
    let (spec, _) = appspec(&without_service(&r, None, TASK_DEFINITION_PLACEHOLDER));
    let paths = write(
        &dir.path().join("out"),
        None,
        &r,
        &["repo@sha256:abc"],
        &spec,
    )
    .unwrap();
    let read = |p: &std::path::Path| {
        serde_json::from_str::<Value>(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    assert_eq!(
        read(&paths.image_detail),
        json!({"ImageURI": "repo@sha256:abc"})
    );
    assert_eq!(read(&paths.rendered), r.definition);
    assert!(
        paths.image_details.is_empty(),
        "one image: no folder per image"
    );
    assert_eq!(
        read(&paths.taskdef)["containerDefinitions"][0]["image"],
        "<IMAGE1_NAME>"
    );
    let yaml: Value =
        yaml_serde::from_str(&std::fs::read_to_string(&paths.appspec).unwrap()).unwrap();
    assert_eq!(
        yaml["Resources"][0]["TargetService"]["Properties"]["TaskDefinition"],
        TASK_DEFINITION_PLACEHOLDER
    );
}

#[test]
fn several_images_get_a_placeholder_each_and_an_image_detail_folder_each() {
    let mut r = rendered();
    r.images.push(vec!["sidecar".into()]);
    let t = taskdef_template(&r);
    assert_eq!(t["containerDefinitions"][0]["image"], "<IMAGE1_NAME>");
    assert_eq!(t["containerDefinitions"][1]["image"], "<IMAGE2_NAME>");

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let (spec, _) = appspec(&without_service(&r, None, TASK_DEFINITION_PLACEHOLDER));
    let uris = ["repo@sha256:abc", "envoy@sha256:def"];
    let paths = write(&out, None, &r, &uris, &spec).unwrap();
    let read = |p: &std::path::Path| {
        serde_json::from_str::<Value>(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    assert_eq!(
        paths.image_details,
        [
            out.join("IMAGE1_NAME/imageDetail.json"),
            out.join("IMAGE2_NAME/imageDetail.json")
        ]
    );
    for (path, uri) in paths.image_details.iter().zip(uris) {
        assert_eq!(read(path), json!({ "ImageURI": uri }));
    }
    // The top one stays the first image's, as with one image.
    assert_eq!(read(&paths.image_detail), json!({"ImageURI": uris[0]}));
}

#[test]
fn more_images_than_codedeploy_to_ecs_takes_is_a_warning() {
    assert_eq!(too_many_images(1), None);
    assert_eq!(too_many_images(CODEPIPELINE_IMAGES), None);
    let w = too_many_images(5).expect("five is one too many");
    assert!(
        w.starts_with("5 images: CodePipeline's CodeDeployToECS action takes at most 4")
            && w.contains("IMAGE4_NAME"),
        "{w}"
    );
}
