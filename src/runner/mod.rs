//! The GitHub runner contract — and its terminal twin for the CLI.
//!
//! Everything the tool says goes through [`Runner`]: log lines, collapsible
//! groups, annotations, outputs, the job summary and masking. In Actions mode
//! it speaks workflow commands on stdout and writes `$GITHUB_OUTPUT` /
//! `$GITHUB_STEP_SUMMARY`; on a terminal it prints readable text on stderr and
//! the outputs on stdout. Every line printed in either mode is first scrubbed
//! of the values registered with [`Runner::mask`].

pub mod commands;

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use thiserror::Error;

pub use commands::{CommandError, input_env_name};

#[derive(Debug, Error)]
pub enum RunnerError {
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error("cannot write {what} file {path}: {source}")]
    File {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    /// Running as a GitHub Action (`GITHUB_ACTIONS=true`).
    Actions,
    /// Running as a command-line tool.
    Terminal,
}

type Sink = Box<dyn Write + Send>;

pub struct Runner {
    face: Face,
    log: Mutex<Sink>,
    stdout: Mutex<Sink>,
    output_file: Option<PathBuf>,
    summary_file: Option<PathBuf>,
    masks: Mutex<Vec<String>>,
    outputs: Mutex<Vec<(String, String)>>,
}

impl Runner {
    /// The runner for this process, chosen from the environment.
    pub fn from_env() -> Self {
        let actions = std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true");
        let path = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        if actions {
            Self::new(
                Face::Actions,
                Box::new(std::io::stdout()),
                Box::new(std::io::stdout()),
                path("GITHUB_OUTPUT"),
                path("GITHUB_STEP_SUMMARY"),
            )
        } else {
            Self::new(
                Face::Terminal,
                Box::new(std::io::stderr()),
                Box::new(std::io::stdout()),
                None,
                None,
            )
        }
    }

    pub fn new(
        face: Face,
        log: Sink,
        stdout: Sink,
        output_file: Option<PathBuf>,
        summary_file: Option<PathBuf>,
    ) -> Self {
        Self {
            face,
            log: Mutex::new(log),
            stdout: Mutex::new(stdout),
            output_file,
            summary_file,
            masks: Mutex::new(Vec::new()),
            outputs: Mutex::new(Vec::new()),
        }
    }

    pub fn face(&self) -> Face {
        self.face
    }

    /// Registers a secret: from now on it is never printed. In Actions mode
    /// the runner is told too (`::add-mask::`), so its own log scrubbing
    /// covers anything that escapes this process's.
    pub fn mask(&self, secret: &str) {
        let secret = secret.trim();
        if secret.is_empty() {
            return;
        }
        {
            let mut masks = self.masks.lock().expect("mask list poisoned");
            if masks.iter().any(|m| m == secret) {
                return;
            }
            masks.push(secret.to_string());
            // Longest first, so a secret that contains another is scrubbed whole.
            masks.sort_by_key(|m| std::cmp::Reverse(m.len()));
        }
        if self.face == Face::Actions {
            for line in secret.lines().filter(|l| !l.trim().is_empty()) {
                // Written raw: this is the one line that must carry the value.
                self.write_raw(&commands::command("add-mask", &[], line));
            }
        }
    }

    /// Replaces every registered secret in `text` with `***`.
    pub fn redact(&self, text: &str) -> String {
        let masks = self.masks.lock().expect("mask list poisoned");
        let mut out = text.to_string();
        for m in masks.iter() {
            if out.contains(m.as_str()) {
                out = out.replace(m.as_str(), "***");
            }
        }
        out
    }

    fn write_raw(&self, line: &str) {
        let mut log = self.log.lock().expect("log poisoned");
        // A closed stdout must not turn a deployment into a panic.
        let _ = writeln!(log, "{line}");
        let _ = log.flush();
    }

    /// A log message, which may carry text the tool did not write: it is
    /// scrubbed of secrets, then printed as lines the runner never reads as
    /// a workflow command ([`commands::inert_lines`]).
    pub fn info(&self, message: &str) {
        let message = self.redact(message);
        for line in commands::inert_lines(&message) {
            self.write_raw(&line);
        }
    }

