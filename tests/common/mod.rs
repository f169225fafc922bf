//! End-to-end harness: the emulator (moto + our thin layer, tests/emulator)
//! on a free 127.0.0.1 port, and the real binary started exactly as the
//! GitHub runner starts a container action.
#![allow(dead_code)]

pub mod capture;
pub mod ecs;
pub mod image;
pub mod recorded;
pub mod runner_parser;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

pub const REQUEST_TOKEN: &str = "gha-request-token-0b5e9f";
/// The static secret key of runs without `role-to-assume` (moto accepts
/// any): a secret like any other, scanned for in every run.
pub const STATIC_SECRET_KEY: &str = "fdemuStaticSecretKey/0b5e9f7c1d2e";
pub const SUB: &str = "repo:octo-org/octo-app:ref:refs/heads/main";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Python of the virtualenv `tests/run` creates (or `FARGATE_DEPLOY_PYTHON`).
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("FARGATE_DEPLOY_PYTHON") {
        return PathBuf::from(p);
    }
    let p = repo_root().join("target/emulator-venv/bin/python");
    assert!(
        p.exists(),
        "the emulator's virtualenv is missing: run `tests/run` (it installs moto[server] into target/emulator-venv)"
    );
    p
}

/// GitHub's OpenAPI description that `tests/github-openapi` installs (or
/// `FARGATE_DEPLOY_GITHUB_OPENAPI`), for the emulator's GitHub API mock.
pub fn github_openapi() -> PathBuf {
    if let Some(p) = std::env::var_os("FARGATE_DEPLOY_GITHUB_OPENAPI") {
        return PathBuf::from(p);
    }
    std::fs::read_dir(repo_root().join("target/github-openapi"))
        .ok()
        .and_then(|dir| {
            dir.filter_map(|e| e.ok().map(|e| e.path()))
                .find(|p| p.extension().is_some_and(|x| x == "json"))
        })
        .expect("GitHub's OpenAPI description is missing: run `tests/run` (tests/github-openapi installs it)")
}

/// What the runner passes for `github-token`'s default `${{ github.token }}`:
/// the job's token (the emulator's GitHub API does not accept this one).
pub const JOB_TOKEN: &str = "ghs_jobTokenOfTheRunner0000000000000000000";

/// Every action.yml input with a default, as the runner passes it: the runner
/// merges action.yml's defaults into the step's inputs and sets `INPUT_*`
/// for all of them, in every step.
fn runner_defaults() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(repo_root().join("action.yml")).unwrap();
    let doc: Value = yaml_serde::from_str(&text).unwrap();
    doc["inputs"]
        .as_object()
        .unwrap()
        .iter()
        .filter_map(|(name, input)| {
            let default = input.get("default")?.as_str()?;
            let value = match default {
                "${{ github.token }}" => JOB_TOKEN,
                d if d.contains("${{") => panic!("no runner value for the default of {name}: {d}"),
                d => d,
            };
            Some((name.clone(), value.to_string()))
        })
        .collect()
}

/// A step of `mode` in the emulator's region (eu-west-1), then `extra`
/// inputs in order (a later one replaces an earlier).
pub fn step(emu: &Emulator, mode: &str, extra: &[(&str, &str)]) -> ActionRun {
    let base = [("mode", mode), ("aws-region", "eu-west-1")];
    extra
        .iter()
        .fold(ActionRun::new(Some(emu), &base), |run, (k, v)| {
            run.input(k, v)
        })
}

/// A [`step`] in the emulator's `prod` cluster: `mode` for `service`.
pub fn prod_step(emu: &Emulator, mode: &str, service: &str, extra: &[(&str, &str)]) -> ActionRun {
    let place = [("cluster", "prod"), ("service", service)];
    step(emu, mode, &[&place[..], extra].concat())
}

/// `environment-variables` that make the emulator's tasks of a revision fail
/// to start as an image that cannot be pulled does (ecs_layer.py).
pub const CANNOT_PULL: &str = "FDEMU_FAIL_TO_START=CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref: not found";

/// The token the emulator's GitHub API accepts (fdemu.py's GITHUB_TOKEN).
pub const GITHUB_TOKEN: &str = "ghs_fdemuToken0b5e9f7c1d2e3f4a5b6c7d8e9f0a1b2c3d";

