//! Inputs: read from `INPUT_*` (action) or flags (CLI) into [`RawInputs`],
//! then validated once into [`Settings`]. Everything a person can get wrong
//! in the inputs is caught here, before any AWS call.

pub mod parse;
pub mod spec;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use spec::{INPUTS, InputSpec};

use crate::error::Failure;
use crate::image::ImageRef;
use crate::runner::input_env_name;
use parse::*;

/// Input values as given (trimmed; empty means not given).
#[derive(Debug, Default, Clone)]
pub struct RawInputs(BTreeMap<&'static str, String>);

impl RawInputs {
    /// Reads `INPUT_<NAME>` variables exactly as the runner sets them.
    pub fn from_env_with(get: impl Fn(&str) -> Option<String>) -> Self {
        let mut raw = Self::default();
        for spec in INPUTS {
            if let Some(v) = get(&input_env_name(spec.name)) {
                raw.set(spec.name, &v);
            }
        }
        raw
    }

    pub fn set(&mut self, name: &'static str, value: &str) {
        let v = value.trim();
        if !v.is_empty() {
            self.0.insert(name, v.to_string());
        }
    }

    /// The given value, else the documented default.
    pub fn get(&self, name: &str) -> Option<&str> {
        let spec = spec::spec(name).unwrap_or_else(|| panic!("unknown input {name}"));
        self.0.get(name).map(String::as_str).or(spec.default)
    }

    /// The action's files stay in the workspace: `artifacts-dir` and a
    /// `task-definition` path must be relative, without `..` (checked before
    /// anything else looks at them; links leading out are refused where the
    /// files are used). An ARN or a family passes: it has neither.
    pub fn check_workspace_paths(&self) -> Result<(), Failure> {
        for input in ["artifacts-dir", "task-definition"] {
            if let Some(v) = self.get(input).filter(|v| !v.starts_with("arn:")) {
                crate::workspace::check_relative(input, std::path::Path::new(v))?;
            }
        }
        Ok(())
    }

    /// Set to something other than its documented default. The runner
    /// passes every input's default as `INPUT_*` too (it merges action.yml's
    /// defaults into the step's inputs), so an input that carries its default
    /// was not asked for.
    pub fn given(&self, name: &str) -> bool {
        let default = spec::spec(name).and_then(|s| s.default);
        match (self.0.get(name), default) {
            (None, _) => false,
            (Some(v), Some(d)) => !v.eq_ignore_ascii_case(d),
            (Some(_), None) => true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Render,
    Migrate,
    Deploy,
    Rollback,
}

impl Mode {
    pub const ALL: [(&'static str, Mode); 4] = [
        ("render", Mode::Render),
        ("migrate", Mode::Migrate),
        ("deploy", Mode::Deploy),
        ("rollback", Mode::Rollback),
    ];

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, m)| *m == self)
            .map(|(n, _)| *n)
            .unwrap()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitUntil {
    Complete,
    TrafficShifted,
    None,
}

/// Where the task-definition template comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateSource {
    /// The service's current task definition (the default).
    Service,
    File(PathBuf),
    /// A family, `family:revision` or ARN.
    Registered(String),
}

#[derive(Debug, Clone)]
pub struct SetPatch {
    pub path: String,
    pub value: serde_json::Value,
}

/// Validated settings; the same for the action and the CLI.
#[derive(Debug, Clone)]
pub struct Settings {
    pub mode: Mode,
    pub aws_region: Option<String>,
    pub role_to_assume: Option<String>,
    pub role_session_name: Option<String>,
    pub role_duration_seconds: i32,
    pub audience: String,
    pub cluster: String,
    pub services: Vec<String>,
    pub image: Option<ImageRef>,
    pub pin_digest: bool,
    pub template: TemplateSource,
    pub container_names: Vec<String>,
    pub environment_variables: Vec<(String, String)>,
    pub secrets: Vec<(String, String)>,
    pub set: Vec<SetPatch>,
    pub artifacts_dir: PathBuf,
    pub container_port: Option<i32>,
    pub command: Option<Vec<String>>,
    pub migration_container: Option<String>,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub assign_public_ip: Option<bool>,
    pub started_by: String,
    /// `timeout-minutes` (fractions allowed).
    pub timeout: std::time::Duration,
    pub stop_task_on_cancel: bool,
    pub force_new_deployment: bool,
    pub desired_count: Option<i32>,
    pub wait_until: WaitUntil,
    pub codedeploy_application: Option<String>,
    pub codedeploy_deployment_group: Option<String>,
    pub codedeploy_deployment_config: Option<String>,
    pub codedeploy_hooks: Vec<(String, String)>,
    pub github_deployment: bool,
    pub environment: Option<String>,
    pub environment_url: Option<String>,
    pub github_token: Option<String>,
    pub comment_plan: bool,
    pub show_environment_values: bool,
    /// In the action, `GITHUB_WORKSPACE`: the files it reads and writes stay
    /// inside ([`Settings::confine_to`]). `None` for the CLI.
    pub workspace: Option<PathBuf>,
}

impl Settings {
    // Over 80 lines, and reads better whole: one field per input, in the
    // order of the spec, each parsed where it is set.
    pub fn parse(raw: &RawInputs) -> Result<Self, Failure> {
        let opt = |n: &str| raw.get(n).map(str::to_string);
        let mode = parse_mode(raw.get("mode"))?;
        check_applies(mode, raw)?;
        let image = raw
            .get("image")
            .map(|s| ImageRef::parse(s).map_err(|e| Failure::input("image", e.to_string())))
            .transpose()?;
        let role_to_assume = raw.get("role-to-assume").map(parse_role_arn).transpose()?;
        let template = parse_template_source(raw.get("task-definition"))?;
        let services = split_list(raw.get("service"));
        for s in &services {
            parse_resource_name("service", s)?;
        }

        let settings = Settings {
            mode,
            aws_region: raw.get("aws-region").map(parse_region).transpose()?,
            role_to_assume,
            role_session_name: raw
                .get("role-session-name")
                .map(parse_session_name)
                .transpose()?,
            role_duration_seconds: parse_int("role-duration-seconds", raw, 900, 43_200)?
                .expect("has a default") as i32,
            audience: opt("audience").expect("has a default"),
            cluster: {
                let c = opt("cluster").expect("has a default");
                parse_resource_name("cluster", &c)?;
                c
            },
            services,
            image,
            pin_digest: parse_bool("pin-digest", raw)?,
            template,
            container_names: split_list(raw.get("container-name")),
            environment_variables: parse_pairs(
                "environment-variables",
                raw.get("environment-variables"),
            )?,
            secrets: parse_pairs("secrets", raw.get("secrets"))?,
            set: parse_set(raw.get("set"))?,
            artifacts_dir: PathBuf::from(raw.get("artifacts-dir").expect("has a default")),
            container_port: parse_int("container-port", raw, 1, 65_535)?.map(|v| v as i32),
            command: raw.get("command").map(parse_command).transpose()?,
            migration_container: opt("migration-container"),
            subnets: split_list(raw.get("subnets")),
            security_groups: split_list(raw.get("security-groups")),
            assign_public_ip: raw
                .get("assign-public-ip")
                .map(parse_public_ip)
                .transpose()?,
            started_by: {
                let s = opt("started-by").expect("has a default");
                if s.chars().count() > 128 {
                    return Err(Failure::input(
                        "started-by",
                        "input `started-by` is longer than 128 characters (ECS's limit)",
                    ));
                }
                s
            },
            timeout: parse_minutes("timeout-minutes", raw)?,
            stop_task_on_cancel: parse_bool("stop-task-on-cancel", raw)?,
            force_new_deployment: parse_bool("force-new-deployment", raw)?,
            desired_count: parse_int("desired-count", raw, 0, 5_000)?.map(|v| v as i32),
            wait_until: parse_wait_until(raw.get("wait-until").expect("has a default"))?,
            codedeploy_application: opt("codedeploy-application"),
            codedeploy_deployment_group: opt("codedeploy-deployment-group"),
            codedeploy_deployment_config: opt("codedeploy-deployment-config"),
            codedeploy_hooks: parse_hooks(raw.get("codedeploy-hooks"))?,
            github_deployment: parse_bool("github-deployment", raw)?,
            environment: opt("environment"),
            environment_url: opt("environment-url"),
            github_token: opt("github-token"),
            comment_plan: parse_bool("comment-plan", raw)?,
            show_environment_values: parse_bool("show-environment-values", raw)?,
            workspace: None,
        };
        settings.check_combinations()?;
        Ok(settings)
    }

    /// Inputs that are fine alone but wrong together, or missing for the mode.
    fn check_combinations(&self) -> Result<(), Failure> {
        let mode = self.mode.name();
        if matches!(self.mode, Mode::Render | Mode::Migrate | Mode::Deploy) && self.image.is_none()
        {
            return Err(Failure::input(
                "image",
                format!(
                    "input `image` is required for mode {mode}: give the image to deploy, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:${{{{ github.sha }}}}"
                ),
            ));
        }
        if self.services.is_empty() && self.template == TemplateSource::Service {
            return Err(Failure::input(
                "service",
                format!(
                    "mode {mode} needs `service` (its current task definition is the template) or `task-definition` (a file, family or ARN)"
                ),
            ));
        }
        if matches!(self.mode, Mode::Deploy | Mode::Rollback) && self.services.is_empty() {
            return Err(Failure::input(
                "service",
                format!("input `service` is required for mode {mode}"),
            ));
        }
        if self.mode == Mode::Migrate && self.services.len() > 1 {
            return Err(Failure::input(
                "service",
                "mode migrate takes one `service` (its network settings place the task); give a single name",
            ));
        }
        for (input, given) in [
            ("environment", self.environment.is_some()),
            ("environment-url", self.environment_url.is_some()),
        ] {
            if given && !self.github_deployment {
                return Err(Failure::input(
                    input,
                    format!(
                        "input `{input}` is only used with `github-deployment: true`; set it, or remove `{input}`"
                    ),
                ));
            }
        }
        if let Some(url) = &self.environment_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(Failure::input(
                "environment-url",
                format!(
                    "input `environment-url` must be an http(s) URL, e.g. https://app.example.com (got `{url}`)"
                ),
            ));
        }
        if self
            .environment
            .as_deref()
            .is_some_and(|e| e.chars().count() > 255)
        {
            return Err(Failure::input(
                "environment",
                "input `environment` is longer than 255 characters (GitHub's limit for an environment name)",
            ));
        }
        if self.comment_plan && self.services.is_empty() {
            return Err(Failure::input(
                "comment-plan",
                "`comment-plan` shows the change against what a service runs: give `service` too",
            ));
        }
        if self.role_session_name.is_some() && self.role_to_assume.is_none() {
            return Err(Failure::input(
                "role-session-name",
                "input `role-session-name` is set but `role-to-assume` is not: set the role to assume, or remove the session name",
            ));
        }
        Ok(())
    }
}

/// No input is silently ignored: one given to a mode it does not apply to
/// is refused, before any value is parsed (the mode is the problem, not the value).
fn check_applies(mode: Mode, raw: &RawInputs) -> Result<(), Failure> {
    let name = mode.name();
    if let Some(spec) = INPUTS
        .iter()
        .find(|s| raw.given(s.name) && !s.applies_to(mode))
    {
        let names: Vec<&str> = spec.modes.iter().map(|m| m.name()).collect();
        let why = match mode {
            Mode::Rollback if spec.applies_to(Mode::Render) => {
                ", which returns to an earlier revision"
            }
            _ => "",
        };
        return Err(Failure::input(
            spec.name,
            format!(
                "input `{}` does not apply to mode {name}{why} (only to {}); remove it from this step",
                spec.name,
                names.join(", ")
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
