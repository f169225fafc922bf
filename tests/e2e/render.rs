//! End-to-end: `mode: render` as the runner starts it, against the emulator.

use crate::common;
use crate::common::assert_contains;

use common::{ActionRun, REQUEST_TOKEN, SUB};
use serde_json::{Value, json};

fn render_inputs() -> Vec<(&'static str, &'static str)> {
    vec![
        ("mode", "render"),
        ("aws-region", "eu-west-1"),
        ("cluster", "prod"),
        ("service", "web"),
        ("image", "web:v2"),
    ]
}

#[test]
fn renders_from_the_service_and_changes_nothing() {
    let emu = emulator!();
    let done = ActionRun::new(Some(&emu), &render_inputs()).run();
    done.assert_code(0);

    // Stages, each a numbered group.
    done.assert_stages(
        "credentials → resolve image → render task definition → verify → plan (what deploy would do) → write artifacts",
    );
    // The same plan deploy prints, without the wait: it only shows.
    assert!(
        done.stdout.contains(
            "web: register a new revision of web (differs from web:1); rolling update (UpdateService) from web:1\n"
        ) && !done.stdout.contains("then wait until"),
        "{}",
        done.stdout
    );
    assert_contains(&done.summary, "<details><summary>Plan</summary>");

    // Outputs.
    let pinned = emu.pinned("v2");
    assert_eq!(done.output("image"), pinned);
    assert_eq!(done.output("image-digest"), emu.digest("v2"));
    assert_eq!(done.output("artifacts-dir"), ".fargate-deploy");
    assert_eq!(
        done.output("task-definition"),
        ".fargate-deploy/taskdef.rendered.json"
    );
    let result: Value = serde_json::from_str(done.output("result")).unwrap();
    assert_eq!(result["result"], "success");
    assert_eq!(result["targets"][0]["containers"], json!(["web"]));

    // Artifacts.
    assert_eq!(
        done.json(".fargate-deploy/imageDetail.json"),
        json!({ "ImageURI": pinned })
    );
    let rendered = done.json(".fargate-deploy/taskdef.rendered.json");
    assert_eq!(
        rendered["containerDefinitions"][0]["image"],
        pinned.as_str()
    );
    assert_eq!(
        rendered["containerDefinitions"][1]["image"],
        "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"
    );
    assert_eq!(
        rendered["containerDefinitions"][0]["environment"][0],
        json!({"name": "RAILS_ENV", "value": "production"}),
        "environment comes from the service's definition"
    );
    assert_eq!(rendered["tags"], json!([{"key": "app", "value": "web"}]));
    // The fields DescribeTaskDefinition returns and RegisterTaskDefinition refuses.
    let read_only = "taskDefinitionArn revision status requiresAttributes compatibilities";
    for f in read_only.split(' ').chain(["registeredAt", "registeredBy"]) {
        assert!(rendered.get(f).is_none(), "{f} must be stripped");
    }
    let taskdef = done.json(".fargate-deploy/taskdef.json");
    assert_eq!(taskdef["containerDefinitions"][0]["image"], "<IMAGE1_NAME>");
    let appspec: Value = yaml_serde::from_str(&done.file(".fargate-deploy/appspec.yaml")).unwrap();
    let props = &appspec["Resources"][0]["TargetService"]["Properties"];
    assert_eq!(props["TaskDefinition"], "<TASK_DEFINITION>");
    assert_eq!(
        props["LoadBalancerInfo"],
        json!({"ContainerName": "web", "ContainerPort": 8080})
    );
    assert_eq!(
        props["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"],
        emu.seed["subnets"]
    );
    assert_eq!(
        props["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"],
        json!([emu.seed_str("security_group")])
    );
    assert_eq!(props["PlatformVersion"], "1.4.0");

    // Summary, with what would change against the running revision.
    assert_contains(
        &done.summary,
        "| `web` | `web` | `web` | `service's current web:1` |",
    );
    let registry = emu.seed_str("registry");
    let change = format!(
        "| `web: image` | `{registry}/web@{}` | `{registry}/web@{}` |",
        emu.digest("v1"),
        emu.digest("v2")
    );
    assert!(
        done.summary
            .contains("**`web`** — against the running `web:1`:")
            && done.summary.contains(&change),
        "{change}\n{}",
        done.summary
    );

    // Read-only: exactly the reads, nothing else.
    emu.assert_unchanged();
    assert_eq!(
        emu.calls_sorted(),
        [
            // Verify: the image's manifest and config blob (its architecture).
            "ecr:BatchGetImage",
            "ecr:DescribeImages",
            "ecr:GetDownloadUrlForLayer",
            "ecs:DescribeServices",
            // The template, then the family's latest revision (reuse or new, for the plan).
            "ecs:DescribeTaskDefinition",
            "ecs:DescribeTaskDefinition",
            // Verify: the execution and task roles, the log group, the secret.
            "iam:GetRole",
            "iam:GetRole",
            "logs:DescribeLogGroups",
            "secretsmanager:DescribeSecret"
        ]
    );
}

