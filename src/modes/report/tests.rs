//! The job summary's markdown, as a person reads it on the run page:
//! snapshots (src/modes/report/snapshots) of a success and failures.

use std::time::Duration;

use super::*;
use crate::deployment::Updated;
use crate::deployment::assess::Followed;
use crate::image::{ImageRef, ResolvedImage};

fn image() -> ResolvedImage {
    let uri = format!(
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:{}",
        "c6cd50f991fa".repeat(5) + "0123"
    );
    ResolvedImage {
        uri: uri.clone(),
        digest: uri.split_once('@').map(|(_, d)| d.to_string()),
        reference: ImageRef::parse(&uri).unwrap(),
    }
}

fn updated(service: &str, id: &str, codedeploy: bool) -> Updated {
    Updated {
        followed: Followed {
            service: service.into(),
            deployment_id: id.into(),
            task_definition: "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:42".into(),
        },
        new_deployment: true,
        desired_count: 2,
        kind: if codedeploy {
            crate::plan::DeploymentKind::CodeDeploy
        } else {
            crate::plan::DeploymentKind::Rolling
        },
        expect_rollback: false,
    }
}

/// A row for service `name` of family `family` (its one container of the
/// same name), rendered from `origin`.
fn row(name: &str, family: &str, origin: &str) -> TargetRow {
    TargetRow {
        name: name.into(),
        family: family.into(),
        containers: vec![family.into()],
        origin: origin.into(),
        ..TargetRow::default()
    }
}

fn deploy_report() -> Report {
    let mut report = Report::new(Mode::Deploy);
    report.images = vec![image()];
    report.cluster = Some("prod".into());
    report.run_url =
        Some("https://github.com/octo-org/octo-app/actions/runs/4242/attempts/1".into());
    for (name, id, cd, reused) in [
        ("web", "ecs-svc/5178915112541213", false, false),
        ("bluegreen", "d-7QX2C9ZK1", true, true),
    ] {
        let mut deployed = TargetRow {
            revision: Some("web:42".into()),
            reused: Some(reused),
            took: Some(Duration::from_millis(83_400)),
            outcome: Some("success".into()),
            ..row(name, "web", "service's current web:41")
        };
        deployed.record_deployment("eu-west-1", "prod", &updated(name, id, cd));
        report.rows.push(deployed);
    }
    report
}

#[test]
fn a_successful_deploy() {
    let mut report = deploy_report();
    report
        .github
        .push("GitHub deployment 1001 to **production**: success".into());
    insta::assert_snapshot!(report.summary_markdown(&Ok(()), Duration::from_secs(95)));
}

#[test]
fn a_deploy_rolled_back_by_the_circuit_breaker() {
    let mut report = deploy_report();
    report.rows[0].outcome = Some("rolled back".into());
    report.rows[0].failure = Some((
        "ECS deployment circuit breaker: tasks failed to start. ECS is rolling back to web:41".into(),
        vec![
            "(service web) has started 1 tasks: (task 0c1f…).".into(),
            "(service web) (deployment ecs-svc/5178915112541213) deployment failed: tasks failed to start.".into(),
        ],
        vec!["task 0c1f: Essential container in task exited; container web exited with code 1".into()],
    ));
    report
        .github
        .push("GitHub deployment 1001 to **production**: failure".into());
    let failure = Failure::failed(
        "deploy",
        "1 of 2 services failed; web: ECS deployment circuit breaker: tasks failed to start",
    );
    insta::assert_snapshot!(report.summary_markdown(&Err(failure), Duration::from_secs(95)));
}

#[test]
fn many_services_fold_each_failure_and_the_links() {
    let mut report = deploy_report();
    report.rows.truncate(1);
    for i in 1..8 {
        let mut row = report.rows[0].clone();
        row.name = format!("svc-{i}");
        report.rows.push(row);
    }
    report.rows[3].outcome = Some("rolled back".into());
    report.rows[3].failure = Some((
        "ECS deployment circuit breaker: tasks failed to start".into(),
        vec!["(service svc-3) deployment failed: tasks failed to start.".into()],
        vec![],
    ));
    let failure = Failure::failed("deploy", "1 of 8 services failed");
    let md = report.summary_markdown(&Err(failure), Duration::from_secs(95));
    assert!(
        md.contains("Cluster `prod`: 8 services, **1 failed**\n\n| service |"),
        "{md}"
    );
    assert!(
        md.contains("<details><summary>**`svc-3`** — ECS deployment circuit breaker: tasks failed to start</summary>\n\nLast service events:"),
        "{md}"
    );
    assert!(
        md.contains("<details><summary>Links (8 services)</summary>"),
        "{md}"
    );
    assert_eq!(
        md.matches("<details>").count(),
        md.matches("</details>").count()
    );
    // Up to five services, nothing is folded.
    report.rows.truncate(5);
    let md = report.summary_markdown(&Ok(()), Duration::from_secs(95));
    assert!(
        !md.contains("<details>") && md.contains("Links:\n\n"),
        "{md}"
    );
}

