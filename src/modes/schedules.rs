//! The scheduled-tasks stage of deploy and rollback: the plan's moves,
//! made once every deployment succeeded.

use std::collections::HashMap;

use crate::aws::Aws;
use crate::error::Failure;
use crate::schedules::{Decision, apply};
use crate::stages::Stages;

/// Moves the scheduled tasks as the plan decided; returns the summary's
/// lines. A move that fails fails the run (exit 1), naming what moved and
/// what still runs the old revision: the deployments themselves succeeded.
pub async fn move_stage(
    stages: &mut Stages<'_>,
    aws: &Aws,
    decisions: &[Decision],
    deployed: &HashMap<String, String>,
) -> Result<Vec<String>, Failure> {
    stages
        .run("move scheduled tasks", async {
            let moved = apply::move_all(aws.schedule_clients(), decisions, deployed).await;
            if !moved.failed.is_empty() {
                let mut failure = Failure::failed(
                    "scheduled-tasks",
                    format!(
                        "the deployments succeeded, but {} scheduled task(s) could not be moved and still run the old revision",
                        moved.failed.len()
                    ),
                );
                for line in moved.failed.iter().chain(&moved.moved) {
                    failure = failure.with_detail(line.clone());
                }
                return Err(failure);
            }
            let lines = match moved.moved.is_empty() {
                true => vec!["no scheduled task to move".to_string()],
                false => moved.moved,
            };
            Ok((lines.clone(), lines.join("; ")))
        })
        .await
}
