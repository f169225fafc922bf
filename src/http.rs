//! Plain HTTPS for what no AWS SDK client fetches: the GitHub OIDC token
//! and an ECR image's config blob (from the URL ECR hands out for it).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

pub type Https = hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>;

/// HTTPS with the system's roots (HTTP too: tests and proxies), built
/// once per run: loading the roots is the slow part.
pub fn connector() -> Https {
    static BUILT: std::sync::OnceLock<Https> = std::sync::OnceLock::new();
    BUILT.get_or_init(build).clone()
}

fn build() -> Https {
    let builder = hyper_rustls::HttpsConnectorBuilder::new();
    let builder = match builder.with_native_roots() {
        Ok(b) => b,
        // No CA bundle on this machine: plain-HTTP endpoints (tests, proxies) still work,
        // and HTTPS fails with a certificate error that says so.
        Err(_) => hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(
            rustls::ClientConfig::builder()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth(),
        ),
    };
    builder.https_or_http().enable_http1().build()
}

/// One GET of `url` with `headers`, read whole (at most `limit` bytes)
/// within `timeout`: the status and the body, or why there is none. The URL
/// and the headers are not part of the error (a presigned URL carries a
/// signature, the OIDC request a bearer token).
pub async fn get(
    url: &str,
    headers: &[(&str, &str)],
    timeout: Duration,
    limit: usize,
) -> Result<(u16, Bytes), String> {
    let uri: hyper::Uri = url.parse().map_err(|_| "not a valid URL".to_string())?;
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build(connector());
    let request = headers
        .iter()
        .fold(hyper::Request::get(uri), |r, (name, value)| {
            r.header(*name, *value)
        })
        .header("user-agent", USER_AGENT)
        .body(Empty::new())
        .map_err(|_| "a header that is not valid in HTTP".to_string())?;
    let read = async {
        let response = client.request(request).await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let body = http_body_util::Limited::new(response.into_body(), limit);
        let bytes = body
            .collect()
            .await
            .map_err(|e| format!("reading the answer: {e}"))?;
        Ok((status, bytes.to_bytes()))
    };
    tokio::time::timeout(timeout, read)
        .await
        .map_err(|_| format!("no answer within {} s", timeout.as_secs()))?
}

const USER_AGENT: &str = concat!("fargate-deploy/", env!("CARGO_PKG_VERSION"));
