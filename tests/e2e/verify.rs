//! End-to-end: the verify stage. What ECS would refuse, or accept and then
//! fail on, is found before anything changes: migrate and deploy exit 2
//! with nothing changed; render warns and goes on.

use crate::common;
use crate::common::{assert_contains, assert_lacks};

use common::{Emulator, Finished};

fn step(emu: &Emulator, mode: &str, set: &str) -> Finished {
    common::prod_step(emu, mode, "web", &[("image", "web:v2"), ("set", set)]).run()
}

#[test]
fn a_value_of_the_wrong_type_is_refused_by_path_before_any_change() {
    let emu = emulator!();
    let done = step(
        &emu,
        "deploy",
        "$.containerDefinitions[?(@.name == 'web')].portMappings[0].containerPort = \"8080\"",
    );
    done.assert_code(2);
    done.assert_error_starts_with(
        "::error title=task-definition::web: ECS would refuse the task definition: containerDefinitions[0].portMappings[0].containerPort: a string where ECS wants a whole number",
    );
    emu.assert_unchanged();
    assert!(!emu.saw("ecs:RegisterTaskDefinition"));
}

#[test]
fn a_fargate_size_that_does_not_exist_is_refused_in_migrate_and_deploy() {
    let emu = emulator!();
    for mode in ["migrate", "deploy"] {
        let done = step(&emu, mode, "$.memory = \"3000\"");
        done.assert_code(2);
        done.assert_error_starts_with(
            "::error title=task-definition::web: Fargate runs cpu 512 with memory from 1024 to 4096 in steps of 1024, not 3000",
        );
        assert!(
            !done.stdout.contains("::group::[5/"),
            "{mode}: no later stage"
        );
    }
    emu.assert_unchanged();
}

#[test]
fn a_port_the_load_balancer_sends_to_must_stay_mapped() {
    let emu = emulator!();
    let done = step(
        &emu,
        "deploy",
        "$.containerDefinitions[?(@.name == 'web')].portMappings[0].containerPort = 9090",
    );
    done.assert_refused(
        &emu,
        "web: the service's load balancer sends traffic to port 8080 of container `web`, which the new task definition does not map (it maps: 9090)",
    );
}

#[test]
fn render_reports_the_findings_as_warnings_and_writes_the_artifacts() {
    let emu = emulator!();
    let done = step(&emu, "render", "$.memory = \"3000\"");
    done.assert_code(0);
    assert_contains(
        &done.stdout,
        "::warning title=task-definition::web: Fargate runs cpu 512 with memory from 1024 to 4096",
    );
    assert_contains(
        &done.stdout,
        "1 finding(s) that migrate and deploy would refuse",
    );
    assert_eq!(
        done.json(".fargate-deploy/taskdef.rendered.json")["memory"],
        "3000"
    );
}

/// What Terraform's `jsonencode` and a Windows editor write: `null` for
/// unset members, a byte-order mark before the JSON.
#[test]
fn a_terraform_file_with_nulls_and_a_byte_order_mark_is_read() {
    let emu = emulator!();
    let run = common::step(
        &emu,
        "render",
        &[("image", "web:v2"), ("task-definition", "td.json")],
    );
    run.write(
        "td.json",
        "\u{feff}{\"family\": \"web\", \"cpu\": \"256\", \"memory\": \"512\", \"requiresCompatibilities\": [\"FARGATE\"], \"volumes\": null, \"containerDefinitions\": [{\"name\": \"web\", \"image\": \"x\", \"environment\": null, \"secrets\": null, \"cpu\": null}]}",
    );
    let done = run.run();
    done.assert_code(0);
    let td = done.json(".fargate-deploy/taskdef.rendered.json");
    let container = td["containerDefinitions"][0].as_object().unwrap();
    assert!(!container.contains_key("environment") && !container.contains_key("cpu"));
    assert!(td.get("volumes").is_none());
    assert_contains(&done.stdout, "nothing to fix");
}

/// The model the binary checks definitions against is botocore's — the
/// service model in the emulator's virtualenv — exactly, not our picture of it.
#[test]
fn the_embedded_ecs_model_is_botocores() {
    let Some(python) = common::try_python() else {
        return;
    };
    let root = common::repo_root();
    let model = root.join("src/taskdef/ecs-register-task-definition.json");
    common::succeeded(
        std::process::Command::new(python)
            .arg(root.join("tests/model/extract_ecs_model.py"))
            .arg("--check")
            .arg(model),
    );
}