#[test]
fn taskdef_json_with_the_image_filled_in_registers() {
    let emu = emulator!();
    let done = ActionRun::new(Some(&emu), &render_inputs()).run();
    done.assert_code(0);
    let filled = done
        .file(".fargate-deploy/taskdef.json")
        .replace("<IMAGE1_NAME>", &emu.pinned("v2"));
    let path = done.workspace.join("filled.json");
    std::fs::write(&path, filled).unwrap();
    let arn = emu
        .register_with_boto3(&path)
        .expect("boto3 accepts taskdef.json");
    assert!(arn.ends_with(":task-definition/web:2"), "{arn}");
    // The rendered file is registerable as is too.
    emu.register_with_boto3(&done.workspace.join(".fargate-deploy/taskdef.rendered.json"))
        .expect("boto3 accepts taskdef.rendered.json");
}

#[test]
fn oidc_role_is_assumed_and_secrets_are_masked_first() {
    let emu = emulator!();
    let done = ActionRun::new(Some(&emu), &render_inputs())
        .input("role-to-assume", "arn:aws:iam::123456789012:role/deploy")
        .with_oidc(&emu)
        .run();
    done.assert_code(0);
    let oidc = emu.oidc_requests();
    assert_eq!(
        oidc,
        json!([{"audience": "sts.amazonaws.com", "authorized": true, "api_version": "2.0"}])
    );
    assert!(
        emu.calls()
            .contains(&"sts:AssumeRoleWithWebIdentity".to_string())
    );
    assert_contains(&done.stdout, "as session fargate-deploy-4242-1");
    // Each secret appears only in its own add-mask line, which comes before anything else.
    let masks: Vec<&str> = done
        .stdout
        .lines()
        .filter(|l| l.starts_with("::add-mask::"))
        .collect();
    assert_eq!(
        masks.len(),
        6,
        "the runner's github-token, request token, OIDC token, key id, secret key, session token: {masks:?}"
    );
    assert_eq!(masks[0], format!("::add-mask::{}", common::JOB_TOKEN));
    assert_eq!(masks[1], format!("::add-mask::{REQUEST_TOKEN}"));
    for m in &masks {
        let secret = m.trim_start_matches("::add-mask::");
        let elsewhere = done.all_text().matches(secret).count();
        assert_eq!(elsewhere, 1, "{secret} printed outside its mask line");
    }
}

#[test]
fn access_denied_shows_the_sub_claim_the_trust_policy_must_accept() {
    let emu = emulator!({"sts_deny": true});
    let done = ActionRun::new(Some(&emu), &render_inputs())
        .input("role-to-assume", "arn:aws:iam::123456789012:role/deploy")
        .with_oidc(&emu)
        .run();
    done.assert_code(1);
    done.assert_error_starts_with("::error title=credentials::AWS refused to let this workflow assume arn:aws:iam::123456789012:role/deploy");
    assert_contains(
        &done.stdout,
        &format!("token.actions.githubusercontent.com:sub = \"{SUB}\""),
    );
    emu.assert_unchanged();
    assert_contains(&done.stdout, "::group::[1/6] credentials");
    assert!(
        !done.stdout.contains("::group::[2/"),
        "no later stage starts"
    );
    let result: Value = serde_json::from_str(done.output("result")).unwrap();
    assert_eq!(result["result"], "failure");
}

