use super::*;

fn env_of(
    pairs: &'static [(&'static str, &'static str)],
) -> impl Fn(&str) -> Option<String> + Sync {
    move |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

#[test]
fn the_context_comes_from_the_runner_variables() {
    let ctx = Context::from_env(
        "github-deployment",
        &env_of(&[
            ("GITHUB_REPOSITORY", "octo-org/octo-app"),
            ("GITHUB_SHA", "abc"),
            ("GITHUB_API_URL", "https://ghe.example.com/api/v3/"),
        ]),
    )
    .unwrap();
    assert_eq!(
        (ctx.owner.as_str(), ctx.repo.as_str()),
        ("octo-org", "octo-app")
    );
    assert_eq!(ctx.api_url, "https://ghe.example.com/api/v3");
    assert_eq!(ctx.sha.as_deref(), Some("abc"));
    assert_eq!(ctx.pull_request, None);
    let ctx = Context::from_env("x", &env_of(&[("GITHUB_REPOSITORY", "o/r")])).unwrap();
    assert_eq!(ctx.api_url, "https://api.github.com");
    for bad in ["", "octo-app", "o/r/x", "/r"] {
        let pairs: &'static [(&'static str, &'static str)] =
            Box::leak(vec![("GITHUB_REPOSITORY", bad)].into_boxed_slice());
        let f = Context::from_env("comment-plan", &env_of(pairs)).unwrap_err();
        assert_eq!(f.title, "comment-plan");
        assert!(f.headline.contains("GITHUB_REPOSITORY"), "{f}");
    }
    let f = Context::from_env(
        "x",
        &env_of(&[
            ("GITHUB_REPOSITORY", "o/r"),
            ("GITHUB_API_URL", "api.github.com"),
        ]),
    )
    .unwrap_err();
    assert!(f.headline.contains("not an http(s) URL"), "{f}");
}

#[test]
fn the_pull_request_comes_from_the_event_or_the_ref() {
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(
        &event,
        r#"{"pull_request": {"number": 42, "head": {"sha": "feed"}}}"#,
    )
    .unwrap();
    let path = event.display().to_string();
    let env = move |n: &str| (n == "GITHUB_EVENT_PATH").then(|| path.clone());
    assert_eq!(
        pull_request(&env),
        Some(PullRequest {
            number: 42,
            head_sha: Some("feed".into())
        })
    );
    let by_ref = |n: &str| (n == "GITHUB_REF").then(|| "refs/pull/7/merge".to_string());
    assert_eq!(pull_request(&by_ref).map(|p| p.number), Some(7));
    let push = |n: &str| (n == "GITHUB_REF").then(|| "refs/heads/main".to_string());
    assert_eq!(pull_request(&push), None);
}

#[test]
fn advice_names_the_permission_for_refusals_only() {
    let e = GitHubError::Api {
        operation: "create the deployment",
        status: 403,
        message: "Resource not accessible by integration".into(),
    };
    let advice = e.advice("deployments: write");
    assert!(
        advice.starts_with("GitHub answered 403 to create the deployment: Resource not accessible")
            && advice.contains("`permissions: deployments: write`"),
        "{advice}"
    );
    let e = GitHubError::Api {
        operation: "x",
        status: 502,
        message: "Server Error".into(),
    };
    assert!(e.transient());
    assert_eq!(e.advice("deployments: write"), e.to_string());
    assert!(!GitHubError::Timeout { operation: "x" }.transient());
    let e = GitHubError::Api {
        operation: "x",
        status: 422,
        message: "Validation Failed".into(),
    };
    assert!(!e.transient());
}

/// The context of a GitHub on loopback that accepts connections and never
/// answers; `sha` is the run's commit.
pub(super) fn silent_github(sha: Option<&str>) -> Context {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming() {
            held.push(conn); // keep it open, say nothing
        }
    });
    Context {
        api_url: format!("http://127.0.0.1:{port}/api/v3"),
        owner: "o".into(),
        repo: "r".into(),
        sha: sha.map(String::from),
        pull_request: None,
    }
}

/// A GitHub that accepts the connection and never answers costs the run at
/// most the call's bound (paused time: milliseconds of real time).
#[tokio::test(start_paused = true)]
async fn a_github_that_never_answers_is_bounded() {
    let ctx = silent_github(None);
    let client = Client::new("comment-plan", "t", ctx).unwrap();
    let real = std::time::Instant::now();
    let virtual_start = tokio::time::Instant::now();
    let err = plan_comment::upsert(&client, 7, "<!-- m -->", "body")
        .await
        .unwrap_err();
    assert!(matches!(err, GitHubError::Timeout { .. }), "{err}");
    assert_eq!(virtual_start.elapsed(), CALL_TIMEOUT);
    assert!(
        real.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        real.elapsed()
    );
}
