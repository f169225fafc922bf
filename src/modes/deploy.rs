//! `mode: deploy` — credentials → resolve image → render → register →
//! update service(s) → wait → report.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_smithy_types::DateTime;
use serde_json::json;
use tokio::task::JoinSet;

use super::prepare::{self, Target};
use super::render::row;
use super::report::{self, Report};
use crate::artifacts::{self, AppSpecInputs};
use crate::aws::Aws;
use crate::deploy::assess::{Followed, Verdict};
use crate::deploy::codedeploy::{self, CodeDeployTarget};
use crate::deploy::native;
use crate::deploy::wait::{WaitResult, wait_all};
use crate::deploy::{Updated, update_service};
use crate::error::Failure;
use crate::inputs::{Settings, WaitUntil};
use crate::poll::PollSchedule;
use crate::runner::Runner;
use crate::stages::Stages;
use crate::taskdef::register::Registration;

pub async fn run(
    settings: &Settings,
    runner: &Arc<Runner>,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
    report: &mut Report,
) -> Result<(), Failure> {
    let github = crate::github::deployment::prepare(settings, env)?;
    let mut stages = Stages::new(runner, 7);
    let (aws, image, mut targets) =
        prepare::front_stages(&mut stages, settings, runner, env, report).await?;
    let codedeploy = check_controllers(settings, &aws, &targets).await?;
    // Everything is checked: GitHub hears of the deployment while it is registered.
    if let Some(github) = github {
        let services: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
        let cluster = crate::arn::last_segment(&settings.cluster);
        report.github_deployment = Some(github.start(
            runner.clone(),
            // The image as given, as the resolve stage names it.
            format!(
                "{} to {cluster}: {}",
                settings.image.as_ref().expect("checked by Settings::parse"),
                services.join(", ")
            ),
            json!({"cluster": cluster, "services": services, "image": image.uri}),
            report.run_url.clone(),
        ));
    }
    prepare::write_artifacts(settings, &mut targets, &image, None)?;
    report.rows = targets.iter().map(|t| row(t, false)).collect();

    let registrations = prepare::register_stage(&mut stages, &aws, &targets).await?;
    report.record_registrations(&registrations);
    set_arn_outputs(runner, &targets, &registrations)?;

    let since = DateTime::from(std::time::SystemTime::now());
    // From UpdateService on, a cancelled run says which deployments go on (in the wait).
    let _armed = crate::poll::Cancel::current().arm();
    let updated = update_stage(
        &mut stages,
        settings,
        &aws,
        &targets,
        &registrations,
        &codedeploy,
    )
    .await?;
    let cluster = crate::arn::last_segment(&settings.cluster);
    for (r, u) in report.rows.iter_mut().zip(&updated) {
        r.record_deployment(&aws.region, cluster, u);
    }
    for (output, codedeploy) in [("deployment-id", false), ("codedeploy-deployment-id", true)] {
        let ids: Vec<(&str, &str)> = updated
            .iter()
            .filter(|u| u.codedeploy == codedeploy)
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

    wait_stage(&mut stages, settings, &aws, runner, &updated, since, report).await?;
    stages
        .run("report", async {
            let lines: Vec<String> = report
                .rows
                .iter()
                .map(|r| {
                    format!(
                        "{} {}: {}",
                        r.name,
                        r.revision.as_deref().unwrap_or("?"),
                        r.outcome.as_deref().unwrap_or("?")
                    )
                })
                .collect();
            Ok(((), lines.join("; ")))
        })
        .await
}

/// ECS-controlled services roll; CODE_DEPLOY ones get a CodeDeploy
/// deployment, whose application and group must exist; anything else is
/// refused. All checked before anything is registered.
async fn check_controllers(
    settings: &Settings,
    aws: &Aws,
    targets: &[Target],
) -> Result<Vec<Option<CodeDeployTarget>>, Failure> {
    let mut plans = Vec::new();
    for t in targets {
        let controller = t
            .service
            .as_ref()
            .and_then(|s| s.deployment_controller())
            .map(|c| c.r#type().as_str().to_string());
        match controller.as_deref() {
            None | Some("ECS") => plans.push(None),
            Some("CODE_DEPLOY") => {
                let cd = CodeDeployTarget::new(
                    &settings.cluster,
                    &t.name,
                    settings.codedeploy_application.as_deref(),
                    settings.codedeploy_deployment_group.as_deref(),
                    settings.codedeploy_deployment_config.as_deref(),
                );
                codedeploy::check(&aws.codedeploy, &cd).await?;
                plans.push(Some(cd));
            }
            Some(other) => {
                return Err(Failure::input(
                    "service",
                    format!(
                        "service {} uses the {other} deployment controller, which fargate-deploy does not drive; deploy it with its own controller",
                        t.name
                    ),
                ));
            }
        }
    }
    Ok(plans)
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

async fn update_stage(
    stages: &mut Stages<'_>,
    settings: &Settings,
    aws: &Aws,
    targets: &[Target],
    regs: &[Registration],
    codedeploy: &[Option<CodeDeployTarget>],
) -> Result<Vec<Updated>, Failure> {
    stages
        .run("update service", async {
            let mut calls = JoinSet::new();
            for (i, ((t, r), cd)) in targets.iter().zip(regs).zip(codedeploy).enumerate() {
                let before = t.service.clone().expect("deploy targets are services");
                let (ecs, cluster, arn) =
                    (aws.ecs.clone(), settings.cluster.clone(), r.arn.clone());
                let (force, count) = (settings.force_new_deployment, settings.desired_count);
                match cd.clone() {
                    None => {
                        calls.spawn(async move {
                            (
                                i,
                                update_native_aware(&ecs, &cluster, &before, &arn, force, count)
                                    .await,
                            )
                        });
                    }
                    Some(cd) => {
                        let (spec, _) = artifacts::appspec(&AppSpecInputs {
                            rendered: &t.rendered,
                            service: t.service.as_ref(),
                            container_port: settings.container_port,
                            hooks: &settings.codedeploy_hooks,
                            task_definition: &arn,
                        });
                        let yaml =
                            yaml_serde::to_string(&spec).expect("JSON values serialise as YAML");
                        let client = aws.codedeploy.clone();
                        let description =
                            format!("fargate-deploy: {} to {}", cd.service, r.short());
                        let desired = before.desired_count();
                        calls.spawn(async move {
                            let created = codedeploy::create(&client, &cd, &yaml, &description)
                                .await
                                .map(|id| Updated {
                                    followed: Followed {
                                        service: cd.service.clone(),
                                        deployment_id: id,
                                        task_definition: arn,
                                    },
                                    new_deployment: true,
                                    desired_count: desired,
                                    codedeploy: true,
                                    native: false,
                                    expect_rollback: false,
                                });
                            (i, created)
                        });
                    }
                }
            }
            let mut results: Vec<(usize, Result<Updated, Failure>)> = Vec::new();
            while let Some(joined) = calls.join_next().await {
                results.push(joined.map_err(|e| {
                    Failure::failed("update service", format!("update task failed: {e}"))
                })?);
            }
            results.sort_by_key(|(i, _)| *i);
            let failed: Vec<&Failure> = results
                .iter()
                .filter_map(|(_, r)| r.as_ref().err())
                .collect();
            if let Some(first) = failed.first() {
                let mut f = Failure::failed("update service", first.headline.clone());
                for (_, r) in &results {
                    if let Ok(u) = r {
                        f = f.with_detail(format!(
                            "{} was updated (deployment {}) and continues on its own",
                            u.followed.service, u.followed.deployment_id
                        ));
                    }
                }
                return Err(f);
            }
            let updated: Vec<Updated> = results
                .into_iter()
                .map(|(_, r)| r.expect("checked"))
                .collect();
            let lines: Vec<String> = updated
                .iter()
                .map(|u| {
                    let what = if u.codedeploy {
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
                })
                .collect();
            Ok((updated, lines.join("; ")))
        })
        .await
}

pub(super) async fn wait_stage(
    stages: &mut Stages<'_>,
    settings: &Settings,
    aws: &Aws,
    runner: &Runner,
    updated: &[Updated],
    since: DateTime,
    report: &mut Report,
) -> Result<(), Failure> {
    stages
        .run("wait for deployment", async {
            if settings.wait_until == WaitUntil::None {
                for r in &mut report.rows {
                    r.outcome = Some("not waited for".into());
                }
                return Ok(((), "not waiting (wait-until: none)".to_string()));
            }
            let mut results = Vec::new();
            let mut follow = Vec::new();
            let mut codedeploy_follows = Vec::new();
            let mut native_follows = Vec::new();
            for u in updated {
                if u.native {
                    let until_traffic = settings.wait_until == WaitUntil::TrafficShifted;
                    native_follows.push(native::follow(&aws.ecs, runner, u.followed.clone(), settings.timeout, until_traffic, u.expect_rollback, PollSchedule::default()));
                } else if u.codedeploy {
                    let until_traffic = settings.wait_until == WaitUntil::TrafficShifted;
                    codedeploy_follows.push(codedeploy::follow(&aws.codedeploy, runner, u.followed.clone(), settings.timeout, until_traffic, PollSchedule::default()));
                } else if u.desired_count == 0 {
                    runner.notice("deploy", &format!("{} has desired count 0: nothing to start; it is set to {} and will run it when scaled up", u.followed.service, crate::arn::last_segment(&u.followed.task_definition)));
                    results.push(WaitResult { followed: u.followed.clone(), verdict: Verdict::Succeeded, last_events: vec![], stopped_reasons: vec![], took: Duration::ZERO });
                } else {
                    follow.push(u.followed.clone());
                }
            }
            // A deployment UpdateService has just started is IN_PROGRESS: the
            // first poll waits a second, unless one was not new (it may be done).
            let mut schedule = PollSchedule::default();
            if updated.iter().filter(|u| !u.native && !u.codedeploy).all(|u| u.new_deployment) {
                schedule = schedule.waiting_first();
            }
            // Rolling and CodeDeploy deployments are followed at the same time.
            let rolling = wait_all(&aws.ecs, runner, &settings.cluster, follow, Some(since), settings.timeout, schedule);
            let all = async {
                tokio::join!(
                    rolling,
                    futures_util::future::join_all(codedeploy_follows),
                    futures_util::future::join_all(native_follows)
                )
            };
            // A cancelled workflow run ends the wait at once; the deployments go on in AWS.
            let cancel = crate::poll::Cancel::current();
            let (rolled, deployed, natively) = tokio::select! {
                all = all => all,
                signal = cancel.signalled() => {
                    for r in &mut report.rows {
                        r.outcome = Some("cancelled while deploying".into());
                    }
                    let ids: Vec<String> = updated.iter().map(|u| format!("{} ({})", u.followed.service, u.followed.deployment_id)).collect();
                    return Err(Failure::failed("deploy", format!(
                        "cancelled ({signal}) while waiting; the deployments go on in AWS without being watched: {}",
                        ids.join(", ")
                    )));
                }
            };
            results.extend(rolled);
            results.extend(deployed);
            results.extend(natively);
            let ok = record(report, &results)?;
            Ok(((), format!("{ok} of {} deployments completed", updated.len())))
        })
        .await
}

/// Puts each result in its report row; fails if any deployment failed.
fn record(report: &mut Report, results: &[WaitResult]) -> Result<usize, Failure> {
    let mut failures = Vec::new();
    let mut ok = 0;
    for r in &mut report.rows {
        let Some(res) = results.iter().find(|w| w.followed.service == r.name) else {
            continue;
        };
        r.took = Some(res.took);
        match &res.verdict {
            Verdict::Succeeded => {
                ok += 1;
                r.outcome = Some("success".into());
            }
            Verdict::Failed {
                reason,
                rolled_back,
            } => {
                r.outcome = Some(if *rolled_back {
                    "rolled back".into()
                } else {
                    "failure".into()
                });
                r.failure = Some((
                    reason.clone(),
                    res.last_events.clone(),
                    res.stopped_reasons.clone(),
                ));
                failures.push((r.name.clone(), reason.clone(), res));
            }
            Verdict::Waiting(_) => r.outcome = Some("unknown".into()),
        }
    }
    let Some((name, reason, first)) = failures.first() else {
        return Ok(ok);
    };
    let headline = if failures.len() == 1 {
        format!("deployment of {name} failed: {reason}")
    } else {
        format!(
            "{} of {} services failed; {name}: {reason}",
            failures.len(),
            report.rows.len()
        )
    };
    let mut f = Failure::failed("deploy", headline);
    for (other, why, _) in failures.iter().skip(1) {
        f = f.with_detail(format!("{other}: {why}"));
    }
    for e in &first.last_events {
        f = f.with_detail(format!("event: {e}"));
    }
    for s in &first.stopped_reasons {
        f = f.with_detail(format!("stopped {s}"));
    }
    Err(f)
}

/// UpdateService; for a native BLUE_GREEN/LINEAR/CANARY service the
/// deployment followed is the service deployment the update created.
pub(super) async fn update_native_aware(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    before: &aws_sdk_ecs::types::Service,
    task_definition: &str,
    force: bool,
    desired_count: Option<i32>,
) -> Result<Updated, Failure> {
    let since = DateTime::from(std::time::SystemTime::now());
    let mut updated =
        update_service(ecs, cluster, before, task_definition, force, desired_count).await?;
    if native::strategy(before).is_some() && updated.new_deployment {
        updated.followed.deployment_id =
            native::created_since(ecs, cluster, &updated.followed.service, since).await?;
        updated.native = true;
    }
    Ok(updated)
}
