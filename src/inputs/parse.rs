//! Parsers for single inputs. Each error names the input and says what to do.

use std::path::PathBuf;

use super::{Mode, OnCancel, RawInputs, SetPatch, TemplateSource, WaitUntil};
use crate::error::Failure;

pub fn parse_mode(v: Option<&str>) -> Result<Mode, Failure> {
    let names: Vec<&str> = Mode::ALL.iter().map(|(n, _)| *n).collect();
    let Some(v) = v else {
        return Err(Failure::input(
            "mode",
            format!("input `mode` is required: one of {}", names.join(", ")),
        ));
    };
    Mode::ALL
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(v))
        .map(|(_, m)| *m)
        .ok_or_else(|| {
            Failure::input(
                "mode",
                format!("unknown mode `{v}`: use one of {}", names.join(", ")),
            )
        })
}

/// Comma- or newline-separated list, trimmed, empties dropped.
pub fn split_list(v: Option<&str>) -> Vec<String> {
    v.unwrap_or("")
        .split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// YAML 1.2 core-schema booleans, as `core.getBooleanInput` accepts them.
pub fn parse_bool(name: &str, raw: &RawInputs) -> Result<bool, Failure> {
    match raw.get(name).unwrap_or("false") {
        "true" | "True" | "TRUE" => Ok(true),
        "false" | "False" | "FALSE" => Ok(false),
        other => Err(Failure::input(
            name,
            format!("input `{name}` must be true or false, not `{other}`"),
        )),
    }
}

pub fn parse_int(name: &str, raw: &RawInputs, min: i64, max: i64) -> Result<Option<i64>, Failure> {
    let Some(v) = raw.get(name) else {
        return Ok(None);
    };
    match v.parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
        _ => Err(Failure::input(
            name,
            format!("input `{name}` must be a whole number from {min} to {max}, not `{v}`"),
        )),
    }
}

/// Minutes, fractions allowed (`0.5`), more than 0 and at most a day.
pub fn parse_minutes(name: &str, raw: &RawInputs) -> Result<std::time::Duration, Failure> {
    let v = raw.get(name).unwrap_or("0");
    match v.parse::<f64>() {
        Ok(m) if m > 0.0 && m <= 1440.0 => Ok(std::time::Duration::from_secs_f64(m * 60.0)),
        _ => Err(Failure::input(
            name,
            format!(
                "input `{name}` must be a number of minutes above 0 and at most 1440, not `{v}`"
            ),
        )),
    }
}

/// `arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`
pub fn parse_role_arn(v: &str) -> Result<String, Failure> {
    let bad = || {
        Failure::input(
            "role-to-assume",
            format!(
                "input `role-to-assume` is not an IAM role ARN: `{v}`; expected arn:aws:iam::123456789012:role/NAME"
            ),
        )
    };
    let parts: Vec<&str> = v.splitn(6, ':').collect();
    if parts.len() != 6
        || parts[0] != "arn"
        || !parts[1].starts_with("aws")
        || parts[2] != "iam"
        || !parts[3].is_empty()
    {
        return Err(bad());
    }
    if parts[4].len() != 12 || !parts[4].bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let Some(name) = parts[5].strip_prefix("role/") else {
        return Err(bad());
    };
    let ok = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c);
    if name.is_empty() || name.ends_with('/') || !name.chars().all(ok) {
        return Err(bad());
    }
    Ok(v.to_string())
}

/// 2–64 characters of `[\w+=,.@-]`, as STS requires.
pub fn parse_session_name(v: &str) -> Result<String, Failure> {
    let ok = |c: char| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c);
    if (2..=64).contains(&v.len()) && v.chars().all(ok) {
        Ok(v.to_string())
    } else {
        Err(Failure::input(
            "role-session-name",
            format!(
                "input `role-session-name` must be 2-64 characters of letters, digits and _+=,.@- (got `{v}`)"
            ),
        ))
    }
}

pub fn parse_region(v: &str) -> Result<String, Failure> {
    let ok = v.len() >= 9
        && v.split('-').count() >= 3
        && v.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && v.chars().last().is_some_and(|c| c.is_ascii_digit());
    if ok {
        Ok(v.to_string())
    } else {
        Err(Failure::input(
            "aws-region",
            format!("input `aws-region` is not an AWS region: `{v}` (e.g. eu-west-1)"),
        ))
    }
}

/// ECS's rule for a name (cluster, service, container): letters, digits,
/// `-` and `_`, up to 255.
pub fn is_ecs_name(v: &str) -> bool {
    let ok = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    !v.is_empty() && v.len() <= 255 && v.chars().all(ok)
}

/// Cluster and service names (or ARNs).
pub fn parse_resource_name(input: &str, v: &str) -> Result<(), Failure> {
    if v.starts_with("arn:") {
        return Ok(());
    }
    if is_ecs_name(v) {
        Ok(())
    } else {
        Err(Failure::input(
            input,
            format!(
                "input `{input}`: `{v}` is not a valid ECS name (letters, digits, - and _, up to 255) or ARN"
            ),
        ))
    }
}

