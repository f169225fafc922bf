//! The GitHub REST API, through octocrab: a GitHub Deployment with statuses
//! (`mode: deploy`, [`deployment`]) and the plan comment on a pull request
//! (`mode: render`, [`plan_comment`]).
//!
//! GitHub is told about the run; it never decides it. Configuration that
//! cannot work (no token, no repository) is bad input, found before anything
//! starts; a failing GitHub API call is a warning and leaves the run's result
//! as AWS made it.

pub mod deployment;
pub mod plan_comment;

use std::future::Future;
use std::time::Duration;

use octocrab::Octocrab;
use thiserror::Error;

use crate::error::Failure;

/// Attempts per call: transient failures (5xx, 429, transport) are retried.
const ATTEMPTS: u32 = 3;
/// The longest one request may take, retries included.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, Error)]
pub enum GitHubError {
    #[error("GitHub answered {status} to {operation}: {message}")]
    Api {
        operation: &'static str,
        status: u16,
        message: String,
    },
    #[error("cannot reach the GitHub API for {operation}: {detail}")]
    Transport {
        operation: &'static str,
        detail: String,
    },
    #[error("{operation} took longer than {}s", CALL_TIMEOUT.as_secs())]
    Timeout { operation: &'static str },
}

impl GitHubError {
    fn from_octocrab(operation: &'static str, e: octocrab::Error) -> Self {
        match e {
            octocrab::Error::GitHub { source, .. } => GitHubError::Api {
                operation,
                status: source.status_code.as_u16(),
                message: source.message.clone(),
            },
            other => GitHubError::Transport {
                operation,
                detail: error_chain(&other),
            },
        }
    }

    fn transient(&self) -> bool {
        match self {
            GitHubError::Api { status, .. } => *status == 429 || *status >= 500,
            GitHubError::Transport { .. } => true,
            GitHubError::Timeout { .. } => false,
        }
    }

    /// The warning a person reads: what failed, then what to do about it.
    /// `permission` is the job permission the call needs (`deployments: write`).
    pub fn advice(&self, permission: &str) -> String {
        match self {
            GitHubError::Api {
                status: 403 | 404, ..
            } => format!(
                "{self}. The token cannot do this: give the job `permissions: {permission}` (a pull request from a fork gets a read-only token)"
            ),
            GitHubError::Api { status: 401, .. } => format!(
                "{self}. The token was refused: pass `github-token: ${{{{ github.token }}}}` (the default) or a valid token"
            ),
            _ => self.to_string(),
        }
    }
}

/// The error and its causes; octocrab's Display adds a backtrace location
/// on some variants, which is cut.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let text = match crate::error::chain(e) {
        s if s.is_empty() => "error".to_string(),
        s => s,
    };
    text.split("\n\nFound at")
        .next()
        .unwrap_or("")
        .trim()
        .to_string()
}

/// Where the run is: the repository, the commit and the event, from the runner's variables.
#[derive(Debug, Clone)]
pub struct Context {
    pub api_url: String,
    pub owner: String,
    pub repo: String,
    /// `GITHUB_SHA`.
    pub sha: Option<String>,
    /// The pull request that triggered the run, if any.
    pub pull_request: Option<PullRequest>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub number: u64,
    /// The head commit the plan was rendered for (the event's `pull_request.head.sha`).
    pub head_sha: Option<String>,
}

impl Context {
    /// `input` names the input that needs GitHub (for the error's title).
    pub fn from_env(
        input: &str,
        env: &(dyn Fn(&str) -> Option<String> + Sync),
    ) -> Result<Self, Failure> {
        let api_url = env("GITHUB_API_URL")
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "https://api.github.com".into());
        if !(api_url.starts_with("https://") || api_url.starts_with("http://")) {
            return Err(Failure::input(
                input,
                format!(
                    "GITHUB_API_URL `{api_url}` is not an http(s) URL; the runner sets it (GitHub Enterprise Server: https://HOST/api/v3)"
                ),
            ));
        }
        let repository = env("GITHUB_REPOSITORY").unwrap_or_default();
        let Some((owner, repo)) = repository
            .split_once('/')
            .filter(|(o, r)| !o.is_empty() && !r.is_empty() && !r.contains('/'))
        else {
            return Err(Failure::input(
                input,
                format!(
                    "input `{input}` needs the repository in GITHUB_REPOSITORY (owner/name), which the runner sets; on the command line, export it (found `{repository}`)"
                ),
            ));
        };
        Ok(Context {
            api_url: api_url.trim_end_matches('/').to_string(),
            owner: owner.to_string(),
            repo: repo.to_string(),
            sha: env("GITHUB_SHA").filter(|s| !s.is_empty()),
            pull_request: pull_request(env),
        })
    }
}