#[test]
fn oidc_token_service_hiccups_are_retried() {
    let emu = emulator!({"oidc_fail": 2});
    let done = ActionRun::new(Some(&emu), &render_inputs())
        .input("role-to-assume", "arn:aws:iam::123456789012:role/deploy")
        .with_oidc(&emu)
        .run();
    done.assert_code(0);
    assert_eq!(emu.oidc_requests().as_array().unwrap().len(), 3);
}

#[test]
fn missing_id_token_permission_is_diagnosed_before_any_call() {
    let emu = emulator!();
    let done = ActionRun::new(Some(&emu), &render_inputs())
        .input("role-to-assume", "arn:aws:iam::123456789012:role/deploy")
        .without_env("AWS_ACCESS_KEY_ID")
        .run();
    done.assert_code(2);
    done.assert_error_contains("ACTIONS_ID_TOKEN_REQUEST_URL");
    assert_contains(&done.stdout, "permissions: id-token: write");
    assert_eq!(emu.calls(), Vec::<String>::new());
}

#[test]
fn several_services_render_into_their_own_folders() {
    let emu = emulator!();
    let done = ActionRun::new(Some(&emu), &render_inputs())
        .input("service", "web,\nworker")
        .run();
    done.assert_code(0);
    let web = done.json(".fargate-deploy/web/taskdef.rendered.json");
    let worker = done.json(".fargate-deploy/worker/taskdef.rendered.json");
    assert_eq!(web["family"], "web");
    assert_eq!(worker["family"], "worker");
    assert_eq!(
        worker["containerDefinitions"][0]["image"],
        emu.pinned("v2").as_str()
    );
    assert_eq!(
        worker["containerDefinitions"][0]["command"],
        json!(["bin/jobs"])
    );
    assert_contains(
        &done.stdout,
        "::warning title=appspec::worker: appspec.yaml has no LoadBalancerInfo",
    );
    // One DescribeServices for both (batched); per service its template and
    // its family's latest revision (for the plan).
    let calls = emu.calls();
    assert_eq!(
        calls
            .iter()
            .filter(|c| *c == "ecs:DescribeServices")
            .count(),
        1,
        "{calls:?}"
    );
    assert_eq!(
        calls
            .iter()
            .filter(|c| *c == "ecs:DescribeTaskDefinition")
            .count(),
        4,
        "{calls:?}"
    );
    emu.assert_unchanged();
}

#[test]
fn file_template_with_patches_and_no_pin() {
    let emu = emulator!();
    let run = common::step(&emu, "render", &[("image", "web:v1")]);
    run.write(
        "deploy/taskdef.yaml",
        "family: migrate\nnetworkMode: awsvpc\ncpu: 256\nmemory: 512\ncontainerDefinitions:\n  - name: app\n    image: placeholder\n    environment:\n      - { name: A, value: '1' }\n",
    );
    let done = run
        .input("task-definition", "deploy/taskdef.yaml")
        .input("pin-digest", "false")
        .input("environment-variables", "A=2\nB=x=y")
        .input(
            "secrets",
            "TOKEN=arn:aws:ssm:eu-west-1:123456789012:parameter/token",
        )
        .input("set", "$.cpu = \"1024\"")
        .run();
    done.assert_code(0);
    let tag_uri = format!("{}/web:v1", emu.seed_str("registry"));
    assert_eq!(
        done.output("image"),
        tag_uri,
        "pin-digest: false keeps the tag"
    );
    assert_eq!(
        done.output("image-digest"),
        emu.digest("v1"),
        "the digest is still reported"
    );
    let td = done.json(".fargate-deploy/taskdef.rendered.json");
    assert_eq!(td["cpu"], "1024");
    assert_eq!(td["memory"], "512");
    assert_eq!(td["containerDefinitions"][0]["image"], tag_uri.as_str());
    assert_eq!(
        td["containerDefinitions"][0]["environment"],
        json!([{"name": "A", "value": "2"}, {"name": "B", "value": "x=y"}])
    );
    assert_eq!(
        td["containerDefinitions"][0]["secrets"],
        json!([{"name": "TOKEN", "valueFrom": "arn:aws:ssm:eu-west-1:123456789012:parameter/token"}])
    );
    // The verify stage looked the parameter up: it does not exist, which
    // render reports (migrate and deploy would refuse it).
    // So did it the image's architecture (its manifest, its config blob).
    assert_eq!(
        emu.calls_sorted(),
        [
            "ecr:BatchGetImage",
            "ecr:DescribeImages",
            "ecr:GetDownloadUrlForLayer",
            "ssm:GetParameters"
        ]
    );
    assert_contains(
        &done.stdout,
        "::warning title=secrets::migrate: container app's secret TOKEN refers to the SSM parameter arn:aws:ssm:eu-west-1:123456789012:parameter/token, which does not exist",
    );
}

