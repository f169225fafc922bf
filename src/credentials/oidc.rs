//! The GitHub Actions OIDC token: requested from the runner's token service
//! (`$ACTIONS_ID_TOKEN_REQUEST_URL&audience=…` with the bearer
//! `$ACTIONS_ID_TOKEN_REQUEST_TOKEN`), retried on transient failures.

use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum OidcError {
    #[error("the OIDC token request URL is not valid: {0}")]
    BadUrl(String),
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

/// Fetches the token, retrying connection errors, 5xx and 429 with backoff.
pub async fn fetch_token(
    request_url: &str,
    request_token: &str,
    audience: &str,
) -> Result<String, OidcError> {
    let url = token_url(request_url, audience);
    let uri: hyper::Uri = url
        .parse()
        .map_err(|_| OidcError::BadUrl(strip_query(&url)))?;
    let connector = crate::http::connector();
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        if attempt > 1 {
            tokio::time::sleep(Duration::from_millis(500 << (attempt - 2))).await;
        }
        let request = hyper::Request::get(uri.clone())
            .header("authorization", format!("Bearer {request_token}"))
            .header("accept", "application/json; api-version=2.0")
            .header(
                "user-agent",
                concat!("fargate-deploy/", env!("CARGO_PKG_VERSION")),
            )
            .body(Empty::new())
            .expect("static request parts are valid");
        let response =
            match tokio::time::timeout(Duration::from_secs(10), client.request(request)).await {
                Err(_) => {
                    last = "no answer within 10 s".into();
                    continue;
                }
                Ok(Err(e)) => {
                    last = format!("{e}");
                    continue;
                }
                Ok(Ok(r)) => r,
            };
        let status = response.status().as_u16();
        let body = match response.into_body().collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => {
                last = format!("reading the answer: {e}");
                continue;
            }
        };
        if status == 200 {
            #[derive(Deserialize)]
            struct Answer {
                value: Option<String>,
            }
            return match serde_json::from_slice::<Answer>(&body) {
                Ok(Answer { value: Some(v) }) if !v.is_empty() => Ok(v),
                _ => Err(OidcError::NoToken(format!(
                    "{} bytes that hold no `value`",
                    body.len()
                ))),
            };
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
