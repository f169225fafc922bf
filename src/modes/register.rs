//! The revisions a run registers: decided from what was read (the family's
//! latest revision) before anything changes, then carried out — each
//! distinct new definition registered once, concurrently.

use std::collections::HashMap;

use serde_json::Value;
use tokio::task::JoinSet;

use super::templates::{Latest, Target};
use crate::aws::Aws;
use crate::error::Failure;
use crate::plan::Revision;
use crate::stages::Stages;
use crate::taskdef::register::Registration;
use crate::taskdef::{api, normalize};

/// Reuse or new, per target: compared with the latest revision read with
/// the template, or read now where that read had failed (a read, before
/// any change).
pub async fn decide(aws: &Aws, targets: &[Target]) -> Result<Vec<Revision>, Failure> {
    let mut unread: Vec<String> = targets
        .iter()
        .filter(|t| matches!(t.latest, Latest::Unread))
        .map(|t| t.rendered.family().to_string())
        .collect();
    unread.sort();
    unread.dedup();
    let reads = unread.into_iter().map(|family| async move {
        let latest = api::describe_task_definition_opt(&aws.ecs, &family).await;
        (family, latest)
    });
    let mut read: HashMap<String, Option<Value>> = HashMap::new();
    for (family, latest) in futures_util::future::join_all(reads).await {
        let latest = latest.map_err(|e| Failure::from_error("task-definition", e))?;
        read.insert(family, latest);
    }
    Ok(targets
        .iter()
        .map(|t| {
            if let Some(arn) = &t.promoted {
                return Revision::Promote { arn: arn.clone() };
            }
            let latest = match &t.latest {
                Latest::Revision(latest) => Some(latest),
                Latest::NoRevision => None,
                Latest::Unread => read[t.rendered.family()].as_ref(),
            };
            Revision::decide(&t.rendered.definition, latest)
        })
        .collect())
}

/// Carries out the decisions: a reused revision is used as it is; each
/// distinct new definition is registered once, concurrently.
pub async fn register_stage(
    stages: &mut Stages<'_>,
    aws: &Aws,
    targets: &[Target],
    decisions: &[Revision],
) -> Result<Vec<Registration>, Failure> {
    stages
        .run("register task definition", async {
            let keys: Vec<String> = targets
                .iter()
                .map(|t| normalize(&t.rendered.definition).to_string())
                .collect();
            let mut calls = JoinSet::new();
            let mut done: HashMap<String, Registration> = HashMap::new();
            for ((t, key), decision) in targets.iter().zip(&keys).zip(decisions) {
                match decision {
                    Revision::Reuse { arn } | Revision::Promote { arn } => {
                        let reused = Registration {
                            arn: arn.clone(),
                            reused: true,
                        };
                        done.insert(key.clone(), reused);
                    }
                    Revision::New { .. } if done.contains_key(key) => {}
                    Revision::New { .. } => {
                        // A placeholder until the call answers: one call per definition.
                        done.insert(
                            key.clone(),
                            Registration {
                                arn: String::new(),
                                reused: false,
                            },
                        );
                        let (ecs, td, key) =
                            (aws.ecs.clone(), t.rendered.definition.clone(), key.clone());
                        calls.spawn(async move {
                            (key, api::register_task_definition(&ecs, &td).await)
                        });
                    }
                }
            }
            while let Some(joined) = calls.join_next().await {
                let (key, arn) = joined.map_err(|e| {
                    Failure::failed("register", format!("registration task failed: {e}"))
                })?;
                done.insert(
                    key,
                    Registration {
                        arn: arn.map_err(|e| Failure::from_error("register", e))?,
                        reused: false,
                    },
                );
            }
            let regs: Vec<Registration> = keys.iter().map(|k| done[k].clone()).collect();
            let promoted = decisions
                .iter()
                .all(|d| matches!(d, Revision::Promote { .. }));
            let line = match (promoted, regs.first()) {
                (true, Some(r)) => format!(
                    "{} (promoted: used as it is, nothing registered)",
                    r.short()
                ),
                _ => summary(&regs),
            };
            Ok((regs.clone(), line))
        })
        .await
}

fn summary(regs: &[Registration]) -> String {
    let mut lines: Vec<String> = Vec::new();
    for r in regs {
        let what = match r.reused {
            true => "reused: identical to the latest revision",
            false => "new revision",
        };
        let line = format!("{} ({what})", r.short());
        if !lines.contains(&line) {
            lines.push(line);
        }
    }
    lines.join("; ")
}