#[test]
fn no_aws_needed_for_a_file_and_a_foreign_image() {
    let run = ActionRun::new(
        None,
        &[
            ("mode", "render"),
            ("image", "ghcr.io/octo-org/app:1.2.3"),
            ("task-definition", "td.json"),
            ("artifacts-dir", "out"),
        ],
    );
    run.write("td.json", r#"{"family": "app", "containerDefinitions": [{"name": "app", "image": "ghcr.io/octo-org/app:1.2.2"}]}"#);
    let done = run.run();
    done.assert_code(0);
    assert_contains(&done.stdout, "::group::[1/4] resolve image");
    assert_contains(
        &done.stdout,
        "::notice title=image::ghcr.io/octo-org/app:1.2.3 is not an ECR image",
    );
    assert_eq!(
        done.json("out/imageDetail.json"),
        json!({"ImageURI": "ghcr.io/octo-org/app:1.2.3"})
    );
    assert!(!done.outputs.contains_key("image-digest"));
}

#[test]
fn the_cli_face_prints_readable_text_and_outputs() {
    let emu = emulator!();
    let done = ActionRun::new(Some(&emu), &[])
        .cli(&[
            "render",
            "--aws-region",
            "eu-west-1",
            "--cluster",
            "prod",
            "--service",
            "web",
            "--image",
            "web:v2",
            "--artifacts-dir",
            "build",
        ])
        .run();
    done.assert_code(0);
    assert!(
        !done.stdout.contains("::") && !done.stderr.contains("::group::"),
        "no workflow commands on a terminal:\n{}\n{}",
        done.stdout,
        done.stderr
    );
    assert_contains(&done.stderr, "▶ [2/6] resolve image");
    assert_contains(&done.stdout, &format!("image: {}", emu.pinned("v2")));
    assert!(done.workspace.join("build/appspec.yaml").exists());
    assert!(
        done.outputs.is_empty(),
        "no GITHUB_OUTPUT writes outside Actions"
    );
}

#[test]
fn service_specific_endpoint_variables_are_honoured() {
    let emu = emulator!();
    // The general endpoint leads nowhere; the per-service ones lead to the emulator.
    let done = ActionRun::new(Some(&emu), &render_inputs())
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_ENDPOINT_URL_ECR", &emu.url())
        .env("AWS_ENDPOINT_URL_ECS", &emu.url())
        .run();
    done.assert_code(0);
    assert_eq!(done.output("image"), emu.pinned("v2"));
}

#[test]
fn the_github_token_is_masked_and_the_leak_scan_can_fail() {
    let emu = emulator!();
    let token = "ghs_0123456789abcdefTOKENvalue";
    // The harness scans every run for secrets (request token, github-token,
    // OIDC tokens and STS keys the emulator issued); this run passes it.
    let done = ActionRun::new(Some(&emu), &render_inputs())
        .input("github-token", token)
        .run();
    done.assert_code(0);
    assert!(
        done.stdout.starts_with(&format!("::add-mask::{token}\n")),
        "masked before anything else is printed:\n{}",
        done.stdout
    );
    // The scan is not vacuous: a value that is printed is caught.
    let digest = emu.digest("v2");
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        done.assert_no_secret_leaked(&[digest])
    }));
    assert!(caught.is_err(), "the leak scan must catch a printed value");
}