pub struct Emulator {
    child: Child,
    pub port: u16,
    /// The fault-injecting proxy in front (`start_with_fault_proxy`).
    pub proxy_port: Option<u16>,
    pub seed: Value,
    _log_dir: tempfile::TempDir,
}

/// Whether the end-to-end tests can run here: the emulator's virtualenv and
/// GitHub's OpenAPI description are installed (tests/run installs both).
/// Under CI, or with `FARGATE_DEPLOY_REQUIRE_E2E` set, they must be: a
/// missing install is a failure there, never a skip.
fn emulator_installed() -> bool {
    let venv = std::env::var_os("FARGATE_DEPLOY_PYTHON").is_some()
        || repo_root().join("target/emulator-venv/bin/python").exists();
    let openapi = std::env::var_os("FARGATE_DEPLOY_GITHUB_OPENAPI").is_some()
        || repo_root().join("target/github-openapi").exists();
    let required = std::env::var_os("CI").is_some()
        || std::env::var_os("FARGATE_DEPLOY_REQUIRE_E2E").is_some();
    (venv && openapi) || required
}

/// Said once per test binary when its end-to-end tests are skipped.
static SKIP_SAID: std::sync::Once = std::sync::Once::new();

fn skipped() -> Option<Emulator> {
    SKIP_SAID.call_once(|| {
        // Straight to stderr: the test harness captures eprintln! of passing tests.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "skipped: the end-to-end tests need the AWS emulator's virtualenv (moto[server], pinned) and GitHub's OpenAPI description; `tests/run` installs both and runs everything. Unit and scenario tests ran."
        );
    });
    None
}

/// The emulator's Python (its virtualenv, with moto and botocore), or
/// `None` (skipped, said once) where it is not installed and not required.
pub fn try_python() -> Option<PathBuf> {
    match emulator_installed() {
        true => Some(python()),
        false => skipped().map(|_| unreachable!()),
    }
}

impl Emulator {
    /// Starts a fresh emulator seeded with the "default" scenario.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// [`Emulator::start`], or `None` (the test returns, skipped, with a
    /// message) where the emulator is not installed and not required.
    pub fn try_start() -> Option<Self> {
        if !emulator_installed() {
            return skipped();
        }
        Some(Self::start())
    }

    /// [`Emulator::start_with_fault_proxy`], or `None` as [`Emulator::try_start`].
    pub fn try_start_with_fault_proxy() -> Option<Self> {
        if !emulator_installed() {
            return skipped();
        }
        Some(Self::start_with_fault_proxy())
    }

    /// The emulator with tests/emulator/proxy.py in front, for fault injection:
    /// runs given `ActionRun::through_proxy` go through it.
    pub fn start_with_fault_proxy() -> Self {
        Self::start_with(&["--fault-proxy"])
    }

    /// Adds faults to the proxy's plan: `{"ecs:DescribeTasks": ["throttle", "503"]}`.
    pub fn inject(&self, plan: Value) {
        self.http("POST", "/_fd/faults", &plan.to_string());
    }

    /// The GitHub API mock: requests, violations of GitHub's OpenAPI
    /// description, deployments with statuses, comments.
    pub fn github(&self) -> Value {
        self.http("GET", "/_fd/github", "")
    }

    /// Seeds or configures the GitHub API mock (see tests/emulator/github_layer.py).
    pub fn github_control(&self, update: Value) -> Value {
        self.http("POST", "/_fd/github", &update.to_string())
    }

    /// What the proxy injected, by kind, and what is left of the plan.
    pub fn faults(&self) -> Value {
        self.http("GET", "/_fd/faults", "")
    }

