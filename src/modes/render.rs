//! `mode: render` — credentials (only if AWS is needed) → resolve image →
//! render task definition → verify (findings are warnings) → the plan of
//! what `deploy` would do (with services) → write artifacts. Never mutates AWS.

use super::prepare;
use super::report::{self, Report};
use super::templates::row;
use super::verify::OnFinding;
use crate::context::RunContext;
use crate::error::{Failure, FailureKind, Outcome};
use crate::inputs::RenderSettings;
use crate::stages::Stages;

pub async fn run(ctx: &RunContext<'_>, r: &RenderSettings, report: &mut Report) -> Outcome {
    let (settings, runner, env) = (ctx.settings, ctx.runner, ctx.env);
    let github = crate::github::plan_comment::prepare(settings, r.comment_plan, env)?;
    let needs_aws = prepare::needs_aws(settings, &r.rendering);
    // With services, the plan of what `deploy` would do is a stage too.
    let shows_plan = needs_aws && !settings.services.is_empty();
    let mut stages = Stages::new(runner, 4 + usize::from(needs_aws) + usize::from(shows_plan));
    let aws = match needs_aws {
        true => Some(prepare::credentials_stage(&mut stages, settings, runner, env).await?),
        false => None,
    };
    let services = prepare::prefetch_services(aws.as_ref(), settings);
    // The images' architectures are read while they are resolved and the
    // definitions render.
    let readings = prepare::start_readings(aws.as_ref(), &r.rendering);
    let images = prepare::resolve_stage(&mut stages, &r.rendering, aws.as_ref(), runner).await?;
    report.images = images.clone();
    let architectures = prepare::name_readings(readings, &images, r.rendering.images_input);
    let rendering = &r.rendering;
    let mut targets = super::templates::render_stage(
        &mut stages,
        settings,
        rendering,
        aws.as_ref(),
        services,
        &images,
    )
    .await?;
    let port = rendering.container_port;
    let checks = aws.as_ref();
    let subjects = (targets.as_slice(), architectures);
    super::verify::verify_stage(&mut stages, runner, checks, subjects, port, OnFinding::Warn)
        .await?;
    if let (true, Some(aws)) = (shows_plan, &aws) {
        let schedules = r.schedules.as_ref();
        report.plan = plan_stage(&mut stages, settings, schedules, aws, runner, &targets).await?;
    }
    prepare::artifacts_stage(
        &mut stages,
        settings,
        rendering,
        &mut targets,
        &images,
        runner,
    )
    .await?;

    runner
        .set_output(
            "artifacts-dir",
            &rendering.artifacts_dir.display().to_string(),
        )
        .map_err(report::output_failure)?;
    if let [single] = targets.as_slice()
        && let Some(paths) = &single.artifacts
    {
        runner
            .set_output("task-definition", &paths.rendered.display().to_string())
            .map_err(report::output_failure)?;
    }
    report.rows = targets
        .iter()
        .map(|t| row(t, r.show_environment_values))
        .collect();
    if let Some(client) = &github
        && let Some(line) =
            crate::github::plan_comment::post(client, settings, runner, &report.plan_view()).await
    {
        report.github.push(line);
    }
    Ok(())
}

/// The plan of what `deploy` would do, printed; a service deploy would
/// refuse is a warning, not a failed render.
async fn plan_stage(
    stages: &mut Stages<'_>,
    settings: &crate::inputs::Settings,
    schedules: Option<&crate::schedules::Selection>,
    aws: &crate::aws::Aws,
    runner: &crate::runner::Runner,
    targets: &[super::templates::Target],
) -> Result<Vec<String>, Failure> {
    stages
        .run("plan (what deploy would do)", async {
            let shown =
                shown(super::deploy_plan::plan(settings, None, schedules, aws, targets).await)?;
            match &shown {
                Shown::Plan(lines, _) => lines.iter().for_each(|l| runner.info(l)),
                Shown::Refused(line) => runner.warning("plan", line),
            }
            Ok(match shown {
                Shown::Plan(lines, headline) => (lines, headline),
                Shown::Refused(line) => (vec![line], "deploy would refuse it".into()),
            })
        })
        .await
}

/// What render shows of a deploy's plan.
#[derive(Debug, PartialEq)]
enum Shown {
    /// The plan's lines and headline.
    Plan(Vec<String>, String),
    /// Deploy would refuse a service (a controller it does not drive): news
    /// for the render, not a failed render.
    Refused(String),
}

fn shown(plan: Result<crate::plan::DeployPlan, Failure>) -> Result<Shown, Failure> {
    match plan {
        Ok(plan) => Ok(Shown::Plan(plan.lines(), plan.headline())),
        Err(f) if f.kind == FailureKind::BadInput => Ok(Shown::Refused(format!(
            "mode deploy would refuse this: {}",
            f.headline
        ))),
        Err(f) => Err(f),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_deploy_would_refuse_is_shown_not_failed() {
        let refused = shown(Err(Failure::input(
            "service",
            "service ext uses the EXTERNAL deployment controller, which fargate-deploy does not drive",
        )));
        assert_eq!(
            refused.unwrap(),
            Shown::Refused("mode deploy would refuse this: service ext uses the EXTERNAL deployment controller, which fargate-deploy does not drive".into())
        );
        let failed = shown(Err(Failure::failed(
            "task-definition",
            "DescribeTaskDefinition failed",
        )));
        assert_eq!(
            failed.unwrap_err().headline,
            "DescribeTaskDefinition failed"
        );
        let plan = crate::plan::DeployPlan {
            cluster: "prod".into(),
            services: vec![],
            wait: None,
            fail_fast: false,
            rollback_on_cancel: false,
            retention: None,
            schedules: None,
        };
        assert_eq!(
            shown(Ok(plan)).unwrap(),
            Shown::Plan(
                vec![],
                "0 service(s) in prod: 0 new revision(s) to register, 0 reused; ".into()
            )
        );
    }
}