/// The pull request of a `pull_request`/`pull_request_target` run: from the
/// event payload, else from `GITHUB_REF` (`refs/pull/N/merge`).
pub fn pull_request(env: &(dyn Fn(&str) -> Option<String> + Sync)) -> Option<PullRequest> {
    let event = env("GITHUB_EVENT_PATH")
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok());
    if let Some(pr) = event.as_ref().map(|e| &e["pull_request"])
        && let Some(number) = pr["number"].as_u64()
    {
        return Some(PullRequest {
            number,
            head_sha: pr["head"]["sha"].as_str().map(str::to_string),
        });
    }
    let reference = env("GITHUB_REF")?;
    let number = reference
        .strip_prefix("refs/pull/")?
        .split('/')
        .next()?
        .parse()
        .ok()?;
    Some(PullRequest {
        number,
        head_sha: None,
    })
}

/// The client `input` (`github-deployment`, `comment-plan`) needs: the
/// runner's context and a token, or bad input naming what is missing.
pub fn client_for(
    input: &str,
    permission: &str,
    token: Option<&str>,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<Client, Failure> {
    let ctx = Context::from_env(input, env)?;
    let token = token.ok_or_else(|| {
        Failure::input(
            "github-token",
            format!("input `{input}` needs `github-token` (the action passes `${{{{ github.token }}}}` by default; give the job `permissions: {permission}`)"),
        )
    })?;
    Client::new(input, token, ctx)
}

/// An authenticated client for one repository.
#[derive(Clone)]
pub struct Client {
    octo: Octocrab,
    pub ctx: Context,
}

impl Client {
    pub fn new(input: &str, token: &str, ctx: Context) -> Result<Self, Failure> {
        let bad = |e: octocrab::Error| {
            Failure::input(
                input,
                format!(
                    "cannot use GITHUB_API_URL `{}`: {}",
                    ctx.api_url,
                    error_chain(&e)
                ),
            )
        };
        let octo = Octocrab::builder()
            .base_uri(ctx.api_url.as_str())
            .map_err(bad)?
            .personal_token(token.to_string())
            // octocrab sends `X-GitHub-Api-Version: 2022-11-28`, the version of
            // the description the tests check requests against.
            .add_header(http::header::ACCEPT, "application/vnd.github+json".into())
            // Retries are ours (below): with backoff, and bounded in time;
            // octocrab is built without its retry layer.
            .set_connect_timeout(Some(Duration::from_secs(5)))
            .set_read_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(bad)?;
        Ok(Client { octo, ctx })
    }

    /// `/repos/{owner}/{repo}{rest}`.
    fn repo_route(&self, rest: &str) -> String {
        format!("/repos/{}/{}{rest}", self.ctx.owner, self.ctx.repo)
    }

    /// POST (or, with `patch`, PATCH) of `body` to `route`, as one [`Self::call`].
    async fn send<T, B>(
        &self,
        operation: &'static str,
        patch: bool,
        route: &str,
        body: &B,
    ) -> Result<T, GitHubError>
    where
        T: serde::de::DeserializeOwned,
        B: serde::Serialize + ?Sized,
    {
        self.call(operation, |o| async move {
            match patch {
                true => o.patch(route, Some(body)).await,
                false => o.post(route, Some(body)).await,
            }
        })
        .await
    }

    /// One API call, retried on transient failures with backoff (0.5 s, 1 s)
    /// and bounded by [`CALL_TIMEOUT`] in all.
    async fn call<T, F, Fut>(&self, operation: &'static str, f: F) -> Result<T, GitHubError>
    where
        F: Fn(Octocrab) -> Fut,
        Fut: Future<Output = Result<T, octocrab::Error>>,
    {
        let attempts = async {
            let mut backoff = Duration::from_millis(500);
            let mut attempt = 1;
            loop {
                match f(self.octo.clone()).await {
                    Ok(v) => return Ok(v),
                    Err(e) => {
                        let e = GitHubError::from_octocrab(operation, e);
                        if attempt >= ATTEMPTS || !e.transient() {
                            return Err(e);
                        }
                    }
                }
                tokio::time::sleep(backoff).await;
                backoff *= 2;
                attempt += 1;
            }
        };
        tokio::time::timeout(CALL_TIMEOUT, attempts)
            .await
            .unwrap_or(Err(GitHubError::Timeout { operation }))
    }
}

#[cfg(test)]
mod tests;
