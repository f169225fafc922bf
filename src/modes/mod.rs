//! One file per mode; `prepare` holds the stages they share and `report`
//! what every run tells at its end.

pub mod deploy;
pub mod migrate;
pub mod prepare;
pub mod render;
pub mod report;
pub mod rollback;

use std::sync::Arc;
use std::time::Instant;

use crate::error::Failure;
use crate::inputs::{Mode, Settings};
use crate::runner::Runner;

/// Runs the mode and reports; returns the failure, if any, after it was reported.
pub async fn run(
    settings: &Settings,
    runner: &Arc<Runner>,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<(), Failure> {
    let started = Instant::now();
    let mut report = report::Report::new(settings.mode);
    report.run_url = report::run_url(env);
    let cancel = crate::poll::Cancel::current();
    let outcome = tokio::select! {
        outcome = async {
            match settings.mode {
                Mode::Render => render::run(settings, runner, env, &mut report).await,
                Mode::Deploy => deploy::run(settings, runner, env, &mut report).await,
                Mode::Migrate => migrate::run(settings, runner, env, &mut report).await,
                Mode::Rollback => rollback::run(settings, runner, env, &mut report).await,
            }
        } => outcome,
        // Stages that start something in AWS arm the handle and clean up themselves.
        signal = cancel.unarmed() => Err(Failure::failed(
            "cancelled",
            format!("the workflow run was cancelled ({signal}) before any task or deployment was started"),
        )),
    };
    if let Some(github) = report.github_deployment.take() {
        let revisions: Vec<&str> = report
            .rows
            .iter()
            .filter_map(|r| r.revision.as_deref())
            .collect();
        let end = crate::github::deployment::Final::of(
            &outcome,
            settings.wait_until,
            &settings.cluster,
            &revisions,
            cancel.fired(),
        );
        // A cancelled job is killed seconds after the signal: GitHub gets a short chance.
        let budget = match cancel.fired() {
            Some(_) => std::time::Duration::from_secs(4),
            None => std::time::Duration::from_secs(45),
        };
        let finish = github.finish(runner, end, report.run_url.as_deref());
        let line = match tokio::time::timeout(budget, finish).await {
            Ok(line) => line,
            Err(_) => {
                runner.warning(
                    "github-deployment",
                    &format!("GitHub did not take the final status within {}s; the deployment stays in progress there", budget.as_secs()),
                );
                "GitHub deployment: the final status was not posted (GitHub did not answer in time)"
                    .to_string()
            }
        };
        report.github.push(line);
    }
    report::finish(runner, &report, &outcome, started.elapsed());
    outcome
}
