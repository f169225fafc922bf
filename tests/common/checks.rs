//! What every run is checked for: no secret leaked, only the tool's own
//! workflow commands, AWS's service models kept, its calls recorded for the
//! least-privilege check; and a signalled run, checked the same way.

use super::*;

/// What a spawned run did after a signal.
pub struct Signalled {
    pub code: Option<i32>,
    pub stdout: String,
    /// From the signal to the exit.
    pub took: std::time::Duration,
}

/// Sends `signal` ("TERM", "INT") to a spawned run, as the runner does when
/// a workflow run is cancelled, and waits for it to exit.
pub fn signal(child: &mut Child, signal: &str) -> Signalled {
    let sent = std::time::Instant::now();
    let killed = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let exit = child.wait().unwrap();
    let took = sent.elapsed();
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    assert_only_our_commands(&stdout);
    let mut stderr = String::new();
    if let Some(mut err) = child.stderr.take() {
        err.read_to_string(&mut stderr).unwrap();
    }
    // Scanned like every run: what it printed and wrote.
    if let Some(run) = SPAWNED.lock().unwrap().remove(&child.id()) {
        if let (Some(mode), Some(port), Some(before)) =
            (&run.mode, run.emulator_port, run.calls_before)
        {
            record_calls(mode, port, before);
            assert_conformant(port);
        }
        let mut secrets = run.secrets;
        secrets.extend(issued_secrets(run.emulator_port));
        assert_no_secret_in(&stdout, &stderr, &run.workspace, &secrets);
        count_scan(secrets.len());
    }
    Signalled {
        code: exit.code(),
        stdout,
        took,
    }
}

/// The secret scan: no secret in stdout (but in an `add-mask` command the
/// runner processes), stderr, or any file under `workspace`.
pub fn assert_no_secret_in(stdout: &str, stderr: &str, workspace: &Path, secrets: &[String]) {
    // stdout as the runner reads it: a secret may be carried only by an
    // `add-mask` command that the runner processes.
    let parsed = runner_parser::parse(stdout);
    let mut stdout_lines: Vec<&str> = parsed.plain.iter().map(String::as_str).collect();
    stdout_lines.extend(
        parsed
            .commands
            .iter()
            .filter(|c| c.name != "add-mask")
            .map(|c| c.line.as_str()),
    );
    let mut texts: Vec<(String, String)> = vec![
        ("stdout".into(), stdout_lines.join("\n")),
        ("stderr".into(), stderr.to_string()),
    ];
    let mut stack = vec![workspace.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(text) = std::fs::read_to_string(&path) {
                texts.push((path.display().to_string(), text));
            }
        }
    }
    for secret in secrets {
        for (name, text) in &texts {
            let leaks = text.lines().filter(|l| l.contains(secret.as_str())).count();
            assert_eq!(leaks, 0, "a secret ({}…) leaked into {name}", &secret[..6]);
        }
    }
}

/// What a spawned run needs for its secret scan when it is signalled.
pub(crate) struct SpawnedRun {
    pub(crate) secrets: Vec<String>,
    pub(crate) emulator_port: Option<u16>,
    pub(crate) workspace: PathBuf,
    /// The run's mode and the emulator's call count at its start, so its
    /// calls are recorded for the least-privilege check as `run()`'s are.
    pub(crate) mode: Option<String>,
    pub(crate) calls_before: Option<usize>,
}

/// Fails the test whose run sent a request, or was given an answer by the
/// emulator, that breaks AWS's service model (tests/emulator/conformance.py).
pub(crate) fn assert_conformant(port: u16) {
    let state = http(port, "GET", "/_fd/conformance", "");
    let violations = state["violations"].as_array().cloned().unwrap_or_default();
    assert!(
        violations.is_empty(),
        "against the AWS service models:\n{}",
        violations
            .iter()
            .map(|v| v.as_str().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Appends the AWS operations a run of `mode` issued (the emulator's calls
/// from `before` on) to `target/observed-calls/<mode>`, for the
/// least-privilege check (tests/iam_policy.rs), which compares them with
/// the policies in docs/iam.md.
pub(crate) fn record_calls(mode: &str, port: u16, before: usize) {
    let mut ops: Vec<String> = call_names(port).split_off(before);
    ops.sort();
    ops.dedup();
    let dir = repo_root().join("target/observed-calls");
    std::fs::create_dir_all(&dir).unwrap();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(mode))
        .unwrap();
    f.write_all(format!("{}\n", ops.join("\n")).as_bytes())
        .unwrap();
}

/// Spawned runs by process id, so [`signal`] scans them as `run()` scans.
pub(crate) static SPAWNED: std::sync::Mutex<BTreeMap<u32, SpawnedRun>> =
    std::sync::Mutex::new(BTreeMap::new());

/// Reads `stdout` with the port of the runner's parser: a forged command,
/// a stop-commands or a `##[` in a printed line fails the test.
pub fn assert_only_our_commands(stdout: &str) {
    let parsed = runner_parser::parse(stdout);
    if let Some(c) = runner_parser::forged(&parsed) {
        panic!("the runner would run a command the tool did not write: {c:?}\n{stdout}");
    }
    assert!(!parsed.stopped_ever, "commands were stopped:\n{stdout}");
    if let Some(l) = parsed.plain.iter().find(|l| l.contains("##[")) {
        panic!("a printed line carries `##[`: {l:?}");
    }
}

/// Markdown with its code removed — fenced blocks and inline code spans,
/// as CommonMark delimits them — so a test can look at what renders as
/// markup (HTML, links, images).
pub fn markdown_outside_code(md: &str) -> String {
    let mut out = String::new();
    let mut fence: Option<String> = None;
    for line in md.lines() {
        let ticks: String = line.chars().take_while(|c| *c == '`').collect();
        match &fence {
            Some(f) if ticks.len() >= f.len() && line.trim_end() == ticks => fence = None,
            Some(_) => {}
            None if ticks.len() >= 3 => fence = Some(ticks),
            None => {
                out.push_str(&without_code_spans(line));
                out.push('\n');
            }
        }
    }
    out
}

pub(crate) fn without_code_spans(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let run_at = |i: usize| chars[i..].iter().take_while(|c| **c == '`').count();
    let (mut out, mut i) = (String::new(), 0);
    while i < chars.len() {
        if chars[i] != '`' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let n = run_at(i);
        // The closing run: the next run of exactly n backticks.
        let mut j = i + n;
        let close = loop {
            if j >= chars.len() {
                break None;
            }
            if chars[j] == '`' {
                let m = run_at(j);
                if m == n {
                    break Some(j);
                }
                j += m;
            } else {
                j += 1;
            }
        };
        match close {
            Some(j) => i = j + n,
            None => {
                out.extend(&chars[i..i + n]);
                i += n;
            }
        }
    }
    out
}

/// One line per scanned run (with how many secrets it was scanned for), in
/// `target/secret-scans`, for the figures `tests/run` prints at the end.
pub(crate) fn count_scan(secrets: usize) {
    let path = repo_root().join("target/secret-scans");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(f, "{secrets}");
    }
}
