//! Credentials: the OIDC token is fetched and exchanged again before the
//! role session expires, and not before; the token request is retried.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityOutput;
use aws_sdk_sts::types::Credentials as StsCredentials;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_types::DateTime;
use fargate_deploy::credentials::{OidcCredentials, RoleSettings};
use fargate_deploy::runner::{Face, Runner};

/// A loopback stand-in for the runner's token service: answers 503 `fail_first` times, then a token.
fn token_service(fail_first: usize) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/token?api-version=2.0",
        listener.local_addr().unwrap()
    );
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let mut authorized = false;
            loop {
                let mut h = String::new();
                reader.read_line(&mut h).unwrap();
                if h.to_ascii_lowercase()
                    .starts_with("authorization: bearer request-token")
                {
                    authorized = true;
                }
                if h == "\r\n" || h.is_empty() {
                    break;
                }
            }
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let (status, body) = if !authorized
                || !request_line.contains("audience=sts.amazonaws.com")
            {
                ("401 Unauthorized", "{}".to_string())
            } else if n < fail_first {
                ("503 Service Unavailable", "{}".to_string())
            } else {
                (
                    "200 OK",
                    format!(
                        r#"{{"value": "header.eyJzdWIiOiJyZXBvOm8vcjpyZWY6cmVmcy9oZWFkcy9tYWluIn0.sig{n}"}}"#
                    ),
                )
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, hits)
}

fn role() -> RoleSettings {
    RoleSettings {
        role_arn: "arn:aws:iam::123456789012:role/deploy".into(),
        session_name: "fargate-deploy-1-1".into(),
        duration_seconds: 3600,
        audience: "sts.amazonaws.com".into(),
    }
}

fn sts_answer(expires_in: Duration) -> AssumeRoleWithWebIdentityOutput {
    let expiry = DateTime::from(SystemTime::now() + expires_in);
    AssumeRoleWithWebIdentityOutput::builder()
        .credentials(
            StsCredentials::builder()
                .access_key_id("ASIAEXAMPLE")
                .secret_access_key("secret-key-example")
                .session_token("session-token-example")
                .expiration(expiry)
                .build()
                .unwrap(),
        )
        .build()
}

fn provider(url: String, sts: aws_sdk_sts::Client) -> (OidcCredentials, Arc<Runner>) {
    let runner = Arc::new(Runner::new(
        Face::Terminal,
        Box::new(std::io::sink()),
        Box::new(std::io::sink()),
        None,
        None,
    ));
    let env = move |name: &str| match name {
        "ACTIONS_ID_TOKEN_REQUEST_URL" => Some(url.clone()),
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN" => Some("request-token".to_string()),
        _ => None,
    };
    (
        OidcCredentials::new(role(), sts, runner.clone(), env).unwrap(),
        runner,
    )
}

/// A [`provider`] whose STS answers every request with credentials that
/// live `lifetime`; the rule, to count the calls.
fn answering(url: String, lifetime: Duration) -> (OidcCredentials, aws_smithy_mocks::Rule) {
    let rule = mock!(aws_sdk_sts::Client::assume_role_with_web_identity)
        .then_output(move || sts_answer(lifetime));
    let sts = mock_client!(aws_sdk_sts, RuleMode::MatchAny, &[&rule]);
    (provider(url, sts).0, rule)
}

#[tokio::test]
async fn credentials_are_cached_while_fresh() {
    let (url, hits) = token_service(0);
    let rule = mock!(aws_sdk_sts::Client::assume_role_with_web_identity)
        .match_requests(|r| {
            r.role_session_name() == Some("fargate-deploy-1-1")
                && r.duration_seconds() == Some(3600)
                && r.web_identity_token()
                    .is_some_and(|t| t.starts_with("header."))
        })
        .then_output(|| sts_answer(Duration::from_secs(3600)));
    let sts = mock_client!(aws_sdk_sts, RuleMode::MatchAny, &[&rule]);
    let (p, runner) = provider(url, sts);
    let a = p.provide_credentials().await.unwrap();
    let b = p.provide_credentials().await.unwrap();
    assert_eq!(a.access_key_id(), b.access_key_id());
    assert_eq!(rule.num_calls(), 1);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    // The secret values are masked the moment they exist.
    assert_eq!(
        runner.redact("secret-key-example session-token-example"),
        "*** ***"
    );
}

#[tokio::test]
async fn credentials_near_expiry_are_refreshed_with_a_new_token() {
    let (url, hits) = token_service(0);
    // Four minutes left: inside the five-minute refresh margin.
    let (p, rule) = answering(url, Duration::from_secs(240));
    p.provide_credentials().await.unwrap();
    p.provide_credentials().await.unwrap();
    assert_eq!(rule.num_calls(), 2, "refreshed before expiry");
    let asked = hits.load(Ordering::SeqCst);
    assert_eq!(asked, 2, "each refresh asks for a fresh OIDC token");
}

#[tokio::test]
async fn the_token_request_is_retried_on_server_errors() {
    let (url, hits) = token_service(2);
    let (p, _) = answering(url, Duration::from_secs(3600));
    p.provide_credentials().await.unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}
