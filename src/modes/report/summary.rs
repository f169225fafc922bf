//! The job summary: one section per concern, in the order a person reads
//! them — what ran, the table, why it failed, the plan, the migration's
//! exit and log, links, GitHub, the run. Every piece of text from AWS,
//! containers or inputs goes through `markdown` (code spans, escaped prose,
//! safe fences).

use std::time::Duration;

use super::{Report, TargetRow, short_digest};
use crate::error::Failure;
use crate::inputs::Mode;
use crate::markdown::{code, fenced, table, text};
use crate::stages::elapsed;

impl Report {
    /// The job summary's markdown.
    pub fn summary_markdown(&self, outcome: &Result<(), Failure>, took: Duration) -> String {
        let mut md = self.heading(outcome);
        if self.mode == Mode::Render && !self.rows.is_empty() {
            md.push_str(&self.render_table(outcome, took));
            md.push_str(&self.plan_markdown());
        } else if !self.rows.is_empty() {
            md.push_str(&self.service_table(outcome));
            md.push_str(&self.failures());
        }
        if !self.plan.is_empty() {
            md.push_str(&format!(
                "<details><summary>Plan</summary>\n\n{}\n</details>\n\n",
                fenced("text", &self.plan)
            ));
        }
        if !self.schedules.is_empty() {
            md.push_str(&format!(
                "<details><summary>Scheduled tasks moved</summary>\n\n{}\n</details>\n\n",
                fenced("text", &self.schedules)
            ));
        }
        if !self.retired.is_empty() {
            md.push_str(&format!(
                "<details><summary>Revisions retired</summary>\n\n{}\n</details>\n\n",
                fenced("text", &self.retired)
            ));
        }
        if self.mode == Mode::Migrate && !self.rows.is_empty() {
            md.push_str(&self.migration());
        }
        md.push_str(&self.links());
        if let Err(f) = outcome {
            md.push_str(&self.reason(f));
        }
        for line in &self.github {
            md.push_str(&format!("{line}\n\n"));
        }
        if let Some(url) = &self.run_url {
            md.push_str(&format!("[This workflow run]({url})\n"));
        }
        md
    }

    fn heading(&self, outcome: &Result<(), Failure>) -> String {
        let paused = self.rows.iter().any(|r| r.paused.is_some());
        let (icon, what) = match outcome {
            Ok(()) if paused => ("⏸️", "paused for approval (mode continue resumes it)"),
            Ok(()) => ("✅", "succeeded"),
            Err(_) => ("❌", "failed"),
        };
        let mut md = format!(
            "### {icon} fargate-deploy {} — {what}\n\n",
            self.mode.name()
        );
        match self.images.as_slice() {
            [] => {}
            [img] => md.push_str(&format!("Image: {}\n\n", code(&img.uri))),
            all => {
                md.push_str("Images:\n\n");
                for (i, img) in all.iter().enumerate() {
                    let name = crate::artifacts::image_name(i + 1);
                    md.push_str(&format!("- {name}: {}\n", code(&img.uri)));
                }
                md.push('\n');
            }
        }
        md
    }

    fn digest(&self) -> String {
        let digests: Vec<String> = self
            .images
            .iter()
            .filter_map(|i| i.digest.as_deref())
            .map(|d| format!("`{}`", short_digest(d)))
            .collect();
        match digests.is_empty() {
            true => "—".into(),
            false => digests.join(", "),
        }
    }

    fn render_table(&self, outcome: &Result<(), Failure>, took: Duration) -> String {
        let result = match outcome {
            Ok(()) => "success",
            Err(_) => "failure",
        };
        let headers = "target | family | containers | template | image digest | artifacts | duration | result";
        let rows = self.rows.iter().map(|r| {
            vec![
                code(&r.name),
                code(&r.family),
                code(&r.containers.join(", ")),
                code(&r.origin),
                self.digest(),
                r.artifacts.as_deref().map(code).unwrap_or_else(dash),
                elapsed(took),
                result.to_string(),
            ]
        });
        table(headers, rows)
    }

    /// With many services, the details (each failure's events, tasks and
    /// logs; the links) fold under a line that says what they are.
    fn folds(&self) -> bool {
        self.rows.len() > FOLD_ABOVE
    }