pub fn parse_template_source(v: Option<&str>) -> Result<TemplateSource, Failure> {
    let Some(v) = v else {
        return Ok(TemplateSource::Service);
    };
    if v.starts_with("arn:") {
        if v.contains(":task-definition/") {
            return Ok(TemplateSource::Registered(v.to_string()));
        }
        return Err(Failure::input(
            "task-definition",
            format!(
                "input `task-definition`: `{v}` is not a task-definition ARN (arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION)"
            ),
        ));
    }
    let path = PathBuf::from(v);
    let looks_like_file = v.contains('/')
        || v.contains('\\')
        || [".json", ".yaml", ".yml"]
            .iter()
            .any(|e| v.to_ascii_lowercase().ends_with(e));
    if path.is_file() {
        return Ok(TemplateSource::File(path));
    }
    if looks_like_file {
        return Err(Failure::input(
            "task-definition",
            format!(
                "input `task-definition`: file `{v}` not found (relative paths are from the workspace; did you check out the repository first?)"
            ),
        ));
    }
    let (family, revision) = match v.split_once(':') {
        Some((f, r)) => (f, Some(r)),
        None => (v, None),
    };
    let family_ok = !family.is_empty()
        && family.len() <= 255
        && family
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let revision_ok = revision.is_none_or(|r| r.parse::<u32>().is_ok_and(|n| n > 0));
    if family_ok && revision_ok {
        Ok(TemplateSource::Registered(v.to_string()))
    } else {
        Err(Failure::input(
            "task-definition",
            format!(
                "input `task-definition`: `{v}` is neither an existing file nor a family, family:revision or ARN"
            ),
        ))
    }
}

/// `KEY=value` lines (environment variables, secrets). Blank lines and `#` comments are skipped.
pub fn parse_pairs(input: &str, v: Option<&str>) -> Result<Vec<(String, String)>, Failure> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (i, line) in v.unwrap_or("").lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((k, val)) = line.split_once('=') else {
            return Err(Failure::input(
                input,
                format!(
                    "input `{input}` line {}: expected KEY=value, got `{}`",
                    i + 1,
                    first_chars(line)
                ),
            ));
        };
        let k = k.trim();
        if k.is_empty() || k.chars().any(char::is_whitespace) {
            return Err(Failure::input(
                input,
                format!("input `{input}` line {}: `{k}` is not a valid name", i + 1),
            ));
        }
        if input == "secrets" && val.trim().is_empty() {
            return Err(Failure::input(
                input,
                format!(
                    "input `secrets` line {}: `{k}` needs a valueFrom (a Secrets Manager or SSM parameter ARN/name)",
                    i + 1
                ),
            ));
        }
        out.retain(|(existing, _)| existing != k);
        out.push((k.to_string(), val.trim().to_string()));
    }
    Ok(out)
}

/// Shows the start of a line without dumping a possible secret value whole.
pub fn first_chars(s: &str) -> String {
    let short: String = s.chars().take(20).collect();
    if short.len() < s.len() {
        format!("{short}…")
    } else {
        short
    }
}

/// `JSONPATH = JSON` lines.
pub fn parse_set(v: Option<&str>) -> Result<Vec<SetPatch>, Failure> {
    let mut out = Vec::new();
    for (i, line) in v.unwrap_or("").lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let n = i + 1;
        let Some(eq) = assignment_position(line) else {
            return Err(Failure::input(
                "set",
                format!(
                    "input `set` line {n}: expected `JSONPATH = JSON`, e.g. $.cpu = \"512\"; got `{line}`"
                ),
            ));
        };
        let path = line[..eq].trim();
        let value_text = line[eq + 1..].trim();
        if !path.starts_with('$') {
            return Err(Failure::input(
                "set",
                format!("input `set` line {n}: the path must start with `$` (got `{path}`)"),
            ));
        }
        if let Err(e) = jsonpath_rust::parser::parse_json_path(path) {
            return Err(Failure::input(
                "set",
                format!("input `set` line {n}: `{path}` is not a valid JSONPath: {e}"),
            ));
        }
        let value = serde_json::from_str(value_text).map_err(|_| {
            Failure::input("set", format!("input `set` line {n}: `{value_text}` is not JSON (quote strings: \"{value_text}\")"))
        })?;
        out.push(SetPatch {
            path: path.to_string(),
            value,
        });
    }
    Ok(out)
}

/// The first `=` that is an assignment, not part of `==`, `!=`, `<=` or `>=`.
fn assignment_position(line: &str) -> Option<usize> {
    let b = line.as_bytes();
    (0..b.len()).find(|&i| {
        b[i] == b'='
            && (i == 0 || !matches!(b[i - 1], b'=' | b'!' | b'<' | b'>'))
            && b.get(i + 1) != Some(&b'=')
    })
}

