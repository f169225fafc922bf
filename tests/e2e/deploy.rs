//! End-to-end: `mode: deploy` against the emulator, whose ECS layer rolls
//! deployments over wall-clock time and trips the circuit breaker.

use crate::common;
use crate::common::assert_contains;

use common::{Emulator, Finished};
use serde_json::{Value, json};

fn deploy(emu: &Emulator, services: &str, image: &str, extra: &[(&str, &str)]) -> Finished {
    common::prod_step(
        emu,
        "deploy",
        services,
        &[&[("image", image)], extra].concat(),
    )
    .run()
}

fn count(calls: &[String], op: &str) -> usize {
    calls.iter().filter(|c| c.as_str() == op).count()
}

fn result(done: &Finished) -> Value {
    serde_json::from_str(done.output("result")).unwrap()
}

#[test]
fn one_service_rolls_to_the_new_revision() {
    let emu = emulator!();
    let done = deploy(&emu, "web", "web:v2", &[]);
    done.assert_code(0);
    done.assert_stages(
        "credentials → resolve image → render task definition → verify → plan → register task definition → update service → wait for deployment → report",
    );
    assert!(
        done.output("task-definition-arn")
            .ends_with(":task-definition/web:2")
    );
    assert_eq!(
        serde_json::from_str::<Value>(done.output("task-definition-arns")).unwrap(),
        json!({"web": done.output("task-definition-arn")})
    );
    assert!(done.output("deployment-id").starts_with("ecs-svc/"));
    assert_eq!(done.output("image"), emu.pinned("v2"));
    let r = result(&done);
    assert_eq!(r["targets"][0]["result"], "success");
    assert_eq!(r["targets"][0]["reused"], false);
    // The service events of the rollout, each printed once.
    assert_eq!(
        done.stdout
            .matches("[web] (service web) has reached a steady state.")
            .count(),
        1,
        "{}",
        done.stdout
    );
    assert!(done.stdout.contains("deployment completed."));
    assert_contains(&done.summary, "| `web` | `web:2` | new |");
    // Links for people: the service in the console and this run.
    for link in [
        "[service](https://eu-west-1.console.aws.amazon.com/ecs/v2/clusters/prod/services/web/deployments?region=eu-west-1)",
        "[This workflow run](https://github.com/octo-org/octo-app/actions/runs/4242/attempts/1)",
    ] {
        assert!(done.summary.contains(link), "{link}\n{}", done.summary);
    }
    let calls = emu.calls();
    assert_eq!(count(&calls, "ecs:RegisterTaskDefinition"), 1);
    assert_eq!(count(&calls, "ecs:UpdateService"), 1);
    // Artifacts are written in deploy mode too.
    assert_eq!(
        done.json(".fargate-deploy/imageDetail.json"),
        json!({"ImageURI": emu.pinned("v2")})
    );
}

#[test]
fn three_services_concurrently_with_one_registration_per_definition() {
    let emu = emulator!();
    let done = deploy(&emu, "web, worker, scheduler", "web:v2", &[]);
    done.assert_code(0);
    let arns: Value = serde_json::from_str(done.output("task-definition-arns")).unwrap();
    assert!(arns["web"].as_str().unwrap().ends_with("web:2"));
    assert!(arns["worker"].as_str().unwrap().ends_with("worker:2"));
    assert_eq!(
        arns["worker"], arns["scheduler"],
        "worker and scheduler share one definition, registered once"
    );
    let ids: Value = serde_json::from_str(done.output("deployment-id")).unwrap();
    assert_eq!(ids.as_object().unwrap().len(), 3);
    let calls = emu.calls();
    assert_eq!(count(&calls, "ecs:RegisterTaskDefinition"), 2, "{calls:?}");
    assert_eq!(count(&calls, "ecs:UpdateService"), 3);
    // One DescribeServices per poll for all three (plus the first read of the services).
    let polls = count(&calls, "ecs:DescribeServices");
    assert!(
        (2..=6).contains(&polls),
        "{polls} DescribeServices calls for a 2-second rollout of 3 services"
    );
    for svc in ["web", "worker", "scheduler"] {
        assert_contains(&done.summary, &format!("| `{svc}` |"));
    }
    // The plan, printed before anything changes: per service the revision,
    // the strategy and what it is deployed from; then what "done" means.
    let plan = done
        .stdout
        .find("::group::[5/9] plan\n")
        .expect("a plan stage");
    let register = done
        .stdout
        .find("::group::[6/9] register task definition")
        .unwrap();
    assert!(plan < register, "the plan comes before the first change");
    let printed = &done.stdout[plan..register];
    for line in [
        "web: register a new revision of web (differs from web:1); rolling update (UpdateService) from web:1",
        "worker: register a new revision of worker (differs from worker:1); rolling update (UpdateService) from worker:1",
        "scheduler: the new revision registered for worker; rolling update (UpdateService) from worker:1",
        "then wait until every deployment completes (at most 30 min)",
        "✓ 3 service(s) in prod: 2 new revision(s) to register, 0 reused; 3 rolling",
    ] {
        assert!(printed.contains(line), "{line}\n{printed}");
    }
    assert!(
        done.summary.contains("<details><summary>Plan</summary>")
            && done.summary.contains("web: register a new revision of web"),
        "{}",
        done.summary
    );
    println!("three-service deploy, the plan:\n{printed}");
    println!("three-service deploy: {} API calls: {calls:?}", calls.len());
}

