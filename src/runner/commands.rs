//! The text formats of the GitHub runner's workflow commands and files.
//!
//! These follow `@actions/core` exactly (`toCommandValue`, `escapeData`,
//! `escapeProperty`, `prepareKeyValueMessage`), which is what the runner
//! parses. Pure functions: everything here is unit-tested.

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum CommandError {
    #[error("output `{name}`: the value contains the delimiter `{delimiter}`")]
    DelimiterInValue { name: String, delimiter: String },
    #[error("output `{name}`: the name contains the delimiter `{delimiter}`")]
    DelimiterInName { name: String, delimiter: String },
    #[error("output name `{0}` is not valid: use letters, digits, `-` and `_`")]
    BadName(String),
}

/// Escapes a workflow command's message (`::cmd::MESSAGE`).
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value (`::cmd key=VALUE::`).
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// `::name key=value,key=value::message`
pub fn command(name: &str, properties: &[(&str, &str)], message: &str) -> String {
    let mut line = format!("::{name}");
    let props: Vec<String> = properties
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", escape_property(v)))
        .collect();
    if !props.is_empty() {
        line.push(' ');
        line.push_str(&props.join(","));
    }
    line.push_str("::");
    line.push_str(&escape_data(message));
    line
}

/// What starts a line the tool prints from a piece of text after the
/// first line break in it: visible, and not white space, so the runner's
/// `TrimStart()` cannot bring a `::` to the front.
pub const CONTINUED: &str = "↳ ";
/// What starts a first line that would otherwise begin with `::`.
pub const GUARD: &str = "› ";

/// Splits text where the runner ends a line: `\r\n`, a lone `\r`, a lone
/// `\n` (.NET's `StreamReader.ReadLine`, which reads a step's stdout).
pub fn runner_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let s = rest?;
        match s.find(['\r', '\n']) {
            Some(i) => {
                let skip = if s[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&s[i + skip..]);
                Some(&s[..i])
            }
            None => {
                rest = None;
                Some(s)
            }
        }
    })
}

/// Breaks the legacy command prefix `##[`, which the runner looks for
/// anywhere in a line (and which the log viewer renders as markup).
pub fn break_legacy(s: &str) -> String {
    s.replace("##[", "## [")
}

/// Text the tool did not write (container logs, service events, task
/// definition fields, AWS and GitHub messages), as log lines the runner
/// prints as text and never reads as a command: one line per runner line,
/// every line after the first prefixed with [`CONTINUED`], a first line that
/// would start with `::` (after white space) prefixed with [`GUARD`], `##[`
/// broken everywhere. Blank continuation lines are dropped.
pub fn inert_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, piece) in runner_lines(text).enumerate() {
        let piece = break_legacy(piece);
        if i == 0 {
            if piece.trim_start().starts_with("::") {
                out.push(format!("{GUARD}{piece}"));
            } else {
                out.push(piece);
            }
        } else if !piece.trim().is_empty() {
            out.push(format!("{CONTINUED}{piece}"));
        }
    }
    out
}

/// One line for a group title: line breaks become spaces, `##[` is broken
/// (the runner echoes a group as `##[group]TITLE`).
pub fn one_line(text: &str) -> String {
    break_legacy(&text.replace(['\r', '\n'], " "))
}

/// A fresh random delimiter, `ghadelimiter_<32 hex digits>` like the toolkit's.
pub fn random_delimiter() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("ghadelimiter_{hex}")
}

/// One `name<<DELIM\nvalue\nDELIM\n` record for `$GITHUB_OUTPUT`.
pub fn key_value_record(name: &str, value: &str, delimiter: &str) -> Result<String, CommandError> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(CommandError::BadName(name.to_string()));
    }
    if name.contains(delimiter) {
        return Err(CommandError::DelimiterInName {
            name: name.into(),
            delimiter: delimiter.into(),
        });
    }
    if value.contains(delimiter) {
        return Err(CommandError::DelimiterInValue {
            name: name.into(),
            delimiter: delimiter.into(),
        });
    }
    Ok(format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"))
}

/// The environment variable the runner sets for an input of a container
/// action: upper-cased, spaces to `_`, dashes kept.
pub fn input_env_name(input: &str) -> String {
    format!("INPUT_{}", input.replace(' ', "_").to_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_escaping_matches_the_toolkit() {
        assert_eq!(escape_data("a%b\r\nc:d,e"), "a%25b%0D%0Ac:d,e");
    }

    #[test]
    fn property_escaping_also_escapes_colon_and_comma() {
        assert_eq!(escape_property("a%b\r\nc:d,e"), "a%25b%0D%0Ac%3Ad%2Ce");
    }

    #[test]
    fn command_with_properties() {
        assert_eq!(
            command(
                "error",
                &[("title", "Image: not found, sorry")],
                "line1\nline2 100%"
            ),
            "::error title=Image%3A not found%2C sorry::line1%0Aline2 100%25"
        );
        assert_eq!(command("group", &[], "[1/4] x"), "::group::[1/4] x");
        assert_eq!(command("notice", &[("title", "")], "m"), "::notice::m");
    }

    #[test]
    fn delimiters_are_random_and_well_formed() {
        let a = random_delimiter();
        let b = random_delimiter();
        assert_ne!(a, b);
        assert!(a.starts_with("ghadelimiter_"));
        assert_eq!(a.len(), "ghadelimiter_".len() + 32);
    }

    #[test]
    fn key_value_record_uses_the_heredoc_form() {
        assert_eq!(
            key_value_record("result", "{\n}", "D").unwrap(),
            "result<<D\n{\n}\nD\n"
        );
    }

    #[test]
    fn a_value_containing_the_delimiter_is_refused() {
        let err = key_value_record("x", "a\nghadelimiter_1\nb", "ghadelimiter_1").unwrap_err();
        assert!(matches!(err, CommandError::DelimiterInValue { .. }));
        assert!(key_value_record("bad name", "v", "D").is_err());
    }

    #[test]
    fn input_names_keep_dashes() {
        assert_eq!(input_env_name("task-definition"), "INPUT_TASK-DEFINITION");
        assert_eq!(input_env_name("my input"), "INPUT_MY_INPUT");
    }
}
