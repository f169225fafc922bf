//! End-to-end: promotion — `task-definition: family:revision` without
//! `image` deploys (or migrates with) that very revision, as it is.

use crate::common;
use crate::common::assert_contains;

use common::Emulator;

/// Registers web:2 (as a staging deploy would have) from a file; its ARN.
fn staged_revision(emu: &Emulator) -> String {
    emu.register_definition(&serde_json::json!({
        "family": "web",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "512",
        "memory": "1024",
        "executionRoleArn": "arn:aws:iam::123456789012:role/ecs-execution",
        "containerDefinitions": [{
            "name": "web", "image": emu.pinned("v2"), "essential": true,
            "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": "/ecs/web", "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "ecs"}}
        }]
    }))
}

#[test]
fn a_revision_is_deployed_as_it_is_nothing_rendered_nothing_registered() {
    let emu = emulator!();
    let arn = staged_revision(&emu);
    assert!(arn.ends_with("task-definition/web:2"), "{arn}");
    let done = common::prod_step(&emu, "deploy", "web", &[("task-definition", "web:2")]).run();
    done.assert_code(0);
    assert_contains(
        &done.stdout,
        "web: promote web:2 as it is (nothing rendered, nothing registered); rolling update (UpdateService) from web:1",
    );
    // The one registration is the staging one above (boto3's).
    let registered = || {
        emu.calls()
            .iter()
            .filter(|c| *c == "ecs:RegisterTaskDefinition")
            .count()
    };
    assert_eq!(registered(), 1, "nothing registered");
    let updates = emu.params("UpdateService");
    assert_eq!(updates[0]["taskDefinition"], arn.as_str());
    assert_eq!(done.output("task-definition-arn"), arn);
    // The image is the revision's own.
    assert_eq!(done.output("image"), emu.pinned("v2"));
    assert_eq!(done.output("image-digest"), emu.digest("v2"));
    // The same revision runs a migration too.
    let migrate = common::prod_step(
        &emu,
        "migrate",
        "web",
        &[
            ("task-definition", arn.as_str()),
            ("command", "bin/rails db:migrate"),
        ],
    )
    .run();
    migrate.assert_code(0);
    let run = emu.params("RunTask");
    assert_eq!(run[0]["taskDefinition"], arn.as_str());
    assert_eq!(registered(), 1, "nothing registered");
}

/// What a promotion cannot do is refused before any change: a revision
/// that does not exist, a family without a revision, inputs that would
/// change the definition.
#[test]
fn what_a_promotion_cannot_do_is_refused_before_any_change() {
    let emu = emulator!();
    let refused = |extra: &[(&str, &str)], title: &str, says: &str| {
        let done = common::prod_step(&emu, "deploy", "web", extra).run();
        done.assert_code(2);
        done.assert_error_starts_with(&format!("::error title={title}::"));
        done.assert_error_contains(says);
    };
    refused(
        &[("task-definition", "web:9")],
        "task-definition",
        "task definition `web:9` not found",
    );
    refused(
        &[("task-definition", "web")],
        "image",
        "or, to promote a registered revision as it is, give `task-definition: family:revision`",
    );
    refused(
        &[
            ("task-definition", "web:1"),
            ("environment-variables", "A=1"),
        ],
        "environment-variables",
        "a promotion (task-definition web:1 without image) deploys as it is",
    );
    emu.assert_unchanged();
}

/// ECS updates no service to an INACTIVE revision: promoting one is
/// refused before any change (here web:2, retired by an earlier deploy's
/// `keep-revisions`).
#[test]
fn an_inactive_revision_is_not_promoted() {
    let emu = emulator!();
    staged_revision(&emu);
    let retired = common::prod_step(
        &emu,
        "deploy",
        "web",
        &[("image", "web:v2"), ("keep-revisions", "1")],
    )
    .run();
    retired.assert_code(0);
    assert_contains(&retired.stdout, "deregistered web:2");
    let before = emu.mutating_calls().len();
    let done = common::prod_step(&emu, "deploy", "web", &[("task-definition", "web:2")]).run();
    done.assert_code(2);
    done.assert_error_starts_with(
        "::error title=task-definition::task definition web:2 is INACTIVE: ECS deploys no service to it",
    );
    assert_eq!(emu.mutating_calls().len(), before, "nothing changed");
}