    pub fn notice(&self, title: &str, message: &str) {
        self.annotation("notice", title, message);
    }

    pub fn warning(&self, title: &str, message: &str) {
        self.annotation("warning", title, message);
    }

    pub fn error(&self, title: &str, message: &str) {
        self.annotation("error", title, message);
    }

    fn annotation(&self, kind: &str, title: &str, message: &str) {
        let title = commands::one_line(&self.redact(title));
        let message = commands::break_legacy(&self.redact(message));
        match self.face {
            // Escaped: the whole annotation is one runner line.
            Face::Actions => {
                self.write_raw(&commands::command(kind, &[("title", &title)], &message))
            }
            Face::Terminal => {
                let head = if title.is_empty() {
                    format!("{kind}: ")
                } else {
                    format!("{kind}: {title}: ")
                };
                for line in commands::inert_lines(&format!("{head}{message}")) {
                    self.write_raw(&line);
                }
            }
        }
    }

    pub fn group_start(&self, title: &str) {
        let title = commands::one_line(&self.redact(title));
        match self.face {
            Face::Actions => self.write_raw(&commands::command("group", &[], &title)),
            Face::Terminal => self.write_raw(&format!("▶ {title}")),
        }
    }

    pub fn group_end(&self) {
        if self.face == Face::Actions {
            self.write_raw("::endgroup::");
        }
    }

    /// Sets a step output. Secrets are scrubbed from outputs too.
    pub fn set_output(&self, name: &str, value: &str) -> Result<(), RunnerError> {
        let value = self.redact(value);
        let record = commands::key_value_record(name, &value, &commands::random_delimiter())?;
        if let Some(path) = &self.output_file {
            append(path, "GITHUB_OUTPUT", &record)?;
        }
        let mut outputs = self.outputs.lock().expect("outputs poisoned");
        outputs.retain(|(n, _)| n != name);
        outputs.push((name.to_string(), value));
        Ok(())
    }

    /// Outputs set so far, in the order they were first set.
    pub fn outputs(&self) -> Vec<(String, String)> {
        self.outputs.lock().expect("outputs poisoned").clone()
    }

    /// Appends Markdown to the job summary (Actions only).
    pub fn append_summary(&self, markdown: &str) -> Result<(), RunnerError> {
        if let Some(path) = &self.summary_file {
            append(path, "GITHUB_STEP_SUMMARY", &self.redact(markdown))?;
        }
        Ok(())
    }

    /// On a terminal, prints the outputs on stdout at the end of a run.
    pub fn print_outputs(&self) {
        if self.face != Face::Terminal {
            return;
        }
        let outputs = self.outputs();
        let mut out = self.stdout.lock().expect("stdout poisoned");
        for (name, value) in outputs {
            let _ = writeln!(out, "{name}: {value}");
        }
        let _ = out.flush();
    }
}

fn append(path: &PathBuf, what: &'static str, text: &str) -> Result<(), RunnerError> {
    let err = |source| RunnerError::File {
        what,
        path: path.clone(),
        source,
    };
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(err)?;
    file.write_all(text.as_bytes()).map_err(err)
}

/// The port of the runner's command parser the end-to-end harness uses too.
#[cfg(test)]
#[path = "../../tests/common/runner_parser.rs"]
mod runner_parser;

