//! What a run tells at its end: outputs (`image`, `image-digest`, `result`)
//! and the job summary, for success and failure alike.

use std::time::Duration;

use serde_json::{Value, json};

use crate::deployment::Updated;
use crate::error::Failure;
use crate::image::ResolvedImage;
use crate::inputs::Mode;
use crate::markdown::code;
use crate::runner::{Runner, RunnerError};
use crate::taskdef::diff::Change;
use crate::taskdef::register::Registration;

/// One rendered (and perhaps deployed) target.
#[derive(Debug, Clone, Default)]
pub struct TargetRow {
    pub name: String,
    pub family: String,
    pub containers: Vec<String>,
    pub origin: String,
    pub artifacts: Option<String>,
    /// `family:revision` registered or reused.
    pub revision: Option<String>,
    pub task_definition_arn: Option<String>,
    pub reused: Option<bool>,
    pub deployment: Option<String>,
    /// "success" / "failure" / "rolled back" / "not waited for".
    pub outcome: Option<String>,
    pub took: Option<Duration>,
    /// Why it failed, the last events, the stopped tasks' reasons.
    pub failure: Option<(String, Vec<String>, Vec<String>)>,
    /// On failure, the last log lines of some of the stopped tasks.
    pub crash_logs: Vec<crate::deployment::crashed::CrashLog>,
    /// On failure, each watching CloudWatch alarm in ALARM and why.
    pub alarms: Vec<String>,
    /// Console links for people: (what, URL).
    pub links: Vec<(&'static str, String)>,
    /// Mode render: what would change against the revision the service runs.
    pub plan: Option<(String, Vec<Change>)>,
    /// `wait-until: paused`: where its deployment awaits mode continue.
    pub paused: Option<crate::deployment::assess::PausedAt>,
}

impl TargetRow {
    /// The deployment that UpdateService or CodeDeploy started, with its console links.
    pub fn record_deployment(&mut self, region: &str, cluster: &str, u: &Updated) {
        self.deployment = Some(u.followed.deployment_id.clone());
        self.links = vec![(
            "service",
            crate::service::console_url(region, cluster, &u.followed.service),
        )];
        if u.kind == crate::plan::DeploymentKind::CodeDeploy {
            self.links.push((
                "CodeDeploy deployment",
                crate::deployment::codedeploy::console_url(region, &u.followed.deployment_id),
            ));
        }
    }
}

#[derive(Debug)]
pub struct Report {
    pub mode: Mode,
    /// The images deployed, in `IMAGE1_NAME`… order (promotion: the
    /// revision's own).
    pub images: Vec<ResolvedImage>,
    /// The cluster's name (the summary's table says it).
    pub cluster: Option<String>,
    pub rows: Vec<TargetRow>,
    /// The last lines of the migration's log (migrate).
    pub migration_log: Vec<String>,
    /// The migration container's exit code (migrate).
    pub exit_code: Option<i32>,
    /// This workflow run on GitHub.
    pub run_url: Option<String>,
    /// The GitHub Deployment of this run, until its final status is posted.
    pub github_deployment: Option<crate::github::deployment::Started>,
    /// What was told to GitHub (deployment status, plan comment), for the summary.
    pub github: Vec<String>,
    /// The plan the run printed before it changed anything (deploy).
    pub plan: Vec<String>,
    /// What retention did, a line per family (`keep-revisions`).
    pub retired: Vec<String>,
    /// The scheduled tasks moved (deploy, rollback).
    pub schedules: Vec<String>,
}

pub fn output_failure(e: RunnerError) -> Failure {
    Failure::failed("outputs", e.to_string())
}

impl Report {
    /// The first image (`IMAGE1_NAME`): the `image` output.
    pub fn image(&self) -> Option<&ResolvedImage> {
        self.images.first()
    }

    pub fn image_uris(&self) -> Vec<&str> {
        self.images.iter().map(|i| i.uri.as_str()).collect()
    }

    pub fn new(mode: Mode) -> Self {
        Self {
            mode,
            images: Vec::new(),
            cluster: None,
            rows: Vec::new(),
            migration_log: Vec::new(),
            exit_code: None,
            run_url: None,
            github_deployment: None,
            github: Vec::new(),
            plan: Vec::new(),
            retired: Vec::new(),
            schedules: Vec::new(),
        }
    }

    /// Each row's revision, ARN and whether it was reused (rows and registrations in target order).
    pub fn record_registrations(&mut self, regs: &[Registration]) {
        for (r, reg) in self.rows.iter_mut().zip(regs) {
            r.revision = Some(reg.short().to_string());
            r.task_definition_arn = Some(reg.arn.clone());
            r.reused = Some(reg.reused);
        }
    }