    fn service_table(&self, outcome: &Result<(), Failure>) -> String {
        let started = match self.mode {
            Mode::Migrate => "task",
            _ => "deployment",
        };
        let mut md = String::new();
        if self.rows.len() > 1 {
            let failed = self.rows.iter().filter(|r| r.failure.is_some()).count();
            let failed = match failed {
                0 => String::new(),
                n => format!(", **{n} failed**"),
            };
            let cluster = self.cluster.as_deref().map(code).unwrap_or_else(dash);
            md.push_str(&format!(
                "Cluster {cluster}: {} services{failed}\n\n",
                self.rows.len()
            ));
        }
        let unreported = match outcome {
            Ok(()) => "success",
            Err(_) => "not reached",
        };
        let headers =
            format!("service | revision | reused? | image digest | {started} | duration | result");
        let rows = self.rows.iter().map(|r| {
            let reused = match r.reused {
                Some(true) => "reused",
                Some(false) => "new",
                None => "—",
            };
            vec![
                code(&r.name),
                r.revision.as_deref().map(code).unwrap_or_else(dash),
                reused.to_string(),
                self.digest(),
                r.deployment.as_deref().map(code).unwrap_or_else(dash),
                r.took.map(elapsed).unwrap_or_else(dash),
                r.outcome
                    .as_deref()
                    .map(text)
                    .unwrap_or_else(|| unreported.into()),
            ]
        });
        md.push_str(&table(&headers, rows));
        md
    }

    /// Each failed service: its reason, last events and stopped tasks.
    fn failures(&self) -> String {
        let mut md = String::new();
        for r in &self.rows {
            let Some((reason, events, stopped)) = &r.failure else {
                continue;
            };
            let head = format!("**{}** — {}", code(&r.name), text(reason));
            match self.folds() {
                true => md.push_str(&format!("<details><summary>{head}</summary>\n\n")),
                false => md.push_str(&format!("{head}\n\n")),
            }
            let alarms = &r.alarms;
            for (title, lines) in [
                ("CloudWatch alarms", alarms),
                ("Last service events", events),
                ("Stopped tasks", stopped),
            ] {
                if lines.is_empty() {
                    continue;
                }
                md.push_str(&format!("{title}:\n\n"));
                for line in lines {
                    md.push_str(&format!("- {}\n", text(line)));
                }
                md.push('\n');
            }
            for log in &r.crash_logs {
                md.push_str(&format!("{}\n\n", text(&log.title)));
                if !log.lines.is_empty() {
                    md.push_str(&format!("{}\n", fenced("text", &log.lines)));
                }
            }
            if self.folds() {
                md.push_str("</details>\n\n");
            }
        }
        md
    }

    fn migration(&self) -> String {
        let mut md = match self.exit_code {
            Some(code) => format!("Migration exit code: **{code}**\n\n"),
            None => "Migration exit code: none (the container did not run to an exit)\n\n".into(),
        };
        if !self.migration_log.is_empty() {
            md.push_str(&format!(
                "Last {} log lines:\n\n{}\n",
                self.migration_log.len(),
                fenced("text", &self.migration_log)
            ));
        }
        md
    }

    fn links(&self) -> String {
        let linked: Vec<&TargetRow> = self.rows.iter().filter(|r| !r.links.is_empty()).collect();
        if linked.is_empty() {
            return String::new();
        }
        let folds = self.folds();
        let mut md = match folds {
            true => format!(
                "<details><summary>Links ({} services)</summary>\n\n",
                linked.len()
            ),
            false => String::from("Links:\n\n"),
        };
        for r in linked {
            let links: Vec<String> = r
                .links
                .iter()
                .map(|(what, url)| format!("[{what}]({url})"))
                .collect();
            md.push_str(&format!("- {}: {}\n", code(&r.name), links.join(" · ")));
        }
        md.push('\n');
        if folds {
            md.push_str("</details>\n\n");
        }
        md
    }

    fn reason(&self, f: &Failure) -> String {
        let mut md = format!("**Reason:** {}\n", text(&f.headline));
        // Per-service failures were detailed above.
        let detailed = self.rows.iter().any(|r| r.failure.is_some());
        for d in f.detail.iter().filter(|_| !detailed) {
            md.push_str(&format!("- {}\n", text(d)));
        }
        md.push('\n');
        md
    }
}

/// Up to this many services, everything is shown unfolded.
const FOLD_ABOVE: usize = 5;

fn dash() -> String {
    "—".to_string()
}