/// A JSON array of strings as is; otherwise POSIX shell word splitting, no shell.
pub fn parse_command(v: &str) -> Result<Vec<String>, Failure> {
    let words = if v.starts_with('[') {
        serde_json::from_str::<Vec<String>>(v).map_err(|e| {
            Failure::input(
                "command",
                format!("input `command` looks like a JSON array but is not one of strings: {e}"),
            )
        })?
    } else {
        shell_words::split(v).map_err(|_| {
            Failure::input("command", "input `command` has an unterminated quote: close it, or give a JSON array such as [\"php\", \"artisan\", \"migrate\"]")
        })?
    };
    if words.is_empty() {
        return Err(Failure::input("command", "input `command` is empty"));
    }
    Ok(words)
}

pub fn parse_public_ip(v: &str) -> Result<bool, Failure> {
    match v.to_ascii_uppercase().as_str() {
        "ENABLED" | "TRUE" => Ok(true),
        "DISABLED" | "FALSE" => Ok(false),
        _ => Err(Failure::input(
            "assign-public-ip",
            format!("input `assign-public-ip` must be ENABLED or DISABLED, not `{v}`"),
        )),
    }
}

pub fn parse_wait_until(v: &str) -> Result<WaitUntil, Failure> {
    match v {
        "complete" => Ok(WaitUntil::Complete),
        "traffic-shifted" => Ok(WaitUntil::TrafficShifted),
        "paused" => Ok(WaitUntil::Paused),
        "none" => Ok(WaitUntil::None),
        _ => Err(Failure::input(
            "wait-until",
            format!(
                "input `wait-until` must be complete, traffic-shifted, paused or none, not `{v}`"
            ),
        )),
    }
}

pub fn parse_on_cancel(v: &str) -> Result<OnCancel, Failure> {
    match v {
        "leave" => Ok(OnCancel::Leave),
        "rollback" => Ok(OnCancel::Rollback),
        _ => Err(Failure::input(
            "on-cancel",
            format!("input `on-cancel` must be leave or rollback, not `{v}`"),
        )),
    }
}

pub const HOOK_STAGES: [&str; 5] = [
    "BeforeInstall",
    "AfterInstall",
    "AfterAllowTestTraffic",
    "BeforeAllowTraffic",
    "AfterAllowTraffic",
];

pub fn parse_hooks(v: Option<&str>) -> Result<Vec<(String, String)>, Failure> {
    let pairs = parse_pairs("codedeploy-hooks", v)?;
    for (stage, arn) in &pairs {
        if !HOOK_STAGES.contains(&stage.as_str()) {
            return Err(Failure::input(
                "codedeploy-hooks",
                format!(
                    "input `codedeploy-hooks`: `{stage}` is not an ECS AppSpec hook; use one of {}",
                    HOOK_STAGES.join(", ")
                ),
            ));
        }
        if arn.is_empty() {
            return Err(Failure::input(
                "codedeploy-hooks",
                format!("input `codedeploy-hooks`: `{stage}` needs a Lambda function ARN or name"),
            ));
        }
    }
    Ok(pairs)
}

/// `scheduled-tasks` (`auto`, names, or both) and `scheduled-tasks-exclude`
/// (which narrows `auto`). The moves follow the deployments' success, so
/// a run that does not wait for it cannot make them.
pub fn parse_schedules(raw: &RawInputs) -> Result<Option<crate::schedules::Selection>, Failure> {
    use crate::schedules::{Place, Selection};
    let places = |input: &str, entries: Vec<String>| {
        entries
            .iter()
            .map(|e| {
                Place::parse(e)
                    .map_err(|why| Failure::input(input, format!("input `{input}`: {why}")))
            })
            .collect::<Result<Vec<Place>, Failure>>()
    };
    let exclude = places(
        "scheduled-tasks-exclude",
        split_list(raw.get("scheduled-tasks-exclude")),
    )?;
    let given = split_list(raw.get("scheduled-tasks"));
    let auto = given.iter().any(|e| e == "auto");
    if !exclude.is_empty() && !auto {
        return Err(Failure::input(
            "scheduled-tasks-exclude",
            "input `scheduled-tasks-exclude` narrows `scheduled-tasks: auto`: set `scheduled-tasks: auto`, or list only the tasks to move",
        ));
    }
    if given.is_empty() {
        return Ok(None);
    }
    let mut named = places(
        "scheduled-tasks",
        given.into_iter().filter(|e| e != "auto").collect(),
    )?;
    named.dedup();
    if let Some(both) = named.iter().find(|p| exclude.contains(p)) {
        return Err(Failure::input(
            "scheduled-tasks",
            format!(
                "{both} is both in `scheduled-tasks` and in `scheduled-tasks-exclude`: keep it in one"
            ),
        ));
    }
    if let Some(wait @ ("none" | "paused")) = raw.get("wait-until") {
        return Err(Failure::input(
            "scheduled-tasks",
            format!(
                "input `scheduled-tasks` moves the scheduled tasks once the deployments succeeded, which `wait-until: {wait}` never sees: wait until complete or traffic-shifted (after a pause, give `scheduled-tasks` to the continue step)"
            ),
        ));
    }
    Ok(Some(Selection {
        auto,
        named,
        exclude,
    }))
}