#[test]
fn rerun_reuses_the_revision_and_starts_no_deployment() {
    let emu = emulator!();
    let first = deploy(&emu, "web", "web:v2", &[]);
    first.assert_code(0);
    let before = emu.calls().len();
    let again = deploy(&emu, "web", "web:v2", &[]);
    again.assert_code(0);
    assert_eq!(
        again.output("task-definition-arn"),
        first.output("task-definition-arn")
    );
    assert_contains(
        &again.stdout,
        "web:2 (reused: identical to the latest revision)",
    );
    assert_contains(
        &again.stdout,
        "no new deployment (same revision, not forced)",
    );
    assert!(
        again
            .stdout
            .contains("web: reuse web:2 (identical); rolling update (UpdateService) from web:2"),
        "the plan says so before anything runs: {}",
        again.stdout
    );
    let calls: Vec<String> = emu.calls().split_off(before);
    assert_eq!(count(&calls, "ecs:RegisterTaskDefinition"), 0, "{calls:?}");
    assert_eq!(result(&again)["targets"][0]["reused"], true);
}

#[test]
fn force_new_deployment_with_an_unchanged_image() {
    let emu = emulator!();
    // web:1 already runs v1: the rendered definition equals it.
    let done = deploy(&emu, "web", "web:v1", &[("force-new-deployment", "true")]);
    done.assert_code(0);
    assert!(
        done.output("task-definition-arn").ends_with("web:1"),
        "same revision"
    );
    assert!(
        done.stdout.contains("web: started deployment ecs-svc/"),
        "a new deployment: {}",
        done.stdout
    );
    assert_eq!(count(&emu.calls(), "ecs:RegisterTaskDefinition"), 0);
}

#[test]
fn a_revision_whose_tasks_cannot_start_trips_the_circuit_breaker_and_rolls_back() {
    let emu = emulator!();
    let done = deploy(
        &emu,
        "web",
        "web:v2",
        &[("environment-variables", common::CANNOT_PULL)],
    );
    done.assert_code(1);
    let error = done.first_error();
    assert!(error.starts_with("::error title=deploy::deployment of web failed: ECS deployment circuit breaker: tasks failed to start. ECS is rolling back to web:1"), "{error}");
    assert!(
        done.stdout.contains("stopped task ") && done.stdout.contains("CannotPullContainerError"),
        "stopped tasks' reasons: {}",
        done.stdout
    );
    assert_contains(
        &done.stdout,
        "event: (service web) rolling back to deployment",
    );
    let r = result(&done);
    assert_eq!(r["result"], "failure");
    assert_eq!(r["targets"][0]["result"], "rolled back");
    assert_contains(&done.summary, "| rolled back |");
    assert!(
        !done.stdout.contains("::group::[9/9] report"),
        "no stage after a failed one"
    );
    let calls = emu.calls();
    println!("failed deploy: {} API calls: {calls:?}", calls.len());
}

/// A rolling service whose deployments a CloudWatch alarm watches (with
/// rollback): the alarm fires once the new tasks run, ECS fails the
/// deployment and rolls back, and the failure says why the alarm fired.
#[test]
fn a_rolling_deployment_rolled_back_by_its_alarm_says_why_the_alarm_fired() {
    let emu = emulator!();
    let web = emu.aws(
        "ecs",
        "describe_services",
        &json!({"cluster": "prod", "services": ["web"]}),
    );
    let alarms = json!({"alarmNames": ["web-5xx"], "enable": true, "rollback": true});
    emu.aws(
        "ecs",
        "create_service",
        &json!({"cluster": "prod", "serviceName": "watched", "taskDefinition": "web:1",
                "desiredCount": 1, "launchType": "FARGATE",
                "networkConfiguration": web["services"][0]["networkConfiguration"],
                "deploymentConfiguration": {"alarms": alarms}}),
    );
    let done = deploy(
        &emu,
        "watched",
        "web:v2",
        &[("environment-variables", "FDEMU_ALARM=web-5xx")],
    );
    done.assert_code(1);
    let error = done.first_error();
    assert!(
        error.contains("ECS deployment alarm web-5xx is in ALARM state."),
        "{error}"
    );
    crate::native::assert_alarm_explained(&emu, &done, "watched", "web-5xx");
}

