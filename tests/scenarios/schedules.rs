//! Scenario tests of moving scheduled tasks (aws-smithy-mocks): what
//! PutTargets and UpdateSchedule are sent, and a move AWS refuses.

use std::collections::HashMap;

use aws_sdk_eventbridge::operation::put_targets::PutTargetsOutput;
use aws_sdk_eventbridge::types::{EcsParameters, PutTargetsResultEntry, Target};
use aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput;
use aws_sdk_scheduler::operation::update_schedule::UpdateScheduleOutput;
use aws_sdk_scheduler::types::{
    ActionAfterCompletion, FlexibleTimeWindow, FlexibleTimeWindowMode, ScheduleState,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_types::DateTime;
use fargate_deploy::schedules::apply::move_all;
use fargate_deploy::schedules::read::Clients;
use fargate_deploy::schedules::{Body, Decision, Place, ScheduledTask};

const CLUSTER: &str = "arn:aws:ecs:eu-west-1:123456789012:cluster/prod";

fn td(short: &str) -> String {
    format!("arn:aws:ecs:eu-west-1:123456789012:task-definition/{short}")
}

fn rule_move(rule: &str, id: &str) -> Decision {
    let target = Target::builder()
        .id(id)
        .arn(CLUSTER)
        .role_arn("arn:aws:iam::123456789012:role/ecs-events")
        .input("{\"containerOverrides\":[]}")
        .ecs_parameters(
            EcsParameters::builder()
                .task_definition_arn(td("worker:1"))
                .task_count(2)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    Decision::Move {
        task: ScheduledTask {
            place: Place::parse(&format!("rule/{rule}")).unwrap(),
            task_definition: td("worker:1"),
            body: Body::Rule(Box::new(target)),
        },
        to: None,
    }
}

fn schedule_move() -> Decision {
    use aws_sdk_scheduler::types::{EcsParameters, Target};
    let schedule = GetScheduleOutput::builder()
        .name("hourly")
        .group_name("batch")
        .schedule_expression("rate(1 hour)")
        .schedule_expression_timezone("Europe/Amsterdam")
        .description("hourly sync")
        .state(ScheduleState::Disabled)
        .start_date(DateTime::from_secs(1_000_000_000))
        .end_date(DateTime::from_secs(4_000_000_000))
        .action_after_completion(ActionAfterCompletion::None)
        .flexible_time_window(
            FlexibleTimeWindow::builder()
                .mode(FlexibleTimeWindowMode::Flexible)
                .maximum_window_in_minutes(15)
                .build()
                .unwrap(),
        )
        .target(
            Target::builder()
                .arn(CLUSTER)
                .role_arn("arn:aws:iam::123456789012:role/ecs-events")
                .ecs_parameters(
                    EcsParameters::builder()
                        .task_definition_arn(td("worker:1"))
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .build();
    Decision::Move {
        task: ScheduledTask {
            place: Place::parse("schedule/batch/hourly").unwrap(),
            task_definition: td("worker:1"),
            body: Body::Schedule(Box::new(schedule)),
        },
        to: None,
    }
}

fn deployed() -> HashMap<String, String> {
    HashMap::from([("worker".to_string(), td("worker:2"))])
}

#[tokio::test]
async fn each_move_writes_back_what_was_read_with_the_new_revision() {
    let put = mock!(aws_sdk_eventbridge::Client::put_targets)
        .match_requests(|r| {
            let t = &r.targets()[0];
            r.rule() == Some("nightly")
                && r.event_bus_name() == Some("default")
                && t.ecs_parameters().unwrap().task_definition_arn() == td("worker:2")
                && t.ecs_parameters().unwrap().task_count() == Some(2)
                && t.input() == Some("{\"containerOverrides\":[]}")
        })
        .then_output(|| PutTargetsOutput::builder().failed_entry_count(0).build());
    let update = mock!(aws_sdk_scheduler::Client::update_schedule)
        .match_requests(|r| {
            r.name() == Some("hourly")
                && r.group_name() == Some("batch")
                && r.schedule_expression_timezone() == Some("Europe/Amsterdam")
                && r.state() == Some(&ScheduleState::Disabled)
                && r.action_after_completion() == Some(&ActionAfterCompletion::None)
                && r.description() == Some("hourly sync")
                && r.start_date().is_none() // past: it has begun
                && r.end_date() == Some(&DateTime::from_secs(4_000_000_000))
                && r.flexible_time_window()
                    .and_then(|w| w.maximum_window_in_minutes())
                    == Some(15)
                && r.target()
                    .and_then(|t| t.ecs_parameters())
                    .map(|e| e.task_definition_arn())
                    == Some(td("worker:2").as_str())
        })
        .then_output(|| {
            UpdateScheduleOutput::builder()
                .schedule_arn("arn")
                .build()
                .unwrap()
        });
    let events = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [&put]);
    let scheduler = mock_client!(aws_sdk_scheduler, RuleMode::MatchAny, [&update]);
    let clients = Clients {
        events: &events,
        scheduler: &scheduler,
    };
    let moved = move_all(
        clients,
        &[rule_move("nightly", "report"), schedule_move()],
        &deployed(),
    )
    .await;
    assert_eq!(moved.failed, Vec::<String>::new());
    assert_eq!(
        moved.moved,
        [
            "rule/nightly (target report): worker:1 → worker:2",
            "schedule/batch/hourly: worker:1 → worker:2"
        ]
    );
    assert_eq!((put.num_calls(), update.num_calls()), (1, 1));
}

#[tokio::test]
async fn a_target_eventbridge_refuses_is_reported_not_moved() {
    let put = mock!(aws_sdk_eventbridge::Client::put_targets).then_output(|| {
        PutTargetsOutput::builder()
            .failed_entry_count(1)
            .failed_entries(
                PutTargetsResultEntry::builder()
                    .target_id("report")
                    .error_code("ConcurrentModificationException")
                    .error_message("Rule was modified concurrently")
                    .build(),
            )
            .build()
    });
    let events = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [&put]);
    let scheduler = mock_client!(aws_sdk_scheduler, RuleMode::MatchAny, []);
    let clients = Clients {
        events: &events,
        scheduler: &scheduler,
    };
    let moved = move_all(clients, &[rule_move("nightly", "report")], &deployed()).await;
    assert!(moved.moved.is_empty());
    assert_eq!(
        moved.failed,
        [
            "rule/nightly (target report): worker:1 → worker:2 failed: events:PutTargets failed for 1 target(s): ConcurrentModificationException: Rule was modified concurrently"
        ]
    );
}

#[tokio::test]
async fn two_targets_of_one_rule_are_one_call_and_a_task_already_there_none() {
    let put = mock!(aws_sdk_eventbridge::Client::put_targets)
        .match_requests(|r| r.targets().len() == 2)
        .then_output(|| PutTargetsOutput::builder().failed_entry_count(0).build());
    let events = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [&put]);
    let scheduler = mock_client!(aws_sdk_scheduler, RuleMode::MatchAny, []);
    let clients = Clients {
        events: &events,
        scheduler: &scheduler,
    };
    let there = HashMap::from([("worker".to_string(), td("worker:1"))]);
    let same = move_all(clients, &[rule_move("nightly", "a")], &there).await;
    assert_eq!(same.moved, ["rule/nightly (target a): already on worker:1"]);
    assert_eq!(put.num_calls(), 0);
    let moved = move_all(
        clients,
        &[rule_move("nightly", "a"), rule_move("nightly", "b")],
        &deployed(),
    )
    .await;
    assert_eq!(moved.moved.len(), 2, "{moved:?}");
    assert_eq!(put.num_calls(), 1);
}
