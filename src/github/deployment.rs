//! `github-deployment: true`: a GitHub Deployment for `GITHUB_SHA` in
//! `environment`, with statuses in_progress → success / failure (`log_url`
//! to the run, `environment_url`).
//!
//! The deployment is created once the inputs, image and task definitions have
//! been checked, in the background beside registration, so it costs the AWS
//! deployment no time; its final status is posted when the run's result is
//! known. Either call failing is a warning.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::task::JoinHandle;

use super::{Client, GitHubError};
use crate::error::Failure;
use crate::inputs::{GitHubDeployment, Settings, WaitUntil};
use crate::runner::Runner;

/// The job permission the calls need.
const PERMISSION: &str = "deployments: write";
/// GitHub's limit for a status description.
const DESCRIPTION_LIMIT: usize = 140;

#[derive(Clone)]
pub struct Prepared {
    client: Client,
    sha: String,
    pub environment: String,
    environment_url: Option<String>,
    /// What the run waits for and where: the final state says it.
    wait_until: WaitUntil,
    cluster: String,
}

/// The deployment being created (or created) on GitHub.
pub struct Started {
    prepared: Prepared,
    created: JoinHandle<Result<u64, GitHubError>>,
}

impl std::fmt::Debug for Started {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GitHub deployment to {}", self.prepared.environment)
    }
}

/// How the run ended, as GitHub's deployment states say it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Final {
    Success(String),
    Failure(String),
    /// Cancelled or otherwise ended without a verdict on the deployment.
    Error(String),
    /// Started and not waited for (`wait-until: none`).
    InProgress(String),
}

impl Final {
    /// How a deploy ended, as its GitHub Deployment's final status says it:
    /// `revisions` registered (each once), `paused` at a PAUSE hook (what
    /// the run found, not what it asked for: a continue whose deployment has
    /// no further pause completes), `cancelled` by which signal.
    pub fn of(
        outcome: &Result<(), Failure>,
        wait_until: WaitUntil,
        paused: bool,
        cluster: &str,
        revisions: &[&str],
        cancelled: Option<&str>,
    ) -> Final {
        let mut unique: Vec<&str> = Vec::new();
        for r in revisions {
            if !unique.contains(r) {
                unique.push(r);
            }
        }
        let cluster = crate::arn::last_segment(cluster);
        let revisions = unique.join(", ");
        match (outcome, cancelled) {
            // The deployment goes on in AWS once approved: the GitHub
            // Deployment stays in progress and says where it waits.
            (Ok(()), _) if paused => Final::InProgress(format!(
                "paused for approval: {revisions} in {cluster}; mode continue resumes it"
            )),
            (Ok(()), _) => match wait_until {
                WaitUntil::None => Final::InProgress(String::new()),
                WaitUntil::TrafficShifted => {
                    Final::Success(format!("traffic shifted to {revisions} in {cluster}"))
                }
                WaitUntil::Complete | WaitUntil::Paused => {
                    Final::Success(format!("{revisions} running in {cluster}"))
                }
            },
            (Err(f), Some(signal)) => Final::Error(format!("cancelled ({signal}): {}", f.headline)),
            (Err(f), None) => Final::Failure(f.headline.clone()),
        }
    }

    fn state(&self) -> (&'static str, &str) {
        match self {
            Final::Success(d) => ("success", d),
            Final::Failure(d) => ("failure", d),
            Final::Error(d) => ("error", d),
            Final::InProgress(d) => ("in_progress", d),
        }
    }
}

#[derive(Serialize)]
struct NewDeployment<'a> {
    #[serde(rename = "ref")]
    reference: &'a str,
    task: &'a str,
    /// GitHub would otherwise try to merge the default branch into the ref first.
    auto_merge: bool,
    /// Without it GitHub requires every status check of the commit to have
    /// passed — and this run's own check is still in progress (HTTP 409).
    required_contexts: [&'a str; 0],
    payload: &'a Value,
    environment: &'a str,
    description: &'a str,
}

#[derive(Serialize)]
struct NewStatus<'a> {
    state: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    environment_url: Option<&'a str>,
    description: &'a str,
}

#[derive(Deserialize)]
struct Created {
    id: u64,
}

