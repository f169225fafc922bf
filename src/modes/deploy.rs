//! `mode: deploy` — credentials → resolve image → render → verify → plan →
//! register → update service(s) → wait → report.

use std::collections::HashMap;

use anyhow::Context;
use aws_smithy_types::DateTime;
use serde_json::json;

use super::change::change_stage;
use super::prepare;
use super::report::{self, Report};
use super::templates::Target;
use super::templates::row;
use super::wait::{WaitFor, wait_stage};
use crate::artifacts::{self, AppSpecInputs};
use crate::aws::Aws;
use crate::context::RunContext;
use crate::deployment::Updated;
use crate::deployment::apply::{self, Change};
use crate::deployment::assess::Followed;
use crate::deployment::{codedeploy, retention};
use crate::error::{Failure, Outcome};
use crate::inputs::{DeploySettings, Settings};
use crate::plan::{DeployPlan, DeploymentKind, Revision, ServicePlan, Strategy};
use crate::runner::Runner;
use crate::schedules::read;
use crate::stages::Stages;
use crate::taskdef::register::Registration;

pub async fn run(ctx: &RunContext<'_>, d: &DeploySettings, report: &mut Report) -> Outcome {
    let (settings, runner, env) = (ctx.settings, ctx.runner, ctx.env);
    let github =
        crate::github::deployment::prepare(settings, d.github.as_ref(), d.follow.wait_until, env)?;
    let extra = usize::from(d.retention.is_some()) + usize::from(d.schedules.is_some());
    let mut stages = Stages::new(runner, 9 + extra);
    let (aws, images, mut targets) =
        prepare::front_stages(&mut stages, settings, &d.rendering, runner, env, report).await?;
    // Everything the run will do is decided here, from what it read.
    let plan = plan_stage(&mut stages, settings, d, &aws, runner, &targets).await?;
    report.plan = plan.lines();
    // Everything is checked: GitHub hears of the deployment while it is registered.
    if let Some(github) = github {
        report.github_deployment = Some(start_github(ctx, d, github, &targets, &images, report));
    }
    prepare::write_artifacts(settings, &d.rendering, &mut targets, &images, None)?;
    report.rows = targets.iter().map(|t| row(t, false)).collect();

    let decisions: Vec<Revision> = plan.services.iter().map(|s| s.revision.clone()).collect();
    let registrations =
        super::register::register_stage(&mut stages, &aws, &targets, &decisions).await?;
    report.record_registrations(&registrations);
    set_arn_outputs(runner, &targets, &registrations)?;

    let since = DateTime::from(std::time::SystemTime::now());
    // From UpdateService on, a cancelled run says which deployments go on (in the wait).
    let _armed = ctx.cancel.arm();
    let updated = update_stage(
        &mut stages,
        settings,
        d,
        &aws,
        &targets,
        &registrations,
        &plan,
    )
    .await?;
    let cluster = crate::arn::last_segment(&settings.cluster);
    for (r, u) in report.rows.iter_mut().zip(&updated) {
        r.record_deployment(&aws.region, cluster, u);
    }
    set_deployment_outputs(runner, &updated)?;

    let wait = WaitFor {
        settings: &d.follow,
        since,
        fail_fast: plan.fail_fast_targets(),
        continued: Default::default(),
        on_cancel: plan.on_cancel_targets(),
        alarms: plan.alarm_targets(),
    };
    wait_stage(&mut stages, ctx, &aws, &updated, wait, report).await?;
    release_stages(
        &mut stages,
        runner,
        &aws,
        &plan,
        &targets,
        &registrations,
        report,
    )
    .await?;
    let lines: Vec<String> = report.rows.iter().map(report_line).collect();
    stages.report(lines.join("; ")).await
}

/// Once every deployment succeeded, as planned: the scheduled tasks move to
/// the new revisions (`scheduled-tasks`), then retention retires the old
/// ones (`keep-revisions`).
async fn release_stages(
    stages: &mut Stages<'_>,
    runner: &Runner,
    aws: &Aws,
    plan: &DeployPlan,
    targets: &[Target],
    registrations: &[Registration],
    report: &mut Report,
) -> Result<(), Failure> {
    if let Some(decisions) = &plan.schedules {
        let deployed: HashMap<String, String> = plan
            .services
            .iter()
            .zip(registrations)
            .rev() // the first service of a family wins
            .map(|(p, r)| (p.family.clone(), r.arn.clone()))
            .collect();
        report.schedules = super::schedules::move_stage(stages, aws, decisions, &deployed).await?;
    }
    if let Some(retention) = plan.retention {
        let deployed: Vec<(String, String)> = registrations
            .iter()
            .zip(&plan.services)
            .map(|(r, p)| (r.arn.clone(), format!("service {}", p.service)))
            .collect();
        let cluster_arn = targets
            .iter()
            .find_map(|t| t.service.as_ref().and_then(|s| s.cluster_arn()));
        let retiring = Retiring {
            plan,
            cluster_arn,
            deployed,
            retention,
        };
        report.retired = retire_stage(stages, runner, aws, retiring).await;
    }
    Ok(())
}