    fn start_with(extra: &[&str]) -> Self {
        let log_dir = tempfile::tempdir().unwrap();
        let log = std::fs::File::create(log_dir.path().join("emulator.log")).unwrap();
        let mut child = Command::new(python())
            .arg(repo_root().join("tests/emulator/fdemu.py"))
            .args(["--port", "0", "--seed", "default"])
            .args(extra)
            .current_dir(repo_root().join("tests/emulator"))
            .env("FDEMU_GITHUB_OPENAPI", github_openapi())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start the emulator");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        if line.trim().is_empty() {
            let _ = child.kill();
            let text =
                std::fs::read_to_string(log_dir.path().join("emulator.log")).unwrap_or_default();
            panic!("the emulator did not start:\n{text}");
        }
        let ready: Value = serde_json::from_str(&line).unwrap();
        Self {
            child,
            port: ready["port"].as_u64().unwrap() as u16,
            proxy_port: ready["proxy_port"].as_u64().map(|p| p as u16),
            seed: ready["seed"].clone(),
            _log_dir: log_dir,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn seed_str(&self, key: &str) -> String {
        self.seed[key].as_str().unwrap().to_string()
    }

    pub fn digest(&self, tag: &str) -> String {
        self.seed["digests"][tag].as_str().unwrap().to_string()
    }

    /// `registry/web@digest` for a seeded tag.
    pub fn pinned(&self, tag: &str) -> String {
        format!("{}/web@{}", self.seed_str("registry"), self.digest(tag))
    }

    fn http(&self, method: &str, path: &str, body: &str) -> Value {
        http(self.port, method, path, body)
    }

    /// Every AWS call seen since seeding, as "service:Operation".
    pub fn calls(&self) -> Vec<String> {
        call_names(self.port)
    }

    /// Every logged request: service, operation, signing key (and parameters of some).
    pub fn requests(&self) -> Vec<Value> {
        requests(self.port)
    }

    /// The calls that change something in AWS.
    /// Nothing in AWS changed: no mutating call reached the emulator.
    #[track_caller]
    pub fn assert_unchanged(&self) {
        assert_eq!(self.mutating_calls(), Vec::<String>::new());
    }

    pub fn mutating_calls(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|c| is_mutating(c))
            .collect()
    }

    /// The parameters of every logged call to `operation` (RunTask, StopTask, UpdateService).
    pub fn params(&self, operation: &str) -> Vec<Value> {
        self.http("GET", "/_fd/requests", "")
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["operation"] == operation)
            .map(|c| c["params"].clone())
            .collect()
    }

    /// The task definitions the runs deregistered, in the order they did.
    pub fn deregistered(&self) -> Vec<String> {
        self.params("DeregisterTaskDefinition")
            .iter()
            .map(|p| p["taskDefinition"].as_str().unwrap().to_string())
            .collect()
    }

    pub fn oidc_requests(&self) -> Value {
        self.http("GET", "/_fd/oidc-requests", "")
    }

    /// Sets emulator switches (fdemu.py's `/_fd/config`); returns them all,
    /// with what the layers counted (`throttled`).
    pub fn configure(&self, config: Value) -> Value {
        self.http("POST", "/_fd/config", &config.to_string())
    }

    /// Every AWS call the emulator saw, in name order (concurrent reads
    /// come in any order).
    pub fn calls_sorted(&self) -> Vec<String> {
        let mut calls = self.calls();
        calls.sort();
        calls
    }

    /// Registers the task definition `td` through boto3, as an earlier
    /// deploy would have; its ARN.
    pub fn register_definition(&self, td: &Value) -> String {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("taskdef.json");
        std::fs::write(&file, td.to_string()).unwrap();
        self.register_with_boto3(&file).unwrap()
    }

    /// One AWS call through boto3 (`service` as boto3 names it, the
    /// operation in snake case), for a test's set-up or a look afterwards;
    /// returns the answer.
    pub fn aws(&self, service: &str, operation: &str, params: &Value) -> Value {
        let mut call = Command::new(python());
        call.arg(repo_root().join("tests/emulator/call.py")).args([
            &self.url(),
            service,
            operation,
            &params.to_string(),
        ]);
        serde_json::from_slice(&succeeded(&mut call)).unwrap()
    }

    /// Registers a task-definition file through boto3 (which validates it
    /// against the ECS API model); returns the ARN or boto3's error.
    pub fn register_with_boto3(&self, file: &Path) -> Result<String, String> {
        let out = Command::new(python())
            .arg(repo_root().join("tests/emulator/register.py"))
            .arg(self.url())
            .arg(file)
            .output()
            .unwrap();
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).to_string())
        }
    }
}

/// What the emulator handed out (OIDC tokens, STS keys), for the leak scan.
fn issued_secrets(port: Option<u16>) -> Vec<String> {
    let Some(port) = port else { return Vec::new() };
    let issued = http(port, "GET", "/_fd/secrets", "");
    issued
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s.as_str())
        .filter(|s| s.len() >= 8)
        .map(str::to_string)
        .collect()
}

