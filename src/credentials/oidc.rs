//! The GitHub Actions OIDC token: requested from the runner's token service
//! (`$ACTIONS_ID_TOKEN_REQUEST_URL&audience=…` with the bearer
//! `$ACTIONS_ID_TOKEN_REQUEST_TOKEN`), retried on transient failures.

use std::time::Duration;

use base64::Engine;
use serde::Deserialize;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum OidcError {
    #[error("the OIDC token request URL is not valid: {0}")]
    BadUrl(String),
    #[error(
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN holds what an HTTP header cannot carry (a line break or another control character); the runner sets it for a job with `permissions: id-token: write`"
    )]
    BadRequestToken,
    #[error("the GitHub OIDC token service refused the request (HTTP {status}): {body}")]
    Refused { status: u16, body: String },
    #[error("the GitHub OIDC token service failed after {attempts} attempts: {last}")]
    Unavailable { attempts: u32, last: String },
    #[error("the GitHub OIDC token service answered without a token: {0}")]
    NoToken(String),
}

/// Claims shown to people when the role's trust policy rejects the token.
#[derive(Debug, Default, Clone, Deserialize, PartialEq, Eq)]
pub struct Claims {
    #[serde(default)]
    pub sub: String,
    #[serde(default)]
    pub aud: serde_json::Value,
    #[serde(default)]
    pub iss: String,
}

/// Reads the claims of a JWT without verifying it (STS verifies; we only explain).
pub fn claims(token: &str) -> Option<Claims> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// `URL&audience=…` (or `?audience=` when the URL has no query), the
/// audience percent-encoded as a URI component.
pub fn token_url(request_url: &str, audience: &str) -> String {
    let sep = if request_url.contains('?') { '&' } else { '?' };
    let encoded = percent_encoding::utf8_percent_encode(audience, COMPONENT);
    format!("{request_url}{sep}audience={encoded}")
}

/// What `encodeURIComponent` leaves as it is (the runner's toolkit uses it):
/// letters, digits and `-_.!~*'()`; everything else is encoded.
const COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

const ATTEMPTS: u32 = 4;

/// The most of an answer read: a token is a few kilobytes.
const ANSWER_LIMIT: usize = 1 << 20;

/// Fetches the token, retrying connection errors, 5xx and 429 with backoff.
pub async fn fetch_token(
    request_url: &str,
    request_token: &str,
    audience: &str,
) -> Result<String, OidcError> {
    let url = token_url(request_url, audience);
    if url.parse::<hyper::Uri>().is_err() {
        return Err(OidcError::BadUrl(strip_query(&url)));
    }
    let bearer = format!("Bearer {request_token}");
    if http::HeaderValue::from_str(&bearer).is_err() {
        return Err(OidcError::BadRequestToken);
    }
    let headers = [
        ("authorization", bearer.as_str()),
        ("accept", "application/json; api-version=2.0"),
    ];
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        if attempt > 1 {
            tokio::time::sleep(Duration::from_millis(500 << (attempt - 2))).await;
        }
        let (status, body) =
            match crate::http::get(&url, &headers, Duration::from_secs(10), ANSWER_LIMIT).await {
                Ok(answer) => answer,
                Err(why) => {
                    last = why;
                    continue;
                }
            };
        if status == 200 {
            return token_of(&body);
        }
        let text: String = String::from_utf8_lossy(&body).chars().take(200).collect();
        if status == 429 || status >= 500 {
            last = format!("HTTP {status}: {text}");
            continue;
        }
        return Err(OidcError::Refused { status, body: text });
    }
    Err(OidcError::Unavailable {
        attempts: ATTEMPTS,
        last,
    })
}

/// The token of the service's answer: `{"value": "…"}`.
fn token_of(body: &[u8]) -> Result<String, OidcError> {
    #[derive(Deserialize)]
    struct Answer {
        value: Option<String>,
    }
    match serde_json::from_slice::<Answer>(body) {
        Ok(Answer { value: Some(v) }) if !v.is_empty() => Ok(v),
        _ => Err(OidcError::NoToken(format!(
            "{} bytes that hold no `value`",
            body.len()
        ))),
    }
}