/// The awslogs group a container logs to must exist (or be created by the
/// task): otherwise its tasks stop with ResourceInitializationError, after
/// the service was updated.
#[test]
fn a_log_group_that_does_not_exist_is_refused_before_any_change() {
    let emu = emulator!();
    let group = "$.containerDefinitions[?(@.name == 'web')].logConfiguration.options['awslogs-group'] = \"/ecs/nope\"";
    let done = step(&emu, "deploy", group);
    done.assert_code(2);
    done.assert_error_starts_with(
        "::error title=task-definition::web: container web logs to the awslogs group /ecs/nope, which does not exist: its tasks would stop with ResourceInitializationError; create the group, or set the log option awslogs-create-group to \"true\"",
    );
    emu.assert_unchanged();
    // A group the task creates itself is not looked for.
    let creates = "$.containerDefinitions[?(@.name == 'web')].logConfiguration.options = {\"awslogs-group\": \"/ecs/nope\", \"awslogs-region\": \"eu-west-1\", \"awslogs-stream-prefix\": \"ecs\", \"awslogs-create-group\": \"true\"}";
    let done = step(&emu, "render", creates);
    done.assert_code(0);
    assert_lacks(&done.stdout, "/ecs/nope, which does not exist");
    // Render warns of the missing one and goes on.
    let done = step(&emu, "render", group);
    done.assert_code(0);
    assert_contains(
        &done.stdout,
        "::warning title=task-definition::web: container web logs to the awslogs group /ecs/nope, which does not exist",
    );
}

/// A check the role may not make is a warning that names the IAM action to
/// add, and the run goes on.
#[test]
fn a_check_the_role_may_not_make_is_a_warning_naming_the_action() {
    let emu = emulator!({"deny": ["logs:DescribeLogGroups", "ecr:BatchGetImage"]});
    let done = common::prod_step(&emu, "deploy", "web", &[("image", "web:v2")]).run();
    done.assert_code(0);
    assert_contains(
        &done.stdout,
        "::warning title=verify::could not check which CPU architectures the image 123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:v2 is built for (AccessDeniedException: User is not authorized to perform: ecr:BatchGetImage; add ecr:BatchGetImage to the role's policy to have it checked)",
    );
    assert_contains(
        &done.stdout,
        "::warning title=verify::could not check that log group /ecs/web exists (AccessDeniedException: User is not authorized to perform: logs:DescribeLogGroups); add logs:DescribeLogGroups to the role's policy to have it checked",
    );
}

/// The secrets and parameters a definition reads must exist: otherwise its
/// tasks stop with ResourceInitializationError after the service changed.
/// JSON keys and versions after a secret's ARN are understood.
#[test]
fn a_secret_or_parameter_that_does_not_exist_is_refused_before_any_change() {
    let emu = emulator!();
    let secret = emu.seed_str("db_secret");
    let secrets = |lines: &str| {
        common::prod_step(
            &emu,
            "deploy",
            "web",
            &[("image", "web:v2"), ("secrets", lines)],
        )
        .run()
    };
    // The migration task reads the same secrets: refused there too.
    let migrate = common::prod_step(
        &emu,
        "migrate",
        "web",
        &[("image", "web:v2"), ("secrets", "TOKEN=/prod/nope")],
    )
    .run();
    migrate.assert_code(2);
    migrate.assert_error_contains("the SSM parameter /prod/nope, which does not exist");
    let done = secrets("TOKEN=/prod/nope");
    done.assert_code(2);
    done.assert_error_starts_with(
        "::error title=secrets::web: container web's secret TOKEN refers to the SSM parameter /prod/nope, which does not exist: its tasks would stop with ResourceInitializationError",
    );
    emu.assert_unchanged();
    let gone = secret.replace("prod/db", "prod/gone");
    let done = secrets(&format!("OLD={gone}"));
    done.assert_refused(&emu, &format!(
        "container web's secret OLD refers to the Secrets Manager secret {gone}, which does not exist"
    ));
    // What exists passes: a parameter by name, a secret's JSON key and version.
    let done = secrets(&format!(
        "TOKEN=/prod/token\nPASSWORD={secret}:password:AWSCURRENT:"
    ));
    done.assert_code(0);
    assert!(emu.saw("ssm:GetParameters") && emu.saw("secretsmanager:DescribeSecret"));
}

