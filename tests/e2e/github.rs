//! End-to-end: the GitHub integration against the emulator's GitHub REST API
//! mock, which checks every request against GitHub's published OpenAPI
//! description (tests/emulator/github_layer.py): GitHub Deployments with
//! statuses (deploy) and the plan comment on a pull request (render).

use crate::common;
use crate::common::assert_contains;

use std::time::Duration;

use crate::cancellation::{AfterSignal, cancel_when, check};
use common::{ActionRun, Emulator, Finished};

const PAUSE: Duration = Duration::from_millis(500);
use serde_json::{Value, json};

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
const RUN_URL: &str = "https://github.com/octo-org/octo-app/actions/runs/4242/attempts/1";

fn deploy(emu: &Emulator, extra: &[(&str, &str)]) -> ActionRun {
    let mut run = common::step(
        emu,
        "deploy",
        &[
            ("cluster", "prod"),
            ("service", "web"),
            ("image", "web:v2"),
            ("github-deployment", "true"),
        ],
    )
    .with_github(emu);
    for (k, v) in extra {
        run = run.input(k, v);
    }
    run
}

fn render(emu: &Emulator, image: &str, pr: Option<u64>) -> Finished {
    let run = common::step(
        emu,
        "render",
        &[
            ("cluster", "prod"),
            ("service", "web"),
            ("image", image),
            ("comment-plan", "true"),
        ],
    )
    .with_github(emu);
    match pr {
        Some(n) => run.on_pull_request(n),
        None => run,
    }
    .run()
}

/// The requests the GitHub API mock saw.
fn requests(gh: &Value) -> &[Value] {
    gh["requests"].as_array().unwrap()
}

/// Every request the client made was one GitHub's description allows.
fn assert_no_violations(gh: &Value) {
    assert_eq!(gh["violations"], json!([]), "{:#}", gh["requests"]);
    assert!(
        requests(gh)
            .iter()
            .all(|r| r["authorized"] == true && r["api_version"] == "2022-11-28"),
        "{:#}",
        gh["requests"]
    );
}

