//! One run of the binary as the GitHub runner starts a container action
//! (`ActionRun`), what it left (`Finished`), and the steps the suites start.

use super::*;

/// Every action.yml input with a default, as the runner passes it: the runner
/// merges action.yml's defaults into the step's inputs and sets `INPUT_*`
/// for all of them, in every step.
pub(crate) fn runner_defaults() -> Vec<(String, String)> {
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
