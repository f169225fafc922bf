//! End-to-end: services with the CODE_DEPLOY controller get a CodeDeploy
//! blue/green deployment (emulator: tests/emulator/codedeploy_layer.py).

use crate::common;
use crate::common::assert_contains;

use common::{Emulator, Finished};
use serde_json::{Value, json};

fn deploy(emu: &Emulator, service: &str, extra: &[(&str, &str)]) -> Finished {
    common::prod_step(
        emu,
        "deploy",
        service,
        &[&[("image", "web:v2")], extra].concat(),
    )
    .run()
}

#[test]
fn a_codedeploy_service_gets_a_blue_green_deployment_from_the_rendered_appspec() {
    let emu = emulator!();
    let done = deploy(
        &emu,
        "bluegreen",
        &[(
            "codedeploy-hooks",
            "BeforeAllowTraffic=arn:aws:lambda:eu-west-1:123456789012:function:smoke",
        )],
    );
    done.assert_code(0);
    let id = done.output("codedeploy-deployment-id");
    // The update service stage's result names the CodeDeploy deployment.
    assert_contains(
        &done.stdout,
        &format!("✓ bluegreen: created CodeDeploy deployment {id} ("),
    );
    assert!(
        !done.outputs.contains_key("deployment-id"),
        "no rolling deployment was made"
    );
    for event in [
        "BeforeInstall",
        "Install",
        "AllowTraffic",
        "AfterAllowTraffic",
    ] {
        assert!(
            done.stdout
                .contains(&format!("[bluegreen] {event}: Succeeded")),
            "{event}\n{}",
            done.stdout
        );
    }
    assert!(
        done.stdout
            .contains(&format!("CodeDeploy deployment {id}: Succeeded"))
    );
    let create = &emu.params("CreateDeployment")[0];
    assert_eq!(create["applicationName"], "AppECS-prod-bluegreen");
    assert_eq!(create["deploymentGroupName"], "DgpECS-prod-bluegreen");
    assert_eq!(create["revision"]["revisionType"], "AppSpecContent");
    let appspec: Value = yaml_serde::from_str(
        create["revision"]["appSpecContent"]["content"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let props = &appspec["Resources"][0]["TargetService"]["Properties"];
    assert_eq!(
        props["TaskDefinition"],
        done.output("task-definition-arn"),
        "the registered revision, not the placeholder"
    );
    assert_eq!(
        props["LoadBalancerInfo"],
        json!({"ContainerName": "web", "ContainerPort": 8080})
    );
    assert_eq!(
        appspec["Hooks"],
        json!([{"BeforeAllowTraffic": "arn:aws:lambda:eu-west-1:123456789012:function:smoke"}])
    );
    assert!(
        emu.params("UpdateService").is_empty(),
        "CodeDeploy, not UpdateService, changes the service"
    );
}

#[test]
fn a_failed_codedeploy_deployment_quotes_the_error_and_the_rollback() {
    let emu = emulator!();
    let done = deploy(
        &emu,
        "bluegreen",
        &[(
            "environment-variables",
            "FDEMU_EXIT_CODE=2\nFDEMU_LOG=booting|panic: DATABASE_URL is not set",
        )],
    );
    done.assert_code(1);
    // Why, in the replacement tasks' own words, as for a rolling deployment.
    assert_contains(&done.stdout, "web exited with code 2");
    assert_contains(&done.stdout, "│ panic: DATABASE_URL is not set");
    assert_contains(&done.summary, "panic: DATABASE_URL is not set");
    println!(
        "failed CodeDeploy deployment, as the action prints it:\n{}",
        done.stdout
    );
    let error = done.first_error();
    assert!(
        error.contains("failed: ECS_UPDATE_ERROR: The ECS service cannot reach a steady state"),
        "{error}"
    );
    assert!(error.contains("rolled back by deployment d-"), "{error}");
    assert_contains(
        &done.stdout,
        "[bluegreen] Install: Failed — The ECS service cannot reach a steady state",
    );
    let result: Value = serde_json::from_str(done.output("result")).unwrap();
    assert_eq!(result["targets"][0]["result"], "rolled back");
}

/// The deployment group's alarm fires once production traffic moved:
/// CodeDeploy stops the deployment (ALARM_ACTIVE) and rolls it back; the
/// plan named the group's alarms, and the failure says why the alarm fired.
#[test]
fn a_codedeploy_deployment_stopped_by_its_alarm_says_why_the_alarm_fired() {
    let emu = emulator!();
    let done = deploy(
        &emu,
        "bluegreen",
        &[("environment-variables", "FDEMU_ALARM=bluegreen-5xx")],
    );
    done.assert_code(1);
    crate::native::assert_alarm_explained(&emu, &done, "bluegreen", "bluegreen-5xx");
    let error = done.first_error();
    assert!(
        error.contains("ALARM_ACTIVE: One or more alarms have been activated"),
        "{error}"
    );
    assert!(
        error.contains("Activated alarms: <bluegreen-5xx>"),
        "{error}"
    );
    let result: Value = serde_json::from_str(done.output("result")).unwrap();
    assert_eq!(result["targets"][0]["result"], "rolled back");
}

#[test]
fn traffic_shifted_returns_once_production_traffic_moved() {
    let emu = emulator!();
    // 1.5 s per lifecycle event: longer than a poll interval, so the
    // AllowTraffic → AfterAllowTraffic window cannot be skipped.
    emu.configure(json!({"rollout_seconds": 12}));
    let done = deploy(&emu, "bluegreen", &[("wait-until", "traffic-shifted")]);
    done.assert_code(0);
    assert!(done.stdout.contains("[bluegreen] AllowTraffic: Succeeded"));
    assert_contains(
        &done.stdout,
        "production traffic is on the new task set (wait-until: traffic-shifted)",
    );
    assert!(
        !done
            .stdout
            .contains("[bluegreen] AfterAllowTraffic: Succeeded"),
        "did not sit through the rest: {}",
        done.stdout
    );
}

#[test]
fn a_missing_deployment_group_is_bad_input_before_registration() {
    let emu = emulator!();
    let done = deploy(
        &emu,
        "bluegreen",
        &[("codedeploy-deployment-group", "nope")],
    );
    done.assert_code(2);
    done.assert_error_starts_with("::error title=codedeploy-deployment-group::service bluegreen is deployed by CodeDeploy, but application `AppECS-prod-bluegreen` / deployment group `nope` does not exist");
    emu.assert_unchanged();
}

#[test]
fn rolling_and_codedeploy_services_in_one_step() {
    let emu = emulator!();
    let done = deploy(&emu, "web, bluegreen", &[]);
    done.assert_code(0);
    assert!(done.output("deployment-id").starts_with("ecs-svc/"));
    assert!(!done.output("codedeploy-deployment-id").is_empty());
    assert_contains(&done.summary, "| `web` |");
    assert_contains(&done.summary, "| `bluegreen` |");
}