fn states(deployment: &Value) -> Vec<String> {
    deployment["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_deploy_is_a_github_deployment_in_progress_then_success() {
    let emu = emulator!();
    let done = deploy(
        &emu,
        &[
            ("environment", "staging"),
            ("environment-url", "https://staging.example.com"),
        ],
    )
    .run();
    done.assert_code(0);
    let gh = emu.github();
    assert_no_violations(&gh);
    let deployments = gh["deployments"].as_array().unwrap();
    assert_eq!(deployments.len(), 1, "{gh:#}");
    let d = &deployments[0];
    assert_eq!(d["ref"], SHA);
    assert_eq!(d["environment"], "staging");
    assert_eq!(d["task"], "deploy");
    assert_eq!(d["payload"]["cluster"], "prod");
    assert_eq!(d["payload"]["services"], json!(["web"]));
    assert_eq!(d["payload"]["image"], emu.pinned("v2"));
    assert_eq!(states(d), ["in_progress", "success"]);
    let last = &d["statuses"][1];
    assert_eq!(last["log_url"], RUN_URL);
    assert_eq!(last["environment_url"], "https://staging.example.com");
    assert_eq!(last["description"], "web:2 running in prod");
    assert_eq!(done.output("github-deployment-id"), d["id"].to_string());
    assert_contains(
        &done.summary,
        &format!("GitHub deployment {} to **staging**: success", d["id"]),
    );
    // Created through the API with the checks a workflow needs switched off.
    let create = requests(&gh)
        .iter()
        .find(|r| r["path"] == "/repos/octo-org/octo-app/deployments")
        .unwrap();
    assert_eq!(create["body"]["required_contexts"], json!([]));
    assert_eq!(create["body"]["auto_merge"], false);
}

#[test]
fn a_rolled_back_deploy_is_a_failed_github_deployment_with_the_reason() {
    let emu = emulator!();
    let done = deploy(&emu, &[("environment-variables", common::CANNOT_PULL)]).run();
    done.assert_code(1);
    let gh = emu.github();
    assert_no_violations(&gh);
    let d = &gh["deployments"][0];
    assert_eq!(d["environment"], "production", "GitHub's default");
    assert_eq!(states(d), ["in_progress", "failure"]);
    let description = d["statuses"][1]["description"].as_str().unwrap();
    assert!(
        description.starts_with("deployment of web failed: "),
        "{description}"
    );
    let result: serde_json::Value = serde_json::from_str(done.output("result")).unwrap();
    assert_eq!(result["targets"][0]["result"], "rolled back");
    assert!(description.chars().count() <= 140, "{description}");
    assert_eq!(d["statuses"][1]["log_url"], RUN_URL);
}

#[test]
fn bad_input_tells_github_nothing_and_wait_until_none_stays_in_progress() {
    let emu = emulator!();
    let done = deploy(&emu, &[("image", "web:v9")]).run();
    done.assert_code(2);
    assert_eq!(emu.github()["requests"], json!([]));

    // Not waited for: GitHub is not told it succeeded.
    let done = deploy(&emu, &[("wait-until", "none")]).run();
    done.assert_code(0);
    let gh = emu.github();
    assert_no_violations(&gh);
    assert_eq!(states(&gh["deployments"][0]), ["in_progress"]);
    assert_contains(&done.summary, "to **production**: in_progress");
}

#[test]
fn github_api_failures_are_warnings_and_transient_ones_are_retried() {
    // A token without `deployments: write`: the AWS deployment goes on and succeeds.
    let emu = emulator!();
    emu.github_control(json!({"forbid": ["repos/create-deployment"]}));
    let done = deploy(&emu, &[]).run();
    done.assert_code(0);
    assert_contains(
        &done.stdout,
        "::warning title=github-deployment::GitHub answered 403 to create the deployment: Resource not accessible by integration. The token cannot do this: give the job `permissions: deployments: write`",
    );
    assert_eq!(done.outputs.get("github-deployment-id"), None);
    assert_contains(
        &done.summary,
        "GitHub deployment to **production**: not created",
    );
    assert_eq!(emu.github()["deployments"], json!([]));

    // Two 502s on creation and one on the final status: retried, nothing lost.
    let emu = emulator!();
    emu.github_control(json!({"fail": {
        "repos/create-deployment": 2,
        "repos/create-deployment-status": 1,
    }}));
    let done = deploy(&emu, &[]).run();
    done.assert_code(0);
    assert!(!done.stdout.contains("::warning"), "{}", done.stdout);
    let gh = emu.github();
    assert_no_violations(&gh);
    assert_eq!(gh["deployments"].as_array().unwrap().len(), 1);
    assert_eq!(states(&gh["deployments"][0]), ["in_progress", "success"]);

    // GitHub unreachable (nothing listens): a warning, the deploy still succeeds.
    let emu = emulator!();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let done = deploy(&emu, &[])
        .env("GITHUB_API_URL", &format!("http://127.0.0.1:{port}/api/v3"))
        .run();
    done.assert_code(0);
    assert_contains(
        &done.stdout,
        "::warning title=github-deployment::cannot reach the GitHub API for create the deployment",
    );
}

#[test]
fn a_cancelled_deploy_ends_its_github_deployment_in_error() {
    let emu = emulator!({"rollout_seconds": 60});
    let ready = || emu.saw("ecs:UpdateService");
    let cleanup = AfterSignal::Cleanup { in_flight: None };
    let c = cancel_when(
        deploy(&emu, &[]),
        ready,
        PAUSE,
        "UpdateService",
        "TERM",
        &cleanup,
    );
    check(
        "deploy with a GitHub deployment (SIGTERM)",
        &c,
        "cancelled (SIGTERM)",
    );
    let d = &emu.github()["deployments"][0];
    assert_eq!(states(d), ["in_progress", "error"]);
    let description = d["statuses"][1]["description"].as_str().unwrap();
    assert!(
        description.starts_with("cancelled (SIGTERM)"),
        "{description}"
    );
}

fn marked(gh: &Value, pr: u64) -> Vec<Value> {
    gh["comments"][pr.to_string()]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["body"]
                .as_str()
                .unwrap()
                .contains("<!-- fargate-deploy:plan prod/web -->")
        })
        .cloned()
        .collect()
}

