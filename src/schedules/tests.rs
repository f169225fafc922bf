use aws_sdk_eventbridge::types::{EcsParameters, Target};

use super::*;

const CLUSTER: &str = "arn:aws:ecs:eu-west-1:123456789012:cluster/prod";

fn rule_task(rule: &str, td: &str) -> ScheduledTask {
    ScheduledTask {
        place: Place::parse(&format!("rule/{rule}")).unwrap(),
        task_definition: td.to_string(),
        body: Body::Rule(Box::new(
            Target::builder()
                .id("etl")
                .arn(CLUSTER)
                .ecs_parameters(
                    EcsParameters::builder()
                        .task_definition_arn(td)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )),
    }
}

fn td(short: &str) -> String {
    format!("arn:aws:ecs:eu-west-1:123456789012:task-definition/{short}")
}

#[test]
fn entries_name_rules_and_schedules_in_every_form() {
    let rule = |bus: &str, name: &str| Place::Rule {
        bus: bus.into(),
        name: name.into(),
    };
    let schedule = |group: &str, name: &str| Place::Schedule {
        group: group.into(),
        name: name.into(),
    };
    for (given, place) in [
        ("rule/nightly", rule("default", "nightly")),
        ("rule/ops/nightly", rule("ops", "nightly")),
        ("schedule/hourly", schedule("default", "hourly")),
        ("schedule/batch/hourly", schedule("batch", "hourly")),
        (
            "arn:aws:events:eu-west-1:123456789012:rule/ops/nightly",
            rule("ops", "nightly"),
        ),
        (
            "arn:aws:scheduler:eu-west-1:123456789012:schedule/batch/hourly",
            schedule("batch", "hourly"),
        ),
    ] {
        assert_eq!(Place::parse(given), Ok(place), "{given}");
    }
    assert_eq!(rule("default", "nightly").to_string(), "rule/nightly");
    assert_eq!(rule("ops", "nightly").to_string(), "rule/ops/nightly");
    assert_eq!(schedule("default", "h").to_string(), "schedule/default/h");
    for bad in [
        "nightly",
        "rule/",
        "rule/a/b/c",
        "queue/x",
        "schedule//x",
        "",
    ] {
        let err = Place::parse(bad).unwrap_err();
        assert!(err.contains("rule/NAME"), "{bad}: {err}");
    }
}

#[test]
fn a_task_knows_its_family_and_revision() {
    let t = rule_task("nightly", &td("worker:3"));
    assert_eq!(t.family(), "worker");
    assert_eq!(t.revision(), Some("3"));
    assert_eq!(t.name(), "rule/nightly (target etl)");
    let latest = rule_task("nightly", &td("worker"));
    assert_eq!(latest.family(), "worker");
    assert_eq!(latest.revision(), None);
}

#[test]
fn deploy_moves_every_pinned_task_but_the_excluded_and_the_unpinned() {
    let found = vec![
        rule_task("nightly", &td("worker:3")),
        rule_task("pinned", &td("worker:1")),
        rule_task("latest", &td("worker")),
    ];
    let exclude = [Place::parse("rule/pinned").unwrap()];
    let decisions = decide_deploy(found, &exclude);
    let lines: Vec<String> = decisions.iter().map(Decision::line).collect();
    assert_eq!(
        lines,
        [
            "scheduled task rule/nightly (target etl): move from worker:3 to the revision deployed for worker once the deployments succeeded",
            "scheduled task rule/pinned (target etl): left on worker:1 (scheduled-tasks-exclude)",
            "scheduled task rule/latest (target etl): left on worker (it names the family without a revision, so it runs the latest ACTIVE one)",
        ]
    );
}

#[test]
fn rollback_moves_back_only_what_is_on_the_revision_it_leaves() {
    let found = vec![
        rule_task("nightly", &td("worker:3")),
        rule_task("older", &td("worker:2")),
    ];
    let back = [(td("worker:3"), td("worker:2"))];
    let decisions = decide_rollback(found, &[], &back);
    assert!(matches!(&decisions[0], Decision::Move { to: Some(to), .. } if *to == td("worker:2")));
    assert!(matches!(&decisions[1], Decision::Leave { .. }));
    assert_eq!(
        decisions[0].line(),
        "scheduled task rule/nightly (target etl): move from worker:3 to worker:2 once the deployments succeeded"
    );
}