/// The capturing runner the scenario tests use too.
#[cfg(test)]
#[path = "../../tests/common/capture.rs"]
#[allow(dead_code)] // `logged` serves the scenario tests only
mod capture;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub use super::capture::{Log as Captured, runner_with as runner};

    #[test]
    fn masked_values_never_reach_the_log() {
        let (r, log) = runner(Face::Actions);
        r.mask("s3cr3t-token");
        r.info("token is s3cr3t-token");
        r.error("bad s3cr3t-token", "again s3cr3t-token");
        let text = log.text();
        assert!(text.starts_with("::add-mask::s3cr3t-token\n"));
        assert_eq!(text.matches("s3cr3t-token").count(), 1, "{text}");
        assert!(text.contains("token is ***"));
        assert!(text.contains("::error title=bad ***::again ***"));
    }

    #[test]
    fn terminal_masks_without_workflow_commands() {
        let (r, log) = runner(Face::Terminal);
        r.mask("abc123");
        r.info("x abc123 y");
        assert_eq!(log.text(), "x *** y\n");
    }

    use super::runner_parser;

    /// Every hostile string through every way the tool prints text, read by
    /// the port of the runner's parser: only the tool's own commands.
    #[test]
    fn untrusted_text_never_becomes_a_workflow_command() {
        let (r, log) = runner(Face::Actions);
        r.mask("s3cr3t-token");
        for h in runner_parser::HOSTILE {
            r.info(h);
            r.info(&format!("[web] {h}"));
            r.warning("deploy", &format!("web: {h}"));
            r.error("deploy", h);
            r.notice("image", h);
            r.group_start(&format!("[1/4] Render {h}"));
            r.group_end();
        }
        r.mask("s3cr3t-later");
        r.info("after s3cr3t-later");
        let parsed = runner_parser::parse(&log.text());
        assert_eq!(runner_parser::forged(&parsed), None, "{}", log.text());
        assert!(!parsed.stopped_ever);
        let masks: Vec<&str> = parsed
            .commands
            .iter()
            .filter(|c| c.name == "add-mask")
            .map(|c| c.data.as_str())
            .collect();
        assert_eq!(masks, ["s3cr3t-token", "s3cr3t-later"]);
        assert!(parsed.plain.iter().all(|l| !l.contains("##[")));
        let groups = parsed.commands.iter().filter(|c| c.name == "group").count();
        assert_eq!(groups, runner_parser::HOSTILE.len());
    }

    #[test]
    fn the_port_reads_what_the_runner_reads() {
        let p = runner_parser::parse(
            "a\r::add-mask::x\r\n  ::error title=T::m%0An\n##[set-output name=o;]v\n",
        );
        let names: Vec<&str> = p.commands.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["add-mask", "error", "set-output"]);
        assert_eq!(p.commands[1].data, "m\nn");
        assert_eq!(p.commands[1].properties["title"], "T");
        assert_eq!(p.commands[2].properties["name"], "o");
        assert_eq!(p.plain, ["a"]);
    }

    #[test]
    fn stopped_commands_print_as_text_until_the_token() {
        let p =
            runner_parser::parse("::stop-commands::tok\n::add-mask::s\n::TOK::\n::add-mask::t\n");
        assert!(p.stopped_ever);
        assert_eq!(p.plain, ["::add-mask::s"]);
        let names: Vec<&str> = p.commands.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["stop-commands", "tok", "add-mask"]);
    }

    #[test]
    fn every_hostile_string_is_a_forgery_when_printed_raw() {
        for h in runner_parser::HOSTILE.iter().take(11) {
            assert!(
                runner_parser::forged(&runner_parser::parse(h)).is_some(),
                "{h:?} parses as nothing"
            );
        }
    }

    #[test]
    fn a_message_is_printed_one_runner_line_per_piece() {
        let (r, log) = runner(Face::Actions);
        r.info("Applying 0042\r::stop-commands::x9\r\n\n  ::add-mask::y\n##[group]z");
        assert_eq!(
            log.text(),
            "Applying 0042\n↳ ::stop-commands::x9\n↳   ::add-mask::y\n↳ ## [group]z\n"
        );
        let (r, log) = runner(Face::Actions);
        r.info("  ::set-output name=x::y");
        assert_eq!(log.text(), "›   ::set-output name=x::y\n");
    }

    #[test]
    fn outputs_are_appended_in_heredoc_form() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let summary = dir.path().join("summary");
        let log = Captured::default();
        let r = Runner::new(
            Face::Actions,
            Box::new(log.clone()),
            Box::new(log),
            Some(out.clone()),
            Some(summary.clone()),
        );
        r.set_output("image", "a\nb").unwrap();
        r.append_summary("# hi\n").unwrap();
        let text = std::fs::read_to_string(out).unwrap();
        let mut lines = text.lines();
        let first = lines.next().unwrap();
        let delim = first.strip_prefix("image<<").unwrap();
        assert_eq!(lines.collect::<Vec<_>>(), vec!["a", "b", delim]);
        assert_eq!(std::fs::read_to_string(summary).unwrap(), "# hi\n");
    }
}
