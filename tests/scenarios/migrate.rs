//! Scenario tests of the one-off task with aws-smithy-mocks and paused time.

use crate::common;
use crate::common::assert_contains;

use std::time::Duration;

/// A follower of the stream `ecs/web/t1` of `/ecs/web`, its GetLogEvents
/// answered by `rules`.
fn web_log(rules: &[&aws_smithy_mocks::Rule], mode: RuleMode) -> LogFollower {
    let client = mock_client!(aws_sdk_cloudwatchlogs, mode, rules);
    let stream = LogStream {
        group: "/ecs/web".into(),
        stream: "ecs/web/t1".into(),
        region: "eu-west-1".into(),
    };
    LogFollower::with_client(client, stream)
}

use aws_sdk_cloudwatchlogs::operation::get_log_events::{GetLogEventsError, GetLogEventsOutput};
use aws_sdk_cloudwatchlogs::types::OutputLogEvent;
use aws_sdk_cloudwatchlogs::types::error::ResourceNotFoundException;
use aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput;
use aws_sdk_ecs::operation::run_task::RunTaskOutput;
use aws_sdk_ecs::operation::stop_task::StopTaskOutput;
use aws_sdk_ecs::types::{Container, Failure as EcsFailure, LaunchType, Task};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use common::capture::runner;
use fargate_deploy::cancel::Cancel;
use fargate_deploy::poll::PollSchedule;
use fargate_deploy::runtask::logs::{LogFollower, LogStream};
use fargate_deploy::runtask::wait::{Ended, Waiter};
use fargate_deploy::runtask::{TaskPlan, run_task};

fn plan() -> TaskPlan {
    TaskPlan {
        launch_type: Some(LaunchType::Fargate),
        capacity_provider_strategy: vec![],
        platform_version: None,
        subnets: vec!["subnet-a".into()],
        security_groups: vec!["sg-1".into()],
        assign_public_ip: Some(false),
        container: "web".into(),
        command: Some(vec!["migrate".into()]),
        started_by: "fargate-deploy".into(),
        origin: "test".into(),
    }
}

/// A waiter on `task_arn` in cluster prod: 10 minutes, stopping the task on cancel.
fn waiter<'a>(
    ecs: &'a aws_sdk_ecs::Client,
    runner: &'a fargate_deploy::runner::Runner,
    task_arn: &'a str,
    schedule: PollSchedule,
) -> Waiter<'a> {
    Waiter {
        ecs,
        runner,
        cluster: "prod",
        task_arn,
        timeout: Duration::from_secs(600),
        stop_on_cancel: true,
        schedule,
    }
}

fn task(status: &str, exit: Option<i32>) -> Task {
    Task::builder()
        .task_arn("arn:aws:ecs:eu-west-1:123456789012:task/prod/t1")
        .last_status(status)
        .containers(Container::builder().name("web").set_exit_code(exit).build())
        .build()
}

/// RunTask's answer when ECS could not start the task.
fn refused(reason: &str, detail: Option<&str>) -> RunTaskOutput {
    let failure = EcsFailure::builder()
        .reason(reason)
        .set_detail(detail.map(Into::into));
    RunTaskOutput::builder().failures(failure.build()).build()
}

/// `run_task` of `plan()` against one mocked RunTask rule; its error.
async fn run_task_with(rule: &aws_smithy_mocks::Rule) -> anyhow::Error {
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &[rule]);
    run_task(&ecs, "prod", "web:2", &plan(), &Cancel::default())
        .await
        .unwrap_err()
}

