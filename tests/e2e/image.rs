//! End-to-end through the released image: built from the repository's
//! Dockerfile by tests/image/build (which `tests/run` calls), unpacked, and
//! started exactly as the GitHub runner starts a container action
//! (tests/common/image.rs): the README's migrate → deploy workflow, a
//! render from a task-definition file in the workspace, and what the image
//! holds. Skipped, saying so, when no image was built.

use crate::common;
use crate::common::assert_contains;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{ActionRun, Emulator, image};

fn root() -> Option<PathBuf> {
    let root = image::root();
    if root.is_none() {
        eprintln!(
            "skipped: no image root (FARGATE_DEPLOY_IMAGE_ROOT); tests/run builds the image with tests/image/build"
        );
    }
    root
}

#[test]
fn the_image_holds_the_binary_and_the_ca_bundle_only() {
    let Some(root) = root() else { return };
    let mut files = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(path);
            } else {
                files.push(path.strip_prefix(&root).unwrap().display().to_string());
            }
        }
    }
    files.sort();
    assert_eq!(
        files,
        ["etc/ssl/certs/ca-certificates.crt", "fargate-deploy"]
    );
    // Static: it runs in a root with no C library and no loader.
    let mut took = Vec::new();
    for _ in 0..21 {
        let start = Instant::now();
        let out = std::process::Command::new("unshare")
            .arg(format!("--root={}", root.display()))
            .args(["/fargate-deploy", "--version"])
            .env_clear()
            .output()
            .unwrap();
        took.push(start.elapsed());
        assert!(out.status.success(), "{out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            concat!("fargate-deploy ", env!("CARGO_PKG_VERSION"))
        );
    }
    took.sort();
    let size = std::fs::metadata(root.join("fargate-deploy"))
        .unwrap()
        .len();
    println!(
        "image: --version from the image root (unshare + chroot + exec): median {:?}, fastest {:?}; binary {} KiB",
        took[10],
        took[0],
        size / 1024
    );
    assert!(took[10] < Duration::from_millis(100), "{took:?}");
}

fn step(emu: &Emulator, inputs: &[(&str, &str)]) -> ActionRun {
    let root = image::root().unwrap();
    let mut all = vec![
        ("aws-region", "eu-west-1"),
        ("role-to-assume", "arn:aws:iam::123456789012:role/deploy"),
        ("cluster", "prod"),
        ("image", "web:v2"),
    ];
    all.extend_from_slice(inputs);
    ActionRun::new(Some(emu), &all)
        .with_oidc(emu)
        .in_image(&root)
}

#[test]
fn the_readme_workflow_migrate_then_deploy_through_the_image() {
    if root().is_none() {
        return;
    }
    let emu = emulator!();
    let migrated = step(
        &emu,
        &[
            ("mode", "migrate"),
            ("service", "web"),
            ("command", "php artisan migrate --force"),
            (
                "environment-variables",
                "FDEMU_LOG=Migrating: 2026_11_29_000000_create_jobs|Migrated",
            ),
        ],
    )
    .run();
    migrated.assert_code(0);
    assert_eq!(migrated.output("exit-code"), "0");
    assert_contains(&migrated.stdout, "│ Migrated\n");
    let run_task = &emu.params("RunTask")[0];
    assert_eq!(
        run_task["overrides"]["containerOverrides"][0]["command"],
        serde_json::json!(["php", "artisan", "migrate", "--force"])
    );

    let deployed = step(
        &emu,
        &[
            ("mode", "deploy"),
            ("service", "web, worker"),
            (
                "environment-variables",
                "FDEMU_LOG=Migrating: 2026_11_29_000000_create_jobs|Migrated",
            ),
        ],
    )
    .run();
    deployed.assert_code(0);
    let arns: serde_json::Value =
        serde_json::from_str(deployed.output("task-definition-arns")).unwrap();
    assert_eq!(
        arns["web"].as_str(),
        Some(migrated.output("task-definition-arn"))
    );
    // AWS now runs the new revisions.
    let updates = emu.params("UpdateService");
    for service in ["web", "worker"] {
        let update = updates.iter().find(|u| u["service"] == service).unwrap();
        assert_eq!(update["taskDefinition"], arns[service], "{service}");
    }
    let result: serde_json::Value = serde_json::from_str(deployed.output("result")).unwrap();
    assert_eq!(result["result"], "success");
    assert_contains(
        &deployed.summary,
        "### ✅ fargate-deploy deploy — succeeded",
    );
}

#[test]
fn a_render_from_a_task_definition_file_in_the_workspace() {
    if root().is_none() {
        return;
    }
    let emu = emulator!();
    let run = step(
        &emu,
        &[
            ("mode", "render"),
            ("task-definition", "deploy/taskdef.json"),
        ],
    );
    run.write(
        "deploy/taskdef.json",
        r#"{"family": "web", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
            "requiresCompatibilities": ["FARGATE"],
            "containerDefinitions": [{"name": "web", "image": "placeholder", "portMappings": [{"containerPort": 8080}]}]}"#,
    );
    let done = run.run();
    done.assert_code(0);
    let rendered = done.json(".fargate-deploy/taskdef.rendered.json");
    assert_eq!(
        rendered["containerDefinitions"][0]["image"],
        emu.pinned("v2")
    );
    assert_eq!(
        done.json(".fargate-deploy/imageDetail.json")["ImageURI"],
        emu.pinned("v2")
    );
    assert!(
        done.file(".fargate-deploy/appspec.yaml")
            .contains("ContainerPort: 8080")
    );
    assert_eq!(done.output("artifacts-dir"), ".fargate-deploy");
    emu.assert_unchanged();
}