/// `web web:2: success`: the report stage's line of a service.
fn report_line(r: &report::TargetRow) -> String {
    let revision = r.revision.as_deref().unwrap_or("?");
    format!(
        "{} {revision}: {}",
        r.name,
        r.outcome.as_deref().unwrap_or("?")
    )
}

/// What retention is given: the plan, the cluster's ARN (the scheduled
/// tasks' target), and each deployed revision with why it stays.
struct Retiring<'a> {
    plan: &'a DeployPlan,
    cluster_arn: Option<&'a str>,
    deployed: Vec<(String, String)>,
    retention: crate::inputs::Retention,
}

/// Retires the deployed families' old revisions, as the plan says, never
/// one a scheduled task runs. The release already succeeded: a failure
/// here is a warning, not the run's.
async fn retire_stage(
    stages: &mut Stages<'_>,
    runner: &Runner,
    aws: &Aws,
    r: Retiring<'_>,
) -> Vec<String> {
    let mut named = r.deployed;
    named.extend(r.plan.protected());
    let families = r.plan.families();
    let retired = stages
        .run("retire revisions", async {
            // Read beside retention's own reads; unknown means nothing retired.
            let scheduled = async {
                let Some(arn) = r.cluster_arn else {
                    return Ok(Vec::new());
                };
                read::revisions_in_use(aws.schedule_clients(), &aws.ecs, arn).await.context(
                    "nothing was retired: which revisions the scheduled tasks run is unknown (allow ecs:ListClusters, events:ListRuleNamesByTarget, events:ListTargetsByRule, scheduler:ListSchedules and scheduler:GetSchedule)",
                )
            };
            let cluster = &r.plan.cluster;
            let done =
                retention::retire(&aws.ecs, cluster, &families, &named, scheduled, r.retention)
                    .await;
            let lines = match done {
                Ok(decisions) => decisions.iter().map(|d| d.line()).collect::<Vec<_>>(),
                Err(e) => {
                    let why =
                        format!("retiring old revisions failed (the deployments succeeded): {e:#}");
                    runner.warning("keep-revisions", &why);
                    vec![why]
                }
            };
            Ok::<_, Failure>((lines.clone(), lines.join("; ")))
        })
        .await;
    retired.unwrap_or_default()
}

/// Starts the GitHub Deployment of this run (in the background; it never fails the run).
fn start_github(
    ctx: &RunContext<'_>,
    d: &DeploySettings,
    github: crate::github::deployment::Prepared,
    targets: &[Target],
    images: &[crate::image::ResolvedImage],
    report: &Report,
) -> crate::github::deployment::Started {
    let services: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
    let cluster = crate::arn::last_segment(&ctx.settings.cluster);
    let uris: Vec<&str> = images.iter().map(|i| i.uri.as_str()).collect();
    // The images as given, as the resolve stage names them (promoted: its own).
    let given = match d.rendering.images.is_empty() {
        true => uris.join(", "),
        false => d.rendering.images_given(),
    };
    let mut payload = json!({"cluster": cluster, "services": services, "image": uris.first()});
    if uris.len() > 1 {
        payload["images"] = json!(uris);
    }
    github.start(
        ctx.runner.clone(),
        format!("{given} to {cluster}: {}", services.join(", ")),
        payload,
        report.run_url.clone(),
    )
}

