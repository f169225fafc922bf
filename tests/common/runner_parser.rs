//! A port of the GitHub runner's workflow-command parsing, to read the
//! binary's stdout exactly as the runner reads it.
//!
//! Ported from actions/runner (commit 258d6c85, August 2026):
//! - lines: `ProcessInvoker` reads stdout with `StreamReader.ReadLine`, which
//!   ends a line at `\r\n`, a lone `\r` or a lone `\n`;
//! - `OutputManager.OnDataReceived` tries a line as a command only when it
//!   contains `##[` or `::`;
//! - `ActionCommand.TryParseV2`: the line, after `TrimStart()` (every Unicode
//!   white space), must start with `::`; the command runs to the next `::`;
//!   the name up to a space must be a registered command; properties are
//!   `k=v` separated by `,`; the data is unescaped (`%0D`, `%0A`, `%25`);
//! - `ActionCommand.TryParse` (legacy): `##[` *anywhere* in the line, the
//!   command up to the next `]`, properties separated by `;`;
//! - `ActionCommandManager.TryProcessCommand`: V2 first, then legacy; while
//!   commands are stopped (`stop-commands`), only the stop token (now a
//!   registered command) is recognised, and every other line is plain text;
//!   command names are compared ignoring case.
//!
//! Used by the end-to-end harness on every run and by the runner module's
//! unit tests (through `#[path]`), so both test against one port.

use std::collections::BTreeMap;

/// The commands the runner registers (ActionCommandManager's extensions).
pub const REGISTERED: [&str; 15] = [
    "stop-commands",
    "set-env",
    "set-output",
    "save-state",
    "add-mask",
    "add-path",
    "add-matcher",
    "remove-matcher",
    "debug",
    "warning",
    "error",
    "notice",
    "group",
    "endgroup",
    "echo",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// Lower-cased.
    pub name: String,
    /// Keys lower-cased (the runner's property dictionary ignores case).
    pub properties: BTreeMap<String, String>,
    pub data: String,
    /// The line it was parsed from.
    pub line: String,
    /// Parsed by the legacy `##[…]` grammar.
    pub legacy: bool,
}

#[derive(Debug, Default)]
pub struct Parsed {
    /// Every command the runner would have processed, in order.
    pub commands: Vec<Command>,
    /// Every line the runner would have printed as text.
    pub plain: Vec<String>,
    /// True when a `stop-commands` was recognised.
    pub stopped_ever: bool,
}

