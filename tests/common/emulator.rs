//! The emulator (moto + the thin layers of tests/emulator) on a free
//! loopback port: starting it, its switches, and what it saw.

use super::*;

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
pub(crate) fn emulator_installed() -> bool {
    let venv = std::env::var_os("FARGATE_DEPLOY_PYTHON").is_some()
        || repo_root().join("target/emulator-venv/bin/python").exists();
    let openapi = std::env::var_os("FARGATE_DEPLOY_GITHUB_OPENAPI").is_some()
        || repo_root().join("target/github-openapi").exists();
    let required = std::env::var_os("CI").is_some()
        || std::env::var_os("FARGATE_DEPLOY_REQUIRE_E2E").is_some();
    (venv && openapi) || required
}

/// Said once per test binary when its end-to-end tests are skipped.
pub(crate) static SKIP_SAID: std::sync::Once = std::sync::Once::new();

pub(crate) fn skipped() -> Option<Emulator> {
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
pub(crate) fn issued_secrets(port: Option<u16>) -> Vec<String> {
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

impl Emulator {
    /// True once the emulator has seen `call` ("ecs:UpdateService").
    pub fn saw(&self, call: &str) -> bool {
        self.calls().iter().any(|c| c == call)
    }
}

/// Every AWS request the emulator logged since seeding.
pub(crate) fn requests(port: u16) -> Vec<Value> {
    http(port, "GET", "/_fd/requests", "")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Every logged AWS call as "service:Operation", in order.
pub(crate) fn call_names(port: u16) -> Vec<String> {
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
pub(crate) fn http(port: u16, method: &str, path: &str, body: &str) -> Value {
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
    pub(crate) port: u16,
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
pub(crate) fn is_mutating(call: &str) -> bool {
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
