//! The stage that changes the services, as the plan says — deploy's
//! "update service", rollback's "roll back", continue's "continue": every
//! change at once ([`apply_all`]), then one line per service.

use crate::deployment::Updated;
use crate::deployment::apply::{Change, apply_all};
use crate::error::Failure;
use crate::stages::Stages;

/// Runs stage `name`: the `changes` (one per service, in plan order; a
/// failure's annotation is titled `title`), and its result line, what
/// `line` says of each change (its index in plan order, what it did).
pub async fn change_stage(
    stages: &mut Stages<'_>,
    name: &str,
    title: &str,
    changes: Vec<Change>,
    line: impl Fn(usize, &Updated) -> String,
) -> Result<Vec<Updated>, Failure> {
    stages
        .run(name, async {
            let updated = apply_all(title, changes).await?;
            let lines: Vec<String> = updated
                .iter()
                .enumerate()
                .map(|(i, u)| line(i, u))
                .collect();
            Ok((updated, lines.join("; ")))
        })
        .await
}