/// The plan comments the job's token wrote.
fn ours(gh: &Value, pr: u64) -> Vec<Value> {
    marked(gh, pr)
        .into_iter()
        .filter(|c| c["user"]["login"] == "github-actions[bot]")
        .collect()
}

/// With a person's token (a maintainer's, which may edit anyone's comment),
/// only that person's own plan comment is updated.
#[test]
fn with_a_persons_token_only_their_own_plan_comment_is_updated() {
    let emu = emulator!();
    emu.github_control(json!({
        "token_user": "release-captain",
        "comments": {"7": [
            {"body": "<!-- fargate-deploy:plan prod/web -->\nforged by mallory", "login": "mallory"},
            {"body": "quoting it: <!-- fargate-deploy:plan prod/web -->", "login": "release-captain"}
        ]}
    }));
    let done = render(&emu, "web:v2", Some(7));
    done.assert_code(0);
    let done = render(&emu, "web:v1", Some(7));
    done.assert_code(0);
    let gh = emu.github();
    assert_no_violations(&gh);
    let comments = gh["comments"]["7"].as_array().unwrap();
    assert_eq!(comments.len(), 3, "{gh:#}");
    assert!(
        comments[0]["body"]
            .as_str()
            .unwrap()
            .ends_with("forged by mallory")
    );
    assert!(
        comments[1]["body"]
            .as_str()
            .unwrap()
            .starts_with("quoting it")
    );
    assert_eq!(comments[2]["user"]["login"], "release-captain");
    let patched = requests(&gh)
        .iter()
        .filter(|r| r["method"] == "PATCH")
        .count();
    assert_eq!(patched, 1, "the second run updates its own comment only");
}

#[test]
fn the_plan_comment_is_posted_once_and_updated_in_place() {
    let emu = emulator!();
    // A long pull request: 120 comments by people, so the client must page;
    // one of them (by a person, and by another bot) carries our marker.
    let mut people: Vec<Value> = (0..120)
        .map(|i| json!({"body": format!("review note {i}"), "login": "octocat"}))
        .collect();
    people[3] = json!({"body": "<!-- fargate-deploy:plan prod/web -->\nLooks good: [Approve deploy](https://attacker.example/)", "login": "mallory"});
    people[4] = json!({"body": "<!-- fargate-deploy:plan prod/web -->\nanother app", "login": "other-app[bot]", "bot": true});
    emu.github_control(json!({"comments": {"7": people}}));

    let done = render(&emu, "web:v2", Some(7));
    done.assert_code(0);
    let gh = emu.github();
    assert_no_violations(&gh);
    let first = ours(&gh, 7);
    assert_eq!(first.len(), 1, "{gh:#}");
    assert_eq!(marked(&gh, 7).len(), 3, "{gh:#}");
    let body = first[0]["body"].as_str().unwrap();
    assert!(
        body.contains("### fargate-deploy plan for `prod`"),
        "{body}"
    );
    assert!(
        body.contains("(commit `fedcba987654`)"),
        "the pull request's head: {body}"
    );
    assert!(
        body.contains("**`web`** — against the running `web:1`:"),
        "{body}"
    );
    assert!(
        body.contains(&format!(
            "| `web: image` | `{}` | `{}` |",
            emu.pinned("v1"),
            emu.pinned("v2")
        )),
        "{body}"
    );
    assert!(
        body.contains(&format!("[Workflow run]({RUN_URL})")),
        "{body}"
    );
    assert_contains(&done.summary, "Plan comment: [posted on #7](");
    let mut pages: Vec<String> = requests(&gh)
        .iter()
        .filter(|r| r["method"] == "GET")
        .map(|r| {
            format!(
                "{}?{}",
                r["path"].as_str().unwrap(),
                r["query"].as_str().unwrap()
            )
        })
        .collect();
    pages.sort();
    assert_eq!(
        pages,
        [
            "/repos/octo-org/octo-app/issues/7/comments?per_page=100",
            "/repos/octo-org/octo-app/issues/7/comments?per_page=100&page=2",
            "/user?",
        ]
    );

    // The next push (back to v1): the same comment, now showing the new plan.
    let done = render(&emu, "web:v1", Some(7));
    done.assert_code(0);
    let gh = emu.github();
    assert_no_violations(&gh);
    let second = ours(&gh, 7);
    assert_eq!(second.len(), 1, "not duplicated: {gh:#}");
    for other in ["mallory", "other-app[bot]"] {
        let theirs: Vec<Value> = marked(&gh, 7)
            .into_iter()
            .filter(|c| c["user"]["login"] == other)
            .collect();
        assert_eq!(theirs.len(), 1);
        let body = theirs[0]["body"].as_str().unwrap();
        assert!(
            !body.contains("fargate-deploy plan for"),
            "{other}'s comment was edited: {body}"
        );
    }
    assert_eq!(second[0]["id"], first[0]["id"]);
    let body = second[0]["body"].as_str().unwrap();
    assert!(
        body.contains("**`web`** — no change against the running `web:1`")
            && !body.contains(&emu.pinned("v2")),
        "{body}"
    );
    assert_eq!(gh["comments"]["7"].as_array().unwrap().len(), 121);
    assert_contains(&done.summary, "Plan comment: [updated on #7](");
    let patched = requests(&gh)
        .iter()
        .filter(|r| r["method"] == "PATCH")
        .count();
    assert_eq!(patched, 1);
}

