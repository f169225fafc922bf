//! End-to-end: several images in one step (`images`, CONTAINER=IMAGE lines)
//! — the app and its sidecar resolved, pinned, deployed in one revision,
//! and the artifacts numbered as CodePipeline's CodeDeployToECS numbers
//! its image inputs.

use crate::common;
use crate::common::assert_contains;

use common::Emulator;
use serde_json::{Value, json};

const IMAGES: &str = "web=web:v2\nlog-router=log-router:v7";

fn router_pinned(emu: &Emulator) -> String {
    format!(
        "{}/log-router@{}",
        emu.seed_str("registry"),
        emu.digest("log-router:v7")
    )
}

fn count(calls: &[String], op: &str) -> usize {
    calls.iter().filter(|c| c.as_str() == op).count()
}

#[test]
fn the_app_and_its_sidecar_deploy_in_one_revision_each_pinned() {
    let emu = emulator!();
    let done = common::prod_step(&emu, "deploy", "web", &[("images", IMAGES)]).run();
    done.assert_code(0);
    let (web, router) = (emu.pinned("v2"), router_pinned(&emu));

    // The revision the service now runs has both images, pinned.
    let arn = done.output("task-definition-arn");
    let td = emu.aws(
        "ecs",
        "describe_task_definition",
        &json!({"taskDefinition": arn}),
    )["taskDefinition"]
        .clone();
    let image_of = |name: &str| {
        td["containerDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()["image"]
            .clone()
    };
    assert_eq!(image_of("web"), json!(web));
    assert_eq!(image_of("log-router"), json!(router));
    let service = emu.aws(
        "ecs",
        "describe_services",
        &json!({"cluster": "prod", "services": ["web"]}),
    );
    assert_eq!(service["services"][0]["taskDefinition"], json!(arn));

    // Outputs: the first image, and all of them in number order.
    assert_eq!(done.output("image"), web);
    assert_eq!(done.output("image-digest"), emu.digest("v2"));
    assert_eq!(
        serde_json::from_str::<Value>(done.output("images")).unwrap(),
        json!([web, router])
    );
    let result: Value = serde_json::from_str(done.output("result")).unwrap();
    assert_eq!(result["images"], json!([web, router]));
    assert_eq!(
        result["targets"][0]["containers"],
        json!(["web", "log-router"])
    );

    // Both looked up at once, both architectures checked.
    let calls = emu.calls();
    assert_eq!(count(&calls, "ecr:DescribeImages"), 2, "{calls:?}");
    assert_eq!(count(&calls, "ecr:BatchGetImage"), 2, "{calls:?}");
    assert_eq!(count(&calls, "ecs:RegisterTaskDefinition"), 1);
    assert_contains(
        &done.stdout,
        "web: family web from service's current web:1, images into web, log-router",
    );
    assert_contains(&done.summary, "- IMAGE2_NAME: `");

    // Artifacts: one placeholder per image, one imageDetail per image.
    let taskdef = done.json(".fargate-deploy/taskdef.json");
    let placeholders: Vec<(&str, &str)> = taskdef["containerDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["image"].as_str().unwrap()))
        .collect();
    assert_eq!(
        placeholders,
        [("web", "<IMAGE1_NAME>"), ("log-router", "<IMAGE2_NAME>")]
    );
    for (n, uri) in [(1, &web), (2, &router)] {
        assert_eq!(
            done.json(&format!(".fargate-deploy/IMAGE{n}_NAME/imageDetail.json")),
            json!({ "ImageURI": uri })
        );
    }
    assert_eq!(
        done.json(".fargate-deploy/imageDetail.json"),
        json!({ "ImageURI": web })
    );
}

#[test]
fn render_shows_both_images_and_writes_the_pipeline_artifacts() {
    let emu = emulator!();
    let done = common::prod_step(
        &emu,
        "render",
        "web",
        &[("images", "log-router=log-router:v7\nweb=web:v2")],
    )
    .run();
    done.assert_code(0);
    // Numbered in line order: the sidecar's line came first.
    let taskdef = done.json(".fargate-deploy/taskdef.json");
    assert_eq!(taskdef["containerDefinitions"][1]["image"], "<IMAGE1_NAME>");
    assert_eq!(taskdef["containerDefinitions"][0]["image"], "<IMAGE2_NAME>");
    assert_eq!(
        done.json(".fargate-deploy/IMAGE1_NAME/imageDetail.json"),
        json!({ "ImageURI": router_pinned(&emu) })
    );
    assert_eq!(done.output("image"), router_pinned(&emu));
    assert!(
        emu.mutating_calls().is_empty(),
        "{:?}",
        emu.mutating_calls()
    );
}
