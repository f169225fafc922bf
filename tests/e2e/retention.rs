//! End-to-end: `keep-revisions` / `delete-revisions` — a deploy that
//! succeeded retires its family's old revisions, never one in use.

use crate::common;
use crate::common::assert_contains;

use common::Emulator;

/// Registers `n` more revisions of family web (web:2 …), as earlier
/// deploys would have left them.
fn older_revisions(emu: &Emulator, n: usize) {
    let td = serde_json::json!({
        "family": "web",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [{"name": "web", "image": emu.pinned("v1"), "essential": true}]
    });
    for _ in 0..n {
        emu.register_definition(&td);
    }
}

/// web:1 (the seeded revision: other services run it, and web's rollback
/// returns to it), web:2 … web:6 (older, unused), web:7 (this deploy's).
/// Keeping 2: web:7 and web:6 stay, web:1 stays in use, the rest go.
#[test]
fn a_successful_deploy_retires_old_revisions_but_never_one_in_use() {
    let emu = emulator!();
    older_revisions(&emu, 5);
    let done = common::prod_step(
        &emu,
        "deploy",
        "web",
        &[
            ("image", "web:v2"),
            ("keep-revisions", "2"),
            ("delete-revisions", "true"),
        ],
    )
    .run();
    done.assert_code(0);
    assert_contains(
        &done.stdout,
        "then, once every deployment succeeded: keep the newest 2 ACTIVE revisions of web (and any a service, a running task, a scheduled task or a rollback uses), deregister the older ones, and delete their INACTIVE revisions not in use",
    );
    let line = "web: kept the newest 2 (web:7, web:6); kept web:1 (in use by the rollback of service web); deregistered web:2, web:3, web:4, web:5; deleted web:2, web:3, web:4, web:5";
    assert_contains(&done.stdout, line);
    assert_contains(&done.summary, "Revisions retired");
    assert_contains(&done.summary, line);
    let deregistered = emu.deregistered();
    assert_eq!(deregistered.len(), 4, "{deregistered:?}");
    assert!(
        !deregistered
            .iter()
            .any(|t| t == "web:1" || t == "web:6" || t == "web:7")
    );
    let deleted = emu.params("DeleteTaskDefinitions");
    assert_eq!(deleted.len(), 1, "one batch of four");
}

/// A failed deploy retires nothing: the old revisions are what a person
/// may need next.
#[test]
fn a_failed_deploy_retires_nothing() {
    let emu = emulator!();
    let done = common::prod_step(
        &emu,
        "deploy",
        "worker",
        &[
            ("image", "web:v2"),
            ("keep-revisions", "1"),
            ("environment-variables", common::CANNOT_PULL),
        ],
    )
    .run();
    done.assert_code(1);
    assert!(!emu.saw("ecs:DeregisterTaskDefinition"));
    assert!(
        !done.stdout.contains("retire revisions"),
        "the stage never ran"
    );
}