fn strip_query(url: &str) -> String {
    url.split('?').next().unwrap_or("").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        let enc = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.sig",
            enc.encode(r#"{"alg":"RS256"}"#),
            enc.encode(payload)
        )
    }

    #[test]
    fn reads_the_sub_claim() {
        let c = claims(&jwt(r#"{"sub":"repo:octo/app:ref:refs/heads/main","aud":"sts.amazonaws.com","iss":"https://token.actions.githubusercontent.com"}"#)).unwrap();
        assert_eq!(c.sub, "repo:octo/app:ref:refs/heads/main");
        assert_eq!(c.aud, serde_json::json!("sts.amazonaws.com"));
        assert_eq!(claims("not-a-jwt"), None);
    }

    #[test]
    fn the_token_is_the_answers_value() {
        assert_eq!(
            token_of(br#"{"count":1,"value":"ey.J.x"}"#).unwrap(),
            "ey.J.x"
        );
        for answer in [&br#"{"value":""}"#[..], br#"{"count":1}"#, b"<html>"] {
            let err = token_of(answer).unwrap_err().to_string();
            assert_eq!(
                err,
                format!(
                    "the GitHub OIDC token service answered without a token: {} bytes that hold no `value`",
                    answer.len()
                )
            );
        }
    }

    /// A loopback token service giving `answers` in turn (status, body);
    /// the requests it read come back from the handle.
    async fn token_service(
        answers: Vec<(u16, &'static str)>,
    ) -> (String, tokio::task::JoinHandle<Vec<String>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/token?api-version=2.0",
            listener.local_addr().unwrap()
        );
        let served = tokio::spawn(async move {
            let mut requests = Vec::new();
            for (status, body) in answers {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut buf = vec![0; 4096];
                let n = socket.read(&mut buf).await.unwrap();
                requests.push(String::from_utf8_lossy(&buf[..n]).to_string());
                let answer = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                socket.write_all(answer.as_bytes()).await.unwrap();
            }
            requests
        });
        (url, served)
    }

    #[tokio::test]
    async fn busy_answers_are_retried_and_the_bearer_token_is_sent() {
        let (url, served) =
            token_service(vec![(503, "busy"), (200, r#"{"value":"ey.J.x"}"#)]).await;
        assert_eq!(
            fetch_token(&url, "t0ken", "sts.amazonaws.com")
                .await
                .unwrap(),
            "ey.J.x"
        );
        let requests = served.await.unwrap();
        assert_eq!(requests.len(), 2);
        for r in &requests {
            assert!(
                r.starts_with("GET /token?api-version=2.0&audience=sts.amazonaws.com HTTP/1.1\r\n"),
                "{r}"
            );
            assert!(r.contains("authorization: Bearer t0ken\r\n"), "{r}");
            assert!(
                r.contains("accept: application/json; api-version=2.0\r\n"),
                "{r}"
            );
        }
    }

    #[tokio::test]
    async fn a_refusal_is_not_retried_and_says_what_the_service_said() {
        let (url, served) = token_service(vec![(403, "no id-token: write")]).await;
        let err = fetch_token(&url, "t0ken", "sts.amazonaws.com")
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the GitHub OIDC token service refused the request (HTTP 403): no id-token: write"
        );
        assert_eq!(served.await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_request_token_no_header_can_carry_is_refused_before_any_request_and_not_shown() {
        let err = fetch_token("http://127.0.0.1:9/t", "s3cr\nt0k", "a")
            .await
            .unwrap_err();
        assert!(matches!(err, OidcError::BadRequestToken), "{err}");
        assert!(!err.to_string().contains("s3cr"), "{err}");
    }

    #[tokio::test]
    async fn a_request_url_that_is_no_url_is_named_without_its_query() {
        let err = fetch_token("http://exa mple/t?secret=1", "t0ken", "a")
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the OIDC token request URL is not valid: http://exa mple/t"
        );
    }

    #[test]
    fn audience_is_appended_and_encoded() {
        assert_eq!(
            token_url("https://x/t?api-version=2.0", "sts.amazonaws.com"),
            "https://x/t?api-version=2.0&audience=sts.amazonaws.com"
        );
        assert_eq!(
            token_url("http://127.0.0.1:1/t", "a b/c"),
            "http://127.0.0.1:1/t?audience=a%20b%2Fc"
        );
        // As encodeURIComponent: these stay as they are.
        assert_eq!(
            token_url("https://x/t", "a-b_c.d!e~f*g'h(i)"),
            "https://x/t?audience=a-b_c.d!e~f*g'h(i)"
        );
    }
}