    /// The `result` output: a JSON summary of the run.
    pub fn result_json(&self, outcome: &Result<(), Failure>, took: Duration) -> Value {
        let mut v = json!({
            "mode": self.mode.name(),
            "result": if outcome.is_ok() { "success" } else { "failure" },
            "duration-seconds": (took.as_secs_f64() * 10.0).round() / 10.0,
            "targets": self.rows.iter().map(|r| {
                let mut t = json!({
                    "name": r.name,
                    "family": r.family,
                    "containers": r.containers,
                    "template": r.origin,
                    "artifacts-dir": r.artifacts,
                });
                if let Some(rev) = &r.task_definition_arn { t["task-definition-arn"] = json!(rev); }
                if let Some(reused) = r.reused { t["reused"] = json!(reused); }
                if let Some(d) = &r.deployment { t["deployment-id"] = json!(d); }
                if let Some(o) = &r.outcome { t["result"] = json!(o); }
                if let Some(took) = r.took { t["duration-seconds"] = json!((took.as_secs_f64() * 10.0).round() / 10.0); }
                if let Some((reason, _, _)) = &r.failure { t["reason"] = json!(reason); }
                t
            }).collect::<Vec<_>>(),
        });
        if let Some(img) = self.image() {
            v["image"] = json!(img.uri);
            v["image-digest"] = json!(img.digest);
        }
        if self.images.len() > 1 {
            v["images"] = json!(self.image_uris());
        }
        if let Err(f) = outcome {
            v["reason"] = json!(f.headline);
            v["exit-code"] = json!(f.kind.exit_code());
        }
        v
    }
}

impl Report {
    /// What the pull-request comment of a render shows.
    pub fn plan_view(&self) -> crate::github::plan_comment::PlanView {
        crate::github::plan_comment::PlanView {
            image_uris: self.image_uris().into_iter().map(str::to_string).collect(),
            targets: self.rows.iter().map(|r| r.name.clone()).collect(),
            changing: self
                .rows
                .iter()
                .filter_map(|r| r.plan.as_ref())
                .map(|(_, changes)| !changes.is_empty())
                .collect(),
            markdown: self.plan_markdown(),
            run_url: self.run_url.clone(),
        }
    }

    /// Mode render: per target, what would change against the revision its
    /// service runs (the job summary and the pull-request comment show it).
    pub fn plan_markdown(&self) -> String {
        let mut md = String::new();
        for r in &self.rows {
            let Some((running, changes)) = &r.plan else {
                continue;
            };
            if changes.is_empty() {
                md.push_str(&format!(
                    "**{}** — no change against the running {}\n\n",
                    code(&r.name),
                    code(running)
                ));
                continue;
            }
            md.push_str(&format!(
                "**{}** — against the running {}:\n\n",
                code(&r.name),
                code(running)
            ));
            let rows = changes
                .iter()
                .map(|c| vec![code(&c.what), code(&c.before), code(&c.after)]);
            md.push_str(&crate::markdown::table(" | running | rendered", rows));
        }
        md
    }
}

/// `$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID/attempts/$GITHUB_RUN_ATTEMPT`.
pub fn run_url(env: &(dyn Fn(&str) -> Option<String> + Sync)) -> Option<String> {
    let server = env("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".into());
    let repo = env("GITHUB_REPOSITORY")?;
    let id = env("GITHUB_RUN_ID")?;
    let mut url = format!("{}/{repo}/actions/runs/{id}", server.trim_end_matches('/'));
    if let Some(attempt) = env("GITHUB_RUN_ATTEMPT") {
        url.push_str(&format!("/attempts/{attempt}"));
    }
    Some(url)
}

fn short_digest(d: &str) -> &str {
    let end = "sha256:".len() + 12;
    if d.len() > end { &d[..end] } else { d }
}

/// Writes outputs and the summary. Errors here are reported but never
/// change a run's result.
pub fn finish(runner: &Runner, report: &Report, outcome: &Result<(), Failure>, took: Duration) {
    let mut outputs: Vec<(&str, String)> =
        vec![("result", report.result_json(outcome, took).to_string())];
    if let Some(img) = report.image() {
        outputs.push(("image", img.uri.clone()));
        if let Some(d) = &img.digest {
            outputs.push(("image-digest", d.clone()));
        }
        outputs.push(("images", json!(report.image_uris()).to_string()));
    }
    for (name, value) in outputs {
        if let Err(e) = runner.set_output(name, &value) {
            runner.warning("outputs", &e.to_string());
        }
    }
    if let Err(e) = runner.append_summary(&report.summary_markdown(outcome, took)) {
        runner.warning("summary", &e.to_string());
    }
}

mod summary;

#[cfg(test)]
mod tests;