#[test]
fn without_a_circuit_breaker_a_revision_that_cannot_start_times_out_naming_its_state() {
    let emu = emulator!();
    let done = deploy(
        &emu,
        "worker",
        "web:v2",
        &[
            (
                "environment-variables",
                "FDEMU_FAIL_TO_START=ResourceInitializationError: unable to pull secrets",
            ),
            ("timeout-minutes", "0.05"),
            // What ECS alone does with it (fail-fast: tests/e2e/fail_fast.rs).
            ("fail-fast", "false"),
        ],
    );
    done.assert_code(1);
    let error = done.first_error();
    assert!(
        error.contains("timed out after 3 s waiting for deployment ecs-svc/"),
        "{error}"
    );
    assert!(
        error.contains("it was IN_PROGRESS, 0/1 running, 1 pending")
            && error.contains("failed tasks"),
        "{error}"
    );
}

/// Tasks that start and then exit are a crash loop ECS's circuit breaker
/// never trips on (its count starts over once a task runs): even with the
/// breaker on, the deployment stays IN_PROGRESS with nothing running. The
/// step says so while it waits, and its timeout names it — instead of
/// "timed out" after the whole timeout-minutes and nothing else. (With
/// `fail-fast`, the default, it is stopped instead: tests/e2e/fail_fast.rs.)
#[test]
fn a_crash_loop_the_circuit_breaker_never_sees_is_named_while_waiting() {
    let emu = emulator!();
    let done = deploy(
        &emu,
        "web",
        "web:v2",
        &[
            ("environment-variables", "FDEMU_EXIT_CODE=3"),
            ("timeout-minutes", "0.1"),
            ("fail-fast", "false"),
        ],
    );
    done.assert_code(1);
    assert!(
        done.stdout.contains("::warning title=deploy::web: crash loop: 3 tasks of deployment ecs-svc/")
            && done.stdout.contains("started and then exited with code 3 (web), and none is running; ECS's circuit breaker does not count tasks that started"),
        "{}",
        done.stdout
    );
    assert_eq!(done.stdout.matches("crash loop:").count(), 1, "told once");
    let error = done.first_error();
    assert!(
        error.contains("timed out after 6 s waiting for deployment ecs-svc/")
            && error.contains("its tasks start and exit with code 3 (web) again and again"),
        "{error}"
    );
    let r = result(&done);
    assert_eq!(r["targets"][0]["result"], "failure", "not rolled back: {r}");
}

#[test]
fn desired_count_zero_succeeds_at_once_with_a_notice() {
    let emu = emulator!();
    let done = deploy(&emu, "idle", "web:v2", &[]);
    done.assert_code(0);
    assert_contains(
        &done.stdout,
        "::notice title=deploy::idle has desired count 0: nothing to start",
    );
}

#[test]
fn wait_until_none_returns_after_the_update() {
    let emu = emulator!();
    let done = deploy(&emu, "web", "web:v2", &[("wait-until", "none")]);
    done.assert_code(0);
    assert!(done.stdout.contains("not waiting (wait-until: none)"));
    assert_eq!(result(&done)["targets"][0]["result"], "not waited for");
}

#[test]
fn bad_input_in_deploy_changes_nothing() {
    let emu = emulator!();
    for (services, image, extra, title) in [
        ("web, nosuch", "web:v2", vec![], "service"),
        ("web", "web:v9", vec![], "image"),
        (
            "web",
            "web:v2",
            vec![("command", "rake db:migrate")],
            "command",
        ),
        ("web", "web:v2", vec![("set", "$.nope = 1")], "set"),
    ] {
        let done = deploy(&emu, services, image, &extra);
        done.assert_code(2);
        done.assert_error_starts_with(&format!("::error title={title}::"));
        emu.assert_unchanged();
    }
}

#[test]
fn a_throttled_update_service_is_retried_and_never_reaches_the_user() {
    let emu = emulator!();
    // A bucket of two UpdateService calls, refilled at two per second (a
    // test rate, not AWS's: tests/emulator/throttle_layer.py says why):
    // three services updated at once, so at least one is refused with
    // ThrottlingException "Rate exceeded" and must be retried.
    emu.configure(json!({"throttle": {"ecs:UpdateService": [2, 2.0]}}));
    let done = deploy(&emu, "web,worker,scheduler", "web:v2", &[]);
    done.assert_code(0);
    let state = emu.configure(json!({}));
    let throttled = state["throttled"]["ecs:UpdateService"]
        .as_u64()
        .unwrap_or(0);
    assert!(throttled >= 1, "no UpdateService was throttled: {state}");
    for quiet in [
        "Rate exceeded",
        "ThrottlingException",
        "::warning",
        "::error",
    ] {
        assert!(!done.stdout.contains(quiet), "{quiet}:\n{}", done.stdout);
    }
    let r = result(&done);
    for t in r["targets"].as_array().unwrap() {
        assert_eq!(t["result"], "success", "{r}");
    }
    // Every refusal was retried: one more call per refusal, and each
    // service updated.
    let mut updated: Vec<String> = emu
        .params("UpdateService")
        .iter()
        .map(|p| p["service"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(updated.len() as u64, 3 + throttled, "{updated:?}");
    updated.sort();
    updated.dedup();
    assert_eq!(updated, ["scheduler", "web", "worker"]);
}