/// A role that may not read secrets gets a warning naming the action.
#[test]
fn a_role_that_may_not_read_the_secrets_is_warned_not_refused() {
    let emu = emulator!({"deny": ["secretsmanager:DescribeSecret"]});
    let done = common::prod_step(&emu, "deploy", "web", &[("image", "web:v2")]).run();
    done.assert_code(0);
    assert_contains(
        &done.stdout,
        "::warning title=verify::could not check that the Secrets Manager secrets the task definitions refer to exist (AccessDeniedException: User is not authorized to perform: secretsmanager:DescribeSecret); add secretsmanager:DescribeSecret to the role's policy to have them checked",
    );
}

/// The roles ECS assumes for the tasks must exist and trust
/// ecs-tasks.amazonaws.com, or no task starts.
#[test]
fn a_role_that_does_not_exist_or_does_not_trust_ecs_tasks_is_refused() {
    let emu = emulator!();
    let role = |arn: &str| {
        let set = format!("$.taskRoleArn = \"{arn}\"");
        common::prod_step(&emu, "deploy", "web", &[("image", "web:v2"), ("set", &set)]).run()
    };
    let done = role("arn:aws:iam::123456789012:role/nope");
    done.assert_code(2);
    done.assert_error_starts_with(
        "::error title=task-definition::web: the taskRoleArn arn:aws:iam::123456789012:role/nope does not exist: ECS cannot start the tasks",
    );
    let done = role("arn:aws:iam::123456789012:role/lambda-only");
    done.assert_refused(
        &emu,
        "the taskRoleArn arn:aws:iam::123456789012:role/lambda-only does not trust ecs-tasks.amazonaws.com",
    );
    assert!(emu.saw("iam:GetRole"));
}

/// The image must hold the task's CPU architecture: an image built on an
/// arm64 laptop for an X86_64 task (ECS's default) would stop every
/// container with `exec format error` once the service changed. A single
/// image says it in its config blob, an index in its list of platforms.
#[test]
fn an_image_built_for_another_architecture_is_refused_before_any_change() {
    let emu = emulator!();
    let registry = emu.seed_str("registry");
    let done = common::prod_step(&emu, "deploy", "web", &[("image", "web:arm")]).run();
    done.assert_code(2);
    done.assert_error_starts_with(&format!(
        "::error title=image::web: the image {registry}/web:arm is built for arm64 only, and the task definition runs on X86_64 (runtimePlatform.cpuArchitecture): its containers would stop with `exec format error`; build it for linux/amd64"
    ));
    assert!(
        emu.saw("ecr:GetDownloadUrlForLayer"),
        "the config blob was read"
    );
    emu.assert_unchanged();
    let migrate = common::prod_step(
        &emu,
        "migrate",
        "worker",
        &[("image", "web:arm-index"), ("command", "bin/migrate")],
    );
    let done = migrate.run();
    done.assert_code(2);
    done.assert_error_starts_with(&format!(
        "::error title=image::worker: the image {registry}/web:arm-index is built for arm64 only"
    ));
    emu.assert_unchanged();
}

/// An index that holds the task's architecture, or a single image of it,
/// passes (worker's definition names LINUX/X86_64); so does an arm64 image
/// on an ARM64 task, and an amd64 one there is reported.
#[test]
fn an_image_of_the_task_architecture_passes() {
    let emu = emulator!();
    let render = |image: &str, set: Option<&str>| {
        let mut run = common::prod_step(&emu, "render", "worker", &[("image", image)]);
        if let Some(set) = set {
            run = run.input("set", set);
        }
        run.run()
    };
    let arm64 = "$.runtimePlatform.cpuArchitecture = \"ARM64\"";
    for (image, set) in [
        ("web:multi", None),
        ("web:v2", None),
        ("web:arm", Some(arm64)),
        ("web:multi", Some(arm64)),
    ] {
        let done = render(image, set);
        done.assert_code(0);
        assert!(
            !done.stdout.contains("::warning title=image::"),
            "{image} {set:?}: {}",
            done.stdout
        );
    }
    let refused = render("web:v2", Some(arm64));
    refused.assert_code(0);
    assert_contains(
        &refused.stdout,
        "web:v2 is built for amd64 only, and the task definition runs on ARM64",
    );
}
