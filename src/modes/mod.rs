//! One file per mode (render, migrate, deploy, continue in `resume`,
//! rollback), none importing
//! another; what they share is in its own module: `prepare` (credentials,
//! image), `templates` (rendering), `deploy_plan` (the plan), `register`
//! (reuse or new, then RegisterTaskDefinition), `change` (the stage that
//! changes the services), `schedules` (moving the scheduled tasks), `wait`
//! (following deployments) and `report` (what every run tells at its end).

pub mod change;
pub mod deploy;
pub mod deploy_plan;
pub mod migrate;
pub mod prepare;
pub mod promote;
pub mod register;
pub mod render;
pub mod report;
pub mod resume;
pub mod rollback;
pub mod schedules;
pub mod templates;
pub mod verify;
pub mod wait;

use std::time::Instant;

use crate::context::RunContext;
use crate::error::Failure;
use crate::inputs::ModeSettings;

/// Runs the mode and reports; returns the failure, if any, after it was reported.
pub async fn run(ctx: &RunContext<'_>) -> crate::error::Outcome {
    let (settings, runner, env) = (ctx.settings, ctx.runner, ctx.env);
    let started = Instant::now();
    let mut report = report::Report::new(settings.mode());
    report.run_url = report::run_url(env);
    report.cluster = Some(crate::arn::last_segment(&settings.cluster).to_string());
    let cancel = &ctx.cancel;
    let outcome = tokio::select! {
        outcome = async {
            // Each mode's future is large: boxed, it lives on the heap,
            // not in this one's layout.
            match &settings.mode {
                ModeSettings::Render(r) => Box::pin(render::run(ctx, r, &mut report)).await,
                ModeSettings::Deploy(d) => Box::pin(deploy::run(ctx, d, &mut report)).await,
                ModeSettings::Migrate(m) => Box::pin(migrate::run(ctx, m, &mut report)).await,
                ModeSettings::Continue(c) => Box::pin(resume::run(ctx, c, &mut report)).await,
                ModeSettings::Rollback(r) => Box::pin(rollback::run(ctx, r, &mut report)).await,
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
        let line = github
            .conclude(
                runner,
                &outcome,
                &revisions,
                report.rows.iter().any(|r| r.paused.is_some()),
                cancel.fired(),
                report.run_url.as_deref(),
            )
            .await;
        report.github.push(line);
    }
    report::finish(runner, &report, &outcome, started.elapsed());
    outcome
}