#[tokio::test(start_paused = true)]
async fn transient_capacity_failures_are_retried() {
    let capacity = || {
        refused(
            "Capacity is unavailable at this time. Please try again later or in a different availability zone",
            None,
        )
    };
    let run = mock!(aws_sdk_ecs::Client::run_task)
        .sequence()
        .output(capacity)
        .times(2)
        .output(|| {
            RunTaskOutput::builder()
                .tasks(task("PROVISIONING", None))
                .build()
        })
        .build();
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &[&run]);
    let t = run_task(&ecs, "prod", "web:2", &plan(), &Cancel::default())
        .await
        .unwrap();
    assert_eq!(t.last_status(), Some("PROVISIONING"));
    assert_eq!(run.num_calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn permanent_run_task_failures_are_reported_at_once() {
    let run = mock!(aws_sdk_ecs::Client::run_task)
        .then_output(|| refused("MISSING", Some("subnet-a does not exist")));
    let err = run_task_with(&run).await;
    assert_eq!(
        format!("{err:#}"),
        "ECS could not start the task: MISSING (subnet-a does not exist)"
    );
    assert_eq!(run.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn capacity_that_never_frees_up_gives_up_after_bounded_tries() {
    let run = mock!(aws_sdk_ecs::Client::run_task)
        .then_output(|| refused("Capacity is unavailable at this time.", None));
    let err = run_task_with(&run).await;
    assert!(err.to_string().contains("Capacity is unavailable"), "{err}");
    assert_eq!(
        run.num_calls() as u32,
        fargate_deploy::runtask::RUN_TASK_ATTEMPTS
    );
}

#[tokio::test(start_paused = true)]
async fn a_log_stream_that_appears_late_is_waited_for_quietly_and_short_tasks_skip_running() {
    // PROVISIONING, then straight to STOPPED: RUNNING is never seen.
    let describe = mock!(aws_sdk_ecs::Client::describe_tasks)
        .sequence()
        .output(|| {
            DescribeTasksOutput::builder()
                .tasks(task("PROVISIONING", None))
                .build()
        })
        .times(2)
        .output(|| {
            DescribeTasksOutput::builder()
                .tasks(task("STOPPED", Some(0)))
                .build()
        })
        .repeatedly()
        .build();
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &[&describe]);
    let logs_rule = mock!(aws_sdk_cloudwatchlogs::Client::get_log_events)
        .sequence()
        .error(|| {
            GetLogEventsError::ResourceNotFoundException(
                ResourceNotFoundException::builder()
                    .message("The specified log stream does not exist.")
                    .build(),
            )
        })
        .times(2)
        .output(|| {
            GetLogEventsOutput::builder()
                .events(OutputLogEvent::builder().message("migrated\n").build())
                .next_forward_token("f/1")
                .build()
        })
        .output(|| {
            GetLogEventsOutput::builder()
                .next_forward_token("f/1")
                .build()
        })
        .repeatedly()
        .build();
    let mut follower = Some(web_log(&[&logs_rule], RuleMode::MatchAny));
    let (r, log) = runner();
    let mut w = waiter(
        &ecs,
        &r,
        "arn:aws:ecs:eu-west-1:123456789012:task/prod/t1",
        PollSchedule::default(),
    );
    let ended = w.wait(&mut follower, std::future::pending()).await;
    assert!(
        matches!(ended, Ended::Stopped(ref t) if t.containers()[0].exit_code() == Some(0)),
        "{ended:?}"
    );
    let text = log.text();
    assert!(
        !text.contains("::warning"),
        "a missing stream is not a warning: {text}"
    );
    assert_eq!(text.matches("│ migrated").count(), 1, "{text}");
    assert!(!text.contains("task is RUNNING"));
    assert!(
        text.contains("task is PROVISIONING\n") && text.contains("task is STOPPED\n"),
        "{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn cancellation_stops_the_task_with_a_reason() {
    let describe = mock!(aws_sdk_ecs::Client::describe_tasks).then_output(|| {
        DescribeTasksOutput::builder()
            .tasks(task("RUNNING", None))
            .build()
    });
    let stop = mock!(aws_sdk_ecs::Client::stop_task)
        .match_requests(|req| {
            req.reason()
                .is_some_and(|r| r.contains("cancelled (SIGINT)"))
        })
        .then_output(|| StopTaskOutput::builder().build());
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &[&describe, &stop]);
    let (r, _) = runner();
    let mut w = waiter(&ecs, &r, "arn:t1", PollSchedule::default());
    let cancel = async {
        tokio::time::sleep(Duration::from_secs(42)).await;
        "SIGINT"
    };
    let ended = w.wait(&mut None, cancel).await;
    assert!(
        matches!(
            ended,
            Ended::Cancelled {
                signal: "SIGINT",
                stopped: true
            }
        ),
        "{ended:?}"
    );
    assert_eq!(stop.num_calls(), 1);
}

/// Records the (paused) time of each call a mock answers.
#[derive(Clone, Default)]
struct Clock(std::sync::Arc<std::sync::Mutex<Vec<tokio::time::Instant>>>);

impl Clock {
    fn tick(&self) {
        self.0.lock().unwrap().push(tokio::time::Instant::now());
    }
    fn since(&self, start: tokio::time::Instant) -> Vec<f64> {
        let calls = self.0.lock().unwrap();
        calls.iter().map(|t| (*t - start).as_secs_f64()).collect()
    }
}

fn stopped_at(exec_ago: Option<Duration>) -> Task {
    let now = std::time::SystemTime::now();
    let ago = |d: Duration| aws_smithy_types::DateTime::from(now - d);
    Task::builder()
        .task_arn("arn:aws:ecs:eu-west-1:123456789012:task/prod/t1")
        .last_status("STOPPED")
        .set_execution_stopped_at(exec_ago.map(ago))
        .containers(Container::builder().name("web").exit_code(0).build())
        .build()
}

fn follower(clock: &Clock) -> Option<LogFollower> {
    let c = clock.clone();
    let rule = mock!(aws_sdk_cloudwatchlogs::Client::get_log_events).then_output(move || {
        c.tick();
        GetLogEventsOutput::builder()
            .next_forward_token("f/1")
            .build()
    });
    Some(web_log(&[&rule], RuleMode::MatchAny))
}

async fn wait_for(task_after: usize, last: Task, describes: &Clock, logs: &Clock) -> f64 {
    let c = describes.clone();
    let n = std::sync::atomic::AtomicUsize::new(0);
    let describe = mock!(aws_sdk_ecs::Client::describe_tasks).then_output(move || {
        c.tick();
        let i = n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let t = if i < task_after {
            task("RUNNING", None)
        } else {
            last.clone()
        };
        DescribeTasksOutput::builder().tasks(t).build()
    });
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &[&describe]);
    let (r, _) = runner();
    let mut w = waiter(
        &ecs,
        &r,
        "arn:aws:ecs:eu-west-1:123456789012:task/prod/t1",
        PollSchedule::default().waiting_first(),
    );
    let start = tokio::time::Instant::now();
    let ended = w.wait(&mut follower(logs), std::future::pending()).await;
    assert!(matches!(ended, Ended::Stopped(_)), "{ended:?}");
    (tokio::time::Instant::now() - start).as_secs_f64()
}

#[tokio::test(start_paused = true)]
async fn the_first_poll_comes_a_second_after_run_task_then_one_per_second() {
    let (describes, logs) = (Clock::default(), Clock::default());
    let start = tokio::time::Instant::now();
    wait_for(
        4,
        stopped_at(Some(Duration::from_secs(20))),
        &describes,
        &logs,
    )
    .await;
    let at = describes.since(start);
    assert_eq!(at.len(), 5, "{at:?}");
    // RunTask's answer was the first status: nothing at 0 s, then one a second.
    assert!((at[0] - 1.0).abs() < 0.01, "{at:?}");
    assert!(
        at.windows(2).all(|w| (w[1] - w[0] - 1.0).abs() < 0.01),
        "{at:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_log_grace_counts_from_the_container_exit() {
    // Fargate: the container exited 20 s before STOPPED was seen — the grace
    // is over, one read after the stop and done.
    let (describes, logs) = (Clock::default(), Clock::default());
    let start = tokio::time::Instant::now();
    let took = wait_for(
        0,
        stopped_at(Some(Duration::from_secs(20))),
        &describes,
        &logs,
    )
    .await;
    let reads = logs.since(start);
    assert!((took - 1.0).abs() < 0.01, "took {took}: {reads:?}");
    // The first read follows the stream until its token repeats (two calls:
    // no token → f/1, f/1 → f/1, the end); one read after the stop.
    assert_eq!(
        reads.len(),
        3,
        "one read with the poll, one after the stop: {reads:?}"
    );
    // No timestamps from ECS: the whole second of grace, then one quiet read.
    let (describes, logs) = (Clock::default(), Clock::default());
    let start = tokio::time::Instant::now();
    let took = wait_for(0, stopped_at(None), &describes, &logs).await;
    let reads = logs.since(start);
    assert!((took - 2.0).abs() < 0.01, "took {took}: {reads:?}");
    assert_eq!(reads.len(), 4, "{reads:?}");
}

/// GetLogEvents may answer an empty page while more events follow; the end
/// of the stream is the token coming back unchanged. One read (the final
/// drain after STOPPED is one read) gets the last error lines.
#[tokio::test(start_paused = true)]
async fn an_empty_page_with_a_moving_token_is_not_the_end_of_the_log() {
    let page = |lines: &[&str], token: &str| {
        let mut out = GetLogEventsOutput::builder().next_forward_token(token);
        for l in lines {
            out = out.events(OutputLogEvent::builder().message(*l).build());
        }
        out.build()
    };
    let rule = mock!(aws_sdk_cloudwatchlogs::Client::get_log_events)
        .sequence()
        .output(move || page(&["rake aborted!"], "f/1"))
        .output(move || page(&[], "f/2"))
        .output(move || page(&[], "f/3"))
        .output(move || {
            page(
                &["PG::UndefinedTable: relation \"users\" does not exist"],
                "f/4",
            )
        })
        .output(move || page(&[], "f/4"))
        .build();
    let mut follower = web_log(&[&rule], RuleMode::Sequential);
    let (r, log) = runner();
    assert_eq!(follower.poll(&r).await, 2);
    assert_eq!(
        follower.tail(),
        [
            "rake aborted!",
            "PG::UndefinedTable: relation \"users\" does not exist"
        ]
    );
    assert_eq!(rule.num_calls(), 5);
    assert_contains(&log.text(), "│ PG::UndefinedTable");
}