#[test]
fn the_plan_comment_outside_a_pull_request_or_without_permission_never_fails_the_step() {
    let emu = emulator!();
    let done = render(&emu, "web:v2", None);
    done.assert_code(0);
    assert_contains(
        &done.stdout,
        "comment-plan: this run is not for a pull request; no comment posted",
    );
    assert_eq!(emu.github()["requests"], json!([]));

    // A pull request from a fork: the token is read-only.
    emu.github_control(json!({"forbid": ["issues/create-comment"]}));
    let done = render(&emu, "web:v2", Some(9));
    done.assert_code(0);
    assert_contains(
        &done.stdout,
        "::warning title=comment-plan::GitHub answered 403 to comment on the pull request: Resource not accessible by integration. The token cannot do this: give the job `permissions: pull-requests: write`",
    );
    assert_no_violations(&emu.github());
}

/// The mock has teeth: requests GitHub's description does not allow are
/// refused and listed, whatever client sends them.
#[test]
fn the_mock_refuses_what_githubs_description_does_not_allow() {
    let emu = emulator!();
    let send = |method: &str, path: &str, body: &str| -> u16 {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", emu.port)).unwrap();
        write!(
            s,
            "{method} /api/v3{path} HTTP/1.0\r\nHost: 127.0.0.1\r\nUser-Agent: test\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            common::GITHUB_TOKEN,
            body.len()
        )
        .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        text.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    let cases = [
        // octocrab's own update_comment sends POST; GitHub documents PATCH.
        (
            "POST",
            "/repos/o/r/issues/comments/1",
            r#"{"body": "x"}"#,
            404,
        ),
        ("POST", "/repos/o/r/deployment", r#"{"ref": "main"}"#, 404),
        ("POST", "/repos/o/r/deployments", r#"{"ref": 5}"#, 422),
        (
            "POST",
            "/repos/o/r/deployments",
            r#"{"ref": "main", "enviroment": "x", "required_contexts": []}"#,
            422,
        ),
        (
            "POST",
            "/repos/o/r/deployments/1/statuses",
            r#"{"state": "done"}"#,
            422,
        ),
        ("GET", "/repos/o/r/issues/7/comments?per_page=zero", "", 422),
    ];
    for (method, path, body, status) in cases {
        assert_eq!(send(method, path, body), status, "{method} {path} {body}");
    }
    let gh = emu.github();
    assert_eq!(
        gh["violations"].as_array().unwrap().len(),
        cases.len(),
        "{gh:#}"
    );
    // Inside a workflow run, the run's own check is pending: without
    // required_contexts GitHub refuses the deployment (409), as the mock does.
    assert_eq!(
        send("POST", "/repos/o/r/deployments", r#"{"ref": "main"}"#),
        409
    );
}