/// The plan for this run, or `None` when `github-deployment` is off. Bad
/// configuration (no token, no repository or commit) is an input failure.
pub fn prepare(
    settings: &Settings,
    github: Option<&GitHubDeployment>,
    wait_until: WaitUntil,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<Option<Prepared>, Failure> {
    let Some(github) = github else {
        return Ok(None);
    };
    let client = super::client_for(
        "github-deployment",
        PERMISSION,
        settings.github_token.as_deref(),
        env,
    )?;
    let Some(sha) = client.ctx.sha.clone() else {
        return Err(Failure::input(
            "github-deployment",
            "input `github-deployment` needs the commit in GITHUB_SHA, which the runner sets; on the command line, export it",
        ));
    };
    Ok(Some(Prepared {
        client,
        sha,
        environment: github
            .environment
            .clone()
            .unwrap_or_else(|| "production".into()),
        environment_url: github.environment_url.clone(),
        wait_until,
        cluster: settings.cluster.clone(),
    }))
}

fn clip(s: &str) -> String {
    if s.chars().count() <= DESCRIPTION_LIMIT {
        return s.to_string();
    }
    let mut out: String = s.chars().take(DESCRIPTION_LIMIT - 1).collect();
    out.push('…');
    out
}

impl Prepared {
    /// Creates the deployment and marks it in progress, in the background.
    pub fn start(
        self,
        runner: Arc<Runner>,
        description: String,
        payload: Value,
        log_url: Option<String>,
    ) -> Started {
        let plan = self.clone();
        let created = tokio::spawn(async move {
            let route = plan.client.repo_route("/deployments");
            let description = clip(&description);
            let body = NewDeployment {
                reference: &plan.sha,
                task: "deploy",
                auto_merge: false,
                required_contexts: [],
                payload: &payload,
                environment: &plan.environment,
                description: &description,
            };
            let created: Created = plan
                .client
                .send("create the deployment", false, &route, &body)
                .await?;
            runner.info(&format!(
                "GitHub deployment {} to {} created for {}",
                created.id,
                plan.environment,
                &plan.sha[..plan.sha.len().min(12)]
            ));
            plan.status(
                created.id,
                &Final::InProgress(description),
                log_url.as_deref(),
            )
            .await?;
            Ok(created.id)
        });
        Started {
            prepared: self,
            created,
        }
    }

    async fn status(&self, id: u64, end: &Final, log_url: Option<&str>) -> Result<(), GitHubError> {
        let (state, description) = end.state();
        let description = clip(description);
        let body = NewStatus {
            state,
            log_url,
            environment_url: self.environment_url.as_deref(),
            description: &description,
        };
        let route = self
            .client
            .repo_route(&format!("/deployments/{id}/statuses"));
        let _: Value = self
            .client
            .send("post a deployment status", false, &route, &body)
            .await?;
        Ok(())
    }
}

impl Started {
    /// Ends the deployment on GitHub as the run ended (`revisions`
    /// registered, `cancelled` by which signal); returns the line for the job
    /// summary. Bounded in time: a cancelled job is killed seconds after the
    /// signal, so GitHub then gets a short chance only.
    pub async fn conclude(
        self,
        runner: &Runner,
        outcome: &Result<(), Failure>,
        revisions: &[&str],
        paused: bool,
        cancelled: Option<&str>,
        log_url: Option<&str>,
    ) -> String {
        let end = Final::of(
            outcome,
            self.prepared.wait_until,
            paused,
            &self.prepared.cluster,
            revisions,
            cancelled,
        );
        let budget = match cancelled {
            Some(_) => Duration::from_secs(4),
            None => Duration::from_secs(45),
        };
        match tokio::time::timeout(budget, self.finish(runner, end, log_url)).await {
            Ok(line) => line,
            Err(_) => {
                runner.warning(
                    "github-deployment",
                    &format!(
                        "GitHub did not take the final status within {}s; the deployment stays in progress there",
                        budget.as_secs()
                    ),
                );
                "GitHub deployment: the final status was not posted (GitHub did not answer in time)"
                    .to_string()
            }
        }
    }

    /// Posts the final status; every GitHub failure is a warning here.
    async fn finish(self, runner: &Runner, end: Final, log_url: Option<&str>) -> String {
        let env = &self.prepared.environment;
        let id = match self.created.await {
            Ok(Ok(id)) => id,
            Ok(Err(e)) => {
                runner.warning("github-deployment", &e.advice(PERMISSION));
                return format!("GitHub deployment to **{env}**: not created ({e})");
            }
            Err(e) => {
                runner.warning(
                    "github-deployment",
                    &format!("creating the deployment failed: {e}"),
                );
                return format!("GitHub deployment to **{env}**: not created");
            }
        };
        let (state, _) = end.state();
        if matches!(&end, Final::InProgress(d) if d.is_empty()) {
            // Its in_progress status is already there.
        } else if let Err(e) = self.prepared.status(id, &end, log_url).await {
            runner.warning("github-deployment", &e.advice(PERMISSION));
            return format!(
                "GitHub deployment {id} to **{env}**: the `{state}` status was not posted ({e})"
            );
        }
        runner.info(&format!("GitHub deployment {id} to {env}: {state}"));
        if let Err(e) = runner.set_output("github-deployment-id", &id.to_string()) {
            runner.warning("outputs", &e.to_string());
        }
        format!("GitHub deployment {id} to **{env}**: {state}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_final_status_follows_the_run() {
        let ok = Ok(());
        let cluster = "arn:aws:ecs:eu-west-1:123456789012:cluster/prod";
        let revs = ["web:2", "worker:2", "worker:2"];
        assert_eq!(
            Final::of(&ok, WaitUntil::Complete, false, cluster, &revs, None),
            Final::Success("web:2, worker:2 running in prod".into())
        );
        assert_eq!(
            Final::of(
                &ok,
                WaitUntil::TrafficShifted,
                false,
                "prod",
                &revs[..1],
                None
            ),
            Final::Success("traffic shifted to web:2 in prod".into())
        );
        assert_eq!(
            Final::of(&ok, WaitUntil::None, false, "prod", &revs, None),
            Final::InProgress(String::new())
        );
        let failed = Err(Failure::failed("deploy", "deployment of web failed: x"));
        assert_eq!(
            Final::of(&failed, WaitUntil::Complete, false, "prod", &revs, None),
            Final::Failure("deployment of web failed: x".into())
        );
        assert_eq!(
            Final::of(
                &failed,
                WaitUntil::Complete,
                false,
                "prod",
                &revs,
                Some("SIGTERM")
            ),
            Final::Error("cancelled (SIGTERM): deployment of web failed: x".into())
        );
        // wait-until: paused says "paused" only where the run ended paused:
        // a continue whose deployment has no further pause completed.
        assert_eq!(
            Final::of(&ok, WaitUntil::Paused, true, "prod", &revs[..1], None),
            Final::InProgress(
                "paused for approval: web:2 in prod; mode continue resumes it".into()
            )
        );
        assert_eq!(
            Final::of(&ok, WaitUntil::Paused, false, "prod", &revs[..1], None),
            Final::Success("web:2 running in prod".into())
        );
        assert_eq!(
            Final::of(&failed, WaitUntil::Paused, true, "prod", &revs, None),
            Final::Failure("deployment of web failed: x".into())
        );
    }

    /// A cancelled run gives GitHub 4 s, not the whole call bound: the
    /// runner kills the job seconds after the signal.
    #[tokio::test(start_paused = true)]
    async fn a_cancelled_run_gives_a_silent_github_four_seconds() {
        let ctx = crate::github::tests::silent_github(Some("abc"));
        let plan = Prepared {
            client: Client::new("github-deployment", "t", ctx).unwrap(),
            sha: "abc".into(),
            environment: "production".into(),
            environment_url: None,
            wait_until: WaitUntil::Complete,
            cluster: "default".into(),
        };
        let (runner, log) = crate::runner::tests::runner(crate::runner::Face::Actions);
        let runner = Arc::new(runner);
        let started = plan.start(runner.clone(), "d".into(), serde_json::json!({}), None);
        let outcome = Err(Failure::failed(
            "deploy",
            "cancelled (SIGTERM) while waiting",
        ));
        let t0 = tokio::time::Instant::now();
        let line = started
            .conclude(&runner, &outcome, &["web:2"], false, Some("SIGTERM"), None)
            .await;
        assert_eq!(t0.elapsed(), Duration::from_secs(4));
        assert!(line.contains("the final status was not posted"), "{line}");
        assert!(
            log.text().contains(
                "::warning title=github-deployment::GitHub did not take the final status within 4s"
            ),
            "{}",
            log.text()
        );
    }

    #[test]
    fn descriptions_are_clipped_to_githubs_limit() {
        assert_eq!(clip("short"), "short");
        let long = "é".repeat(200);
        let clipped = clip(&long);
        assert_eq!(clipped.chars().count(), DESCRIPTION_LIMIT);
        assert!(clipped.ends_with('…'));
    }

    #[test]
    fn the_deployment_request_skips_status_checks_and_merging() {
        let payload = serde_json::json!({"cluster": "prod"});
        let body = serde_json::to_value(NewDeployment {
            reference: "abc",
            task: "deploy",
            auto_merge: false,
            required_contexts: [],
            payload: &payload,
            environment: "staging",
            description: "d",
        })
        .unwrap();
        assert_eq!(body["ref"], "abc");
        assert_eq!(body["auto_merge"], false);
        assert_eq!(body["required_contexts"], serde_json::json!([]));
        let status = serde_json::to_value(NewStatus {
            state: "success",
            log_url: None,
            environment_url: None,
            description: "d",
        })
        .unwrap();
        assert!(status.get("log_url").is_none() && status.get("environment_url").is_none());
    }
}