#[test]
fn a_failed_migration_with_its_last_lines() {
    let mut report = Report::new(Mode::Migrate);
    report.images = vec![image()];
    report.run_url =
        Some("https://github.com/octo-org/octo-app/actions/runs/4242/attempts/1".into());
    report.rows.push(TargetRow {
        revision: Some("web:42".into()),
        reused: Some(false),
        deployment: Some("aa2a2a23904641e8".into()),
        outcome: Some("failure".into()),
        took: Some(Duration::from_millis(12_300)),
        links: vec![
            ("task", "https://eu-west-1.console.aws.amazon.com/ecs/v2/clusters/prod/tasks/aa2a2a23904641e8/configuration?region=eu-west-1".into()),
            ("log stream", "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/$252Fecs$252Fweb/log-events/ecs$252Fweb$252Faa2a2a23904641e8".into()),
        ],
        ..row("web", "web", "service's current web:41")
    });
    report.exit_code = Some(3);
    report.migration_log = vec![
        "== 20261129 AddIndexToUsers: migrating".into(),
        "PG::DuplicateTable: ERROR: relation \"index_users_on_email\" already exists | ```".into(),
    ];
    let failure = Failure::failed("migrate", "migration container web exited with code 3");
    insta::assert_snapshot!(report.summary_markdown(&Err(failure), Duration::from_secs(14)));
}

fn render_report() -> Report {
    let mut report = Report::new(Mode::Render);
    report.images = vec![image()];
    report.rows.push(TargetRow {
        artifacts: Some(".fargate-deploy".into()),
        plan: Some((
            "web:41".into(),
            vec![
                crate::taskdef::diff::Change {
                    what: "web: image".into(),
                    before: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:aaa".into(),
                    after: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:bbb".into(),
                },
                crate::taskdef::diff::Change {
                    what: "web: environment FEATURE_X".into(),
                    before: "—".into(),
                    after: "added".into(),
                },
            ],
        )),
        ..row("web", "web", "file deploy/web.json")
    });
    report.rows.push(TargetRow {
        plan: Some(("worker:7".into(), vec![])),
        ..row("worker", "worker", "service's current worker:7")
    });
    report
}

#[test]
fn a_render_with_what_would_change() {
    let report = render_report();
    insta::assert_snapshot!(report.summary_markdown(&Ok(()), Duration::from_millis(1200)));
}

/// The pull-request comment of `comment-plan` (crate::github::plan_comment).
#[test]
fn the_plan_comment() {
    use crate::github::plan_comment::{body, marker};
    let report = render_report();
    let marker = marker(
        "arn:aws:ecs:eu-west-1:123456789012:cluster/prod",
        &["web".into(), "worker".into()],
    );
    assert_eq!(marker, "<!-- fargate-deploy:plan prod/web,worker -->");
    let mut view = report.plan_view();
    view.run_url = Some("https://github.com/octo-org/octo-app/actions/runs/4242/attempts/1".into());
    insta::assert_snapshot!(body(
        &marker,
        "prod",
        &view,
        Some("fedcba9876543210fedcba9876543210fedcba98"),
    ));
}

#[test]
fn a_plan_longer_than_a_comment_is_cut_at_a_line() {
    use crate::github::plan_comment::body;
    let mut report = render_report();
    let change = |i: usize| crate::taskdef::diff::Change {
        what: format!("web: environment VAR_{i:05}"),
        before: "—".into(),
        after: "x".repeat(80),
    };
    report.rows[0].plan = Some(("web:41".into(), (0..2000).map(change).collect()));
    let mut view = report.plan_view();
    view.run_url = Some("https://run".into());
    let text = body("<!-- m -->", "prod", &view, None);
    assert!(text.chars().count() <= 65_536, "{}", text.chars().count());
    assert!(text.starts_with("<!-- m -->\n"));
    assert!(text.contains("… the plan is longer than a comment can hold"));
    assert!(
        text.trim_end()
            .ends_with("[Workflow run](https://run)</sub>")
    );
    let last_row = text
        .lines()
        .rfind(|l| l.starts_with("| `web: environment"))
        .unwrap();
    assert!(last_row.ends_with(" |"), "rows are whole: {last_row}");
}