/// `StreamReader.ReadLine` over the whole text.
pub fn read_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let bytes = text.as_bytes();
    let (mut start, mut i) = (0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'\r' => {
                lines.push(&text[start..i]);
                i += if bytes.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                start = i;
            }
            b'\n' => {
                lines.push(&text[start..i]);
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    if start < bytes.len() {
        lines.push(&text[start..]);
    }
    lines
}

/// Reads a whole stdout as the runner does.
pub fn parse(stdout: &str) -> Parsed {
    let mut registered: Vec<String> = REGISTERED.iter().map(|s| s.to_string()).collect();
    let mut stop_token: Option<String> = None;
    let mut out = Parsed::default();
    for line in read_lines(stdout) {
        let candidate = line.contains("##[") || line.contains("::");
        let command = candidate
            .then(|| try_parse_v2(line, &registered).or_else(|| try_parse(line, &registered)))
            .flatten();
        let Some(command) = command else {
            out.plain.push(line.to_string());
            continue;
        };
        if let Some(token) = &stop_token {
            if command.name == *token {
                registered.retain(|c| c != token);
                stop_token = None;
                out.commands.push(command);
            } else {
                out.plain.push(line.to_string());
            }
            continue;
        }
        if command.name == "stop-commands" {
            let token = command.data.to_lowercase();
            out.stopped_ever = true;
            if !token.is_empty() && !registered.contains(&token) {
                registered.push(token.clone());
                stop_token = Some(token);
            }
        }
        out.commands.push(command);
    }
    out
}

fn registered_name(info: &str, registered: &[String]) -> Option<(String, Option<usize>)> {
    let space = info.find(' ');
    let name = space.map_or(info, |i| &info[..i]).to_lowercase();
    registered.contains(&name).then_some((name, space))
}

/// The command `info` names (its name, a space, its properties), if it is
/// registered: the properties of a `::` command are split at `,` and
/// trimmed, those of a legacy `##[` one split at `;`.
fn command(
    message: &str,
    info: &str,
    data: String,
    registered: &[String],
    legacy: bool,
) -> Option<Command> {
    let (name, space) = registered_name(info, registered)?;
    let text = space.filter(|s| *s > 0).map(|s| &info[s + 1..]);
    let properties = match legacy {
        false => properties(text.map(str::trim), ',', unescape_property),
        true => properties(text, ';', unescape_legacy),
    };
    let line = message.to_string();
    Some(Command {
        name,
        properties,
        data,
        line,
        legacy,
    })
}

/// The `k=v` pairs of a command's properties, split at `separator`: a pair
/// without `=`, or with an empty key or value, is dropped; keys lowercased.
fn properties(
    text: Option<&str>,
    separator: char,
    unescape: fn(&str) -> String,
) -> BTreeMap<String, String> {
    let pairs = text.into_iter().flat_map(|t| t.split(separator));
    pairs
        .filter_map(|pair| pair.split_once('='))
        .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        .map(|(k, v)| (k.to_lowercase(), unescape(v)))
        .collect()
}

/// `ActionCommand.TryParseV2`.
pub fn try_parse_v2(message: &str, registered: &[String]) -> Option<Command> {
    let trimmed = message.trim_start();
    let rest = trimmed.strip_prefix("::")?;
    let end = rest.find("::")?;
    let info = &rest[..end];
    command(
        message,
        info,
        unescape_data(&rest[end + 2..]),
        registered,
        false,
    )
}

/// `ActionCommand.TryParse`: the legacy `##[name k=v;k=v]data` anywhere in a line.
pub fn try_parse(message: &str, registered: &[String]) -> Option<Command> {
    let prefix = message.find("##[")?;
    let rb = prefix + message[prefix..].find(']')?;
    let info = &message[prefix + 3..rb];
    command(
        message,
        info,
        unescape_legacy(&message[rb + 1..]),
        registered,
        true,
    )
}

fn unescape(s: &str, mappings: &[(&str, &str)]) -> String {
    mappings
        .iter()
        .fold(s.to_string(), |acc, (token, escaped)| {
            acc.replace(escaped, token)
        })
}

fn unescape_data(s: &str) -> String {
    unescape(s, &[("\r", "%0D"), ("\n", "%0A"), ("%", "%25")])
}

fn unescape_property(s: &str) -> String {
    unescape(
        s,
        &[
            ("\r", "%0D"),
            ("\n", "%0A"),
            (":", "%3A"),
            (",", "%2C"),
            ("%", "%25"),
        ],
    )
}

fn unescape_legacy(s: &str) -> String {
    unescape(
        s,
        &[
            (";", "%3B"),
            ("\r", "%0D"),
            ("\n", "%0A"),
            ("]", "%5D"),
            ("%", "%25"),
        ],
    )
}

/// Strings that, printed raw, are workflow commands: each forged command
/// carries `FORGED` at the start of its title, name or data, so a check can
/// tell a forgery from the tool's own commands that quote the text.
pub const HOSTILE: [&str; 12] = [
    "Applying migration 0042\r::stop-commands::FORGEDx9",
    "web\r::error title=FORGED Deploy approved::all checks passed",
    "web\n  ::stop-commands::FORGEDzz",
    "##[set-output name=FORGED-deployment-id;]forged",
    "::add-mask::FORGED-mask",
    "\t::warning title=FORGED::tab first",
    "\u{a0}\u{3000}::notice title=FORGED::unicode spaces first",
    "ok\r\n::set-output name=FORGED::x",
    "line\r\r::group::FORGED group",
    "x ##[error]FORGED legacy error ##[endgroup]",
    "::echo::on\n::set-env name=FORGED::x",
    "<img src=https://attacker.example/p.png> [Approve deploy](https://attacker.example/) @octocat `x`|y",
];

/// The commands this tool itself issues.
pub const TOOL_COMMANDS: [&str; 6] = [
    "add-mask", "group", "endgroup", "error", "warning", "notice",
];

/// The first recognised command that the tool did not write itself: a
/// command it never issues, a `stop-commands`, or one whose title, name or
/// data starts with `FORGED` (see [`HOSTILE`]).
pub fn forged(parsed: &Parsed) -> Option<&Command> {
    parsed.commands.iter().find(|c| {
        !TOOL_COMMANDS.contains(&c.name.as_str())
            || c.legacy
            || c.data.starts_with("FORGED")
            || c.properties.values().any(|v| v.contains("FORGED"))
    })
}