/// What a spawned run did after a signal.
pub struct Signalled {
    pub code: Option<i32>,
    pub stdout: String,
    /// From the signal to the exit.
    pub took: std::time::Duration,
}

impl Emulator {
    /// True once the emulator has seen `call` ("ecs:UpdateService").
    pub fn saw(&self, call: &str) -> bool {
        self.calls().iter().any(|c| c == call)
    }
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
struct SpawnedRun {
    secrets: Vec<String>,
    emulator_port: Option<u16>,
    workspace: PathBuf,
    /// The run's mode and the emulator's call count at its start, so its
    /// calls are recorded for the least-privilege check as `run()`'s are.
    mode: Option<String>,
    calls_before: Option<usize>,
}

/// Fails the test whose run sent a request, or was given an answer by the
/// emulator, that breaks AWS's service model (tests/emulator/conformance.py).
fn assert_conformant(port: u16) {
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
fn record_calls(mode: &str, port: u16, before: usize) {
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
static SPAWNED: std::sync::Mutex<BTreeMap<u32, SpawnedRun>> =
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

fn without_code_spans(line: &str) -> String {
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
fn count_scan(secrets: usize) {
    let path = repo_root().join("target/secret-scans");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(f, "{secrets}");
    }
}

/// Every AWS request the emulator logged since seeding.
fn requests(port: u16) -> Vec<Value> {
    http(port, "GET", "/_fd/requests", "")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Every logged AWS call as "service:Operation", in order.
fn call_names(port: u16) -> Vec<String> {
    requests(port)
        .iter()
        .map(|c| {
            format!(
                "{}:{}",
                c["service"].as_str().unwrap_or("?"),
                c["operation"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

/// A minimal HTTP/1.0 client for the emulator's `/_fd/` endpoints.
fn http(port: u16, method: &str, path: &str, body: &str) -> Value {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{path}: {e}: {text}"))
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // What the runs of this emulator asked and were answered, for the
        // conformance report of tests/run (tests/emulator/conformance_report.py).
        if !std::thread::panicking() {
            let state = http(self.port, "GET", "/_fd/conformance", "");
            let dir = repo_root().join("target/conformance");
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::write(
                dir.join(format!("{}-{}.json", std::process::id(), self.port)),
                state.to_string(),
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The emulator's request log, by port (for code that holds a run, not the emulator).
pub struct EmulatorHandle {
    port: u16,
}

impl EmulatorHandle {
    /// The calls that changed something, as [`Emulator::mutating_calls`] counts them.
    pub fn mutating_calls(&self) -> Vec<String> {
        call_names(self.port)
            .into_iter()
            .filter(|c| is_mutating(c))
            .collect()
    }
}

/// Not a read: Describe*, List*, Get*, BatchGet*, STS and log reads are reads.
fn is_mutating(call: &str) -> bool {
    let read_only = [
        "Describe",
        "List",
        "Get",
        "BatchGet",
        "AssumeRoleWithWebIdentity",
        "FilterLogEvents",
    ];
    let op = call.split(':').nth(1).unwrap_or("");
    !read_only.iter().any(|p| op.starts_with(p))
}

/// Runs `command` to its end; its standard output, or (when it fails) a
/// panic that shows what it wrote to standard error.
#[track_caller]
pub fn succeeded(command: &mut Command) -> Vec<u8> {
    let out = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{command:?} failed: {stderr}");
    out.stdout
}

/// `haystack` contains `needle`; otherwise the whole haystack is shown.
#[track_caller]
pub fn assert_contains(haystack: &str, needle: &str) {
    assert!(
        haystack.contains(needle),
        "expected `{needle}` in:\n{haystack}"
    );
}

/// `haystack` does not contain `needle`; otherwise the whole haystack is shown.
#[track_caller]
pub fn assert_lacks(haystack: &str, needle: &str) {
    assert!(
        !haystack.contains(needle),
        "did not expect `{needle}` in:\n{haystack}"
    );
}

/// One run of the binary as the GitHub runner starts a container action.
pub struct ActionRun {
    pub workspace: tempfile::TempDir,
    env: BTreeMap<String, String>,
    args: Vec<String>,
    emulator_port: Option<u16>,
    /// Started from this unpacked image root instead of the test binary.
    image: Option<PathBuf>,
}

pub struct Finished {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub outputs: BTreeMap<String, String>,
    pub summary: String,
    pub workspace: PathBuf,
    _workspace_dir: tempfile::TempDir,
}

impl Finished {
    /// Secret hygiene, checked after every run: no secret in stdout, stderr,
    /// outputs, the summary or any file the run wrote — except the one
    /// `::add-mask::` line that must carry it.
    pub fn assert_no_secret_leaked(&self, secrets: &[String]) {
        assert_no_secret_in(&self.stdout, &self.stderr, &self.workspace, secrets);
    }

    /// What the runner reads in stdout: only the tool's own workflow
    /// commands, never a stop-commands, never `##[` in a printed line.
    pub fn assert_runner_reads_only_our_commands(&self) {
        assert_only_our_commands(&self.stdout);
    }

    pub fn output(&self, name: &str) -> &str {
        self.outputs.get(name).unwrap_or_else(|| {
            panic!(
                "no output `{name}`; outputs: {:?}\n{}",
                self.outputs, self.stdout
            )
        })
    }

    pub fn file(&self, rel: &str) -> String {
        std::fs::read_to_string(self.workspace.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    pub fn json(&self, rel: &str) -> Value {
        serde_json::from_str(&self.file(rel)).unwrap()
    }

    /// The first `::error` line, decoded.
    /// Every output the run set is one action.yml declares (inputs::spec::OUTPUTS).
    pub fn assert_outputs_are_declared(&self) {
        for name in self.outputs.keys() {
            assert!(
                fargate_deploy::inputs::spec::OUTPUTS
                    .iter()
                    .any(|(declared, _)| declared == name),
                "output `{name}` is not declared in inputs::spec::OUTPUTS (and action.yml)"
            );
        }
    }

    /// The run ended with `code`; otherwise everything it printed.
    #[track_caller]
    pub fn assert_code(&self, code: i32) {
        assert_eq!(self.code, code, "{}", self.all_text());
    }
    /// The log shows exactly these stages (`flow`: their names joined by
    /// ` → `), each a numbered group `[k/n]`, in order.
    #[track_caller]
    pub fn assert_stages(&self, flow: &str) {
        let stages: Vec<&str> = flow.split(" → ").collect();
        let n = stages.len();
        let mut from = 0;
        for (k, stage) in stages.iter().enumerate() {
            let group = format!("::group::[{}/{n}] {stage}\n", k + 1);
            match self.stdout[from..].find(&group) {
                Some(at) => from += at + group.len(),
                None => panic!("no `{group}` after byte {from} in\n{}", self.stdout),
            }
        }
        assert_eq!(
            self.stdout.matches("::endgroup::").count(),
            n,
            "{}",
            self.stdout
        );
    }

    /// The first `::error` line contains `text`; returns it.
    #[track_caller]
    pub fn assert_error_contains(&self, text: &str) -> String {
        let error = self.first_error();
        assert!(error.contains(text), "expected `{text}` in: {error}");
        error
    }

    /// Refused as bad input: exit 2, `text` in the first `::error` line,
    /// and no mutating call reached the emulator.
    #[track_caller]
    pub fn assert_refused(&self, emu: &Emulator, text: &str) {
        self.assert_code(2);
        self.assert_error_contains(text);
        emu.assert_unchanged();
    }

    /// The first `::error` line starts with `prefix`; returns it.
    #[track_caller]
    pub fn assert_error_starts_with(&self, prefix: &str) -> String {
        let error = self.first_error();
        assert!(error.starts_with(prefix), "expected `{prefix}` at: {error}");
        error
    }

    pub fn first_error(&self) -> String {
        self.stdout
            .lines()
            .find(|l| l.starts_with("::error"))
            .unwrap_or_else(|| panic!("no ::error line in\n{}", self.stdout))
            .to_string()
    }

    pub fn all_text(&self) -> String {
        format!(
            "{}\n{}\n{:?}\n{}",
            self.stdout, self.stderr, self.outputs, self.summary
        )
    }
}

impl ActionRun {
    /// Inputs as `(name, value)`; the runner's variables are set as it sets them.
    pub fn new(emu: Option<&Emulator>, inputs: &[(&str, &str)]) -> Self {
        let workspace = tempfile::tempdir().unwrap();
        let mut env = BTreeMap::new();
        let ws = workspace.path().display().to_string();
        for (k, v) in [
            ("PATH", std::env::var("PATH").unwrap_or_default()),
            ("HOME", ws.clone()),
            ("GITHUB_ACTIONS", "true".into()),
            ("CI", "true".into()),
            ("GITHUB_WORKSPACE", ws.clone()),
            ("GITHUB_OUTPUT", format!("{ws}/.runner/output")),
            ("GITHUB_STEP_SUMMARY", format!("{ws}/.runner/summary")),
            ("GITHUB_RUN_ID", "4242".into()),
            ("GITHUB_RUN_ATTEMPT", "1".into()),
            ("GITHUB_REPOSITORY", "octo-org/octo-app".into()),
            (
                "GITHUB_SHA",
                "0123456789abcdef0123456789abcdef01234567".into(),
            ),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("AWS_CONFIG_FILE", format!("{ws}/.runner/no-aws-config")),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                format!("{ws}/.runner/no-aws-credentials"),
            ),
        ] {
            env.insert(k.to_string(), v);
        }
        std::fs::create_dir_all(workspace.path().join(".runner")).unwrap();
        if let Some(emu) = emu {
            env.insert("AWS_ENDPOINT_URL".into(), emu.url());
            env.insert("AWS_ACCESS_KEY_ID".into(), "testing".into());
            env.insert("AWS_SECRET_ACCESS_KEY".into(), STATIC_SECRET_KEY.into());
        }
        let mut run = Self {
            workspace,
            env,
            args: Vec::new(),
            emulator_port: emu.map(|e| e.port),
            image: None,
        };
        for (k, v) in runner_defaults() {
            run = run.input(&k, &v);
        }
        for (k, v) in inputs {
            run = run.input(k, v);
        }
        run
    }

    /// `INPUT_<NAME>`: upper-cased, spaces to `_`, dashes kept.
    pub fn input(mut self, name: &str, value: &str) -> Self {
        self.env.insert(
            format!("INPUT_{}", name.replace(' ', "_").to_uppercase()),
            value.to_string(),
        );
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.insert(k.into(), v.into());
        self
    }

    pub fn without_env(mut self, k: &str) -> Self {
        self.env.remove(k);
        self
    }

    /// The OIDC token service of the runner, served by the emulator.
    pub fn with_oidc(self, emu: &Emulator) -> Self {
        self.without_env("AWS_ACCESS_KEY_ID")
            .without_env("AWS_SECRET_ACCESS_KEY")
            .env(
                "ACTIONS_ID_TOKEN_REQUEST_URL",
                &format!("{}/_fd/oidc?api-version=2.0", emu.url()),
            )
            .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_TOKEN)
    }

    /// The GitHub REST API of the emulator (GHES-style `/api/v3` base) and its token.
    pub fn with_github(self, emu: &Emulator) -> Self {
        self.env("GITHUB_API_URL", &format!("{}/api/v3", emu.url()))
            .input("github-token", GITHUB_TOKEN)
    }

    /// The run was triggered by pull request `number` (event payload as the runner writes it).
    pub fn on_pull_request(self, number: u64) -> Self {
        let event = serde_json::json!({
            "action": "synchronize",
            "number": number,
            "pull_request": {
                "number": number,
                "head": {"sha": "fedcba9876543210fedcba9876543210fedcba98", "ref": "feature"},
                "base": {"ref": "main"}
            }
        });
        let path = self.write(".runner/event.json", &event.to_string());
        let path = path.display().to_string();
        self.env("GITHUB_EVENT_NAME", "pull_request")
            .env("GITHUB_EVENT_PATH", &path)
            .env("GITHUB_REF", &format!("refs/pull/{number}/merge"))
    }

    /// AWS calls go through the emulator's fault-injecting proxy.
    pub fn through_proxy(self, emu: &Emulator) -> Self {
        let port = emu.proxy_port.expect("Emulator::start_with_fault_proxy");
        self.env("AWS_ENDPOINT_URL", &format!("http://127.0.0.1:{port}"))
    }

    /// Runs as the CLI instead: no GITHUB_ACTIONS, arguments given.
    pub fn cli(mut self, args: &[&str]) -> Self {
        self.env.remove("GITHUB_ACTIONS");
        self.env.retain(|k, _| !k.starts_with("INPUT_"));
        self.args = args.iter().map(|s| s.to_string()).collect();
        self
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.workspace.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    /// The emulator this run talks to (a handle on its control endpoints).
    pub fn emulator(&self) -> Option<EmulatorHandle> {
        self.emulator_port.map(|port| EmulatorHandle { port })
    }

    /// Starts the action from an unpacked image root (`tests/image/build`)
    /// as the runner starts a container action: see [`image::Container`].
    pub fn in_image(mut self, root: &Path) -> Self {
        self.image = Some(root.to_path_buf());
        self
    }

    /// The command that starts this run, and the container it runs in (if any).
    fn launch(&self) -> (Command, Option<image::Container>) {
        match &self.image {
            Some(root) => {
                let container = image::Container::new(root, self.workspace.path(), &self.env);
                (container.command(&self.args), Some(container))
            }
            None => {
                let mut cmd = Command::new(env!("CARGO_BIN_EXE_fargate-deploy"));
                cmd.args(&self.args)
                    .env_clear()
                    .envs(&self.env)
                    .current_dir(self.workspace.path());
                (cmd, None)
            }
        }
    }

    /// Starts the binary without waiting, for signal tests.
    pub fn spawn(&self) -> Child {
        let calls_before = self.emulator_port.map(|p| requests(p).len());
        let (mut cmd, _container) = self.launch();
        assert!(self.image.is_none(), "spawn() runs the test binary only");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        SPAWNED.lock().unwrap().insert(
            child.id(),
            SpawnedRun {
                secrets: self.secrets_before(),
                emulator_port: self.emulator_port,
                workspace: self.workspace.path().to_path_buf(),
                mode: self.mode(),
                calls_before,
            },
        );
        child
    }

    pub fn run(self) -> Finished {
        let secrets = self.secrets_before();
        let calls_before = self.emulator_port.map(|p| requests(p).len());
        let (mut cmd, container) = self.launch();
        let out = cmd.stdin(Stdio::null()).output().unwrap();
        let self_port = self.emulator_port;
        if let (Some(port), Some(before), Some(mode)) = (self_port, calls_before, self.mode()) {
            record_calls(&mode, port, before);
            assert_conformant(port);
        }
        let ws = self.workspace.path().to_path_buf();
        let read = |p: &str| std::fs::read_to_string(ws.join(p)).unwrap_or_default();
        let (output, summary) = match &container {
            Some(c) => (c.output(), c.summary()),
            None => (read(".runner/output"), read(".runner/summary")),
        };
        let finished = Finished {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).to_string(),
            outputs: parse_outputs(&output),
            summary,
            workspace: ws,
            _workspace_dir: self.workspace,
        };
        let mut secrets = secrets;
        secrets.extend(issued_secrets(self_port));
        finished.assert_no_secret_leaked(&secrets);
        finished.assert_runner_reads_only_our_commands();
        finished.assert_outputs_are_declared();
        count_scan(secrets.len());
        finished
    }

    /// The mode of this run: `INPUT_MODE`, or the CLI's first argument.
    fn mode(&self) -> Option<String> {
        match self.env.get("INPUT_MODE") {
            Some(m) => Some(m.clone()),
            None => self.args.first().filter(|a| !a.starts_with('-')).cloned(),
        }
    }

    /// The secrets known before the run: the runner's request token and a github-token input.
    fn secrets_before(&self) -> Vec<String> {
        let mut secrets = vec![REQUEST_TOKEN.to_string()];
        secrets.extend(self.env.get("AWS_SECRET_ACCESS_KEY").cloned());
        // A blank token (`github-token: ''`) is no secret.
        secrets.extend(
            self.env
                .get("INPUT_GITHUB-TOKEN")
                .filter(|t| !t.trim().is_empty())
                .cloned(),
        );
        secrets
    }
}

/// Parses `$GITHUB_OUTPUT` as the runner does (heredoc records).
pub fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let (name, delim) = line
            .split_once("<<")
            .unwrap_or_else(|| panic!("GITHUB_OUTPUT line is not a heredoc record: {line}"));
        let mut value = Vec::new();
        for l in lines.by_ref() {
            if l == delim {
                break;
            }
            value.push(l);
        }
        out.insert(name.to_string(), value.join("\n"));
    }
    out
}