/// `deployment-id` (ECS deployments and service deployments) and
/// `codedeploy-deployment-id`: the id, or a JSON map by service for several.
fn set_deployment_outputs(runner: &Runner, updated: &[Updated]) -> Result<(), Failure> {
    for (output, codedeploy) in [("deployment-id", false), ("codedeploy-deployment-id", true)] {
        let ids: Vec<(&str, &str)> = updated
            .iter()
            .filter(|u| (u.kind == DeploymentKind::CodeDeploy) == codedeploy)
            .map(|u| {
                (
                    u.followed.service.as_str(),
                    u.followed.deployment_id.as_str(),
                )
            })
            .collect();
        let value = match ids.as_slice() {
            [] => continue,
            [(_, id)] => id.to_string(),
            many => json!(many.iter().cloned().collect::<HashMap<_, _>>()).to_string(),
        };
        runner
            .set_output(output, &value)
            .map_err(report::output_failure)?;
    }
    Ok(())
}

/// The plan stage: the plan, printed before anything changes.
async fn plan_stage(
    stages: &mut Stages<'_>,
    settings: &Settings,
    d: &DeploySettings,
    aws: &Aws,
    runner: &Runner,
    targets: &[Target],
) -> Result<DeployPlan, Failure> {
    stages
        .run("plan", async {
            let plan =
                super::deploy_plan::plan(settings, Some(d), d.schedules.as_ref(), aws, targets)
                    .await?;
            for line in plan.lines() {
                runner.info(&line);
            }
            Ok((plan.clone(), plan.headline()))
        })
        .await
}

fn set_arn_outputs(
    runner: &Runner,
    targets: &[Target],
    regs: &[Registration],
) -> Result<(), Failure> {
    let map: serde_json::Map<String, serde_json::Value> = targets
        .iter()
        .zip(regs)
        .map(|(t, r)| (t.name.clone(), json!(r.arn)))
        .collect();
    runner
        .set_output("task-definition-arn", &regs[0].arn)
        .map_err(report::output_failure)?;
    runner
        .set_output(
            "task-definition-arns",
            &serde_json::Value::Object(map).to_string(),
        )
        .map_err(report::output_failure)
}

/// Carries out the plan's updates, all at once: UpdateService for an
/// ECS-controlled service, CreateDeployment for a CodeDeploy one.
async fn update_stage(
    stages: &mut Stages<'_>,
    settings: &Settings,
    d: &DeploySettings,
    aws: &Aws,
    targets: &[Target],
    regs: &[Registration],
    plan: &DeployPlan,
) -> Result<Vec<Updated>, Failure> {
    let changes: Vec<Change> = targets
        .iter()
        .zip(regs)
        .zip(&plan.services)
        .map(|((t, r), p)| change(settings, d, aws, t, r, p))
        .collect();
    change_stage(
        stages,
        "update service",
        "update service",
        changes,
        |_, u| {
            let what = if u.kind == DeploymentKind::CodeDeploy {
                "created CodeDeploy deployment"
            } else if u.new_deployment {
                "started deployment"
            } else {
                "no new deployment (same revision, not forced); following"
            };
            format!(
                "{}: {what} {}",
                u.followed.service, u.followed.deployment_id
            )
        },
    )
    .await
}

/// One service's change, as the plan says.
fn change(
    settings: &Settings,
    d: &DeploySettings,
    aws: &Aws,
    t: &Target,
    r: &Registration,
    p: &ServicePlan,
) -> Change {
    let before = t.service.clone().expect("deploy targets are services");
    let (ecs, cluster, arn) = (aws.ecs.clone(), settings.cluster.clone(), r.arn.clone());
    let Strategy::CodeDeploy(cd) = &p.strategy else {
        let (force, count, kind) = (d.force_new_deployment, d.desired_count, p.strategy.kind());
        return Box::pin(apply::update(ecs, cluster, before, arn, force, count, kind));
    };
    let (spec, _) = artifacts::appspec(&AppSpecInputs {
        rendered: &t.rendered,
        service: t.service.as_ref(),
        container_port: d.rendering.container_port,
        hooks: &d.rendering.codedeploy_hooks,
        task_definition: &arn,
    });
    let yaml = yaml_serde::to_string(&spec).expect("JSON values serialise as YAML");
    let (client, cd) = (aws.codedeploy.clone(), cd.clone());
    let description = format!("fargate-deploy: {} to {}", cd.service, r.short());
    let desired_count = before.desired_count();
    Box::pin(async move {
        let id = codedeploy::create(&client, &cd, &yaml, &description).await?;
        Ok(Updated {
            followed: Followed {
                service: cd.service.clone(),
                deployment_id: id,
                task_definition: arn,
            },
            new_deployment: true,
            desired_count,
            kind: DeploymentKind::CodeDeploy,
            expect_rollback: false,
        })
    })
}
