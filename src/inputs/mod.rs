//! Inputs: read from `INPUT_*` (action) or flags (CLI) into [`RawInputs`],
//! then validated once into [`Settings`]. Everything a person can get wrong
//! in the inputs is caught here, before any AWS call.

pub mod images;
pub mod parse;
pub mod settings;
pub mod spec;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use images::ImageAssignment;
pub use settings::{
    Access, ContinueSettings, DeploySettings, Following, GitHubDeployment, MigrateSettings,
    ModeSettings, RenderSettings, Rendering, RollbackSettings, Settings, TaskSettings,
};
pub use spec::{INPUTS, InputSpec};

use crate::error::Failure;
use crate::runner::input_env_name;

/// Input values as given (trimmed; empty means not given).
#[derive(Debug, Default, Clone)]
pub struct RawInputs(BTreeMap<&'static str, String>);

/// Inputs given as `(name, value)` pairs, each as [`RawInputs::set`] takes it.
impl<'a> FromIterator<(&'static str, &'a str)> for RawInputs {
    fn from_iter<I: IntoIterator<Item = (&'static str, &'a str)>>(pairs: I) -> Self {
        let mut raw = Self::default();
        for (name, value) in pairs {
            raw.set(name, value);
        }
        raw
    }
}

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
    /// Resumes a deployment paused at a PAUSE lifecycle hook.
    Continue,
    Rollback,
}

impl Mode {
    pub const ALL: [(&'static str, Mode); 5] = [
        ("render", Mode::Render),
        ("migrate", Mode::Migrate),
        ("deploy", Mode::Deploy),
        ("continue", Mode::Continue),
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
    /// Until an ECS-native deployment awaits ContinueServiceDeployment at a
    /// PAUSE lifecycle hook (deploy, continue).
    Paused,
    None,
}

/// What a cancelled deploy does with the deployments it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnCancel {
    /// They go on in AWS, unwatched (the default).
    Leave,
    /// Each is stopped with rollback to the revision it replaced.
    Rollback,
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

/// `keep-revisions` / `delete-revisions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// The newest ACTIVE revisions of each deployed family to keep.
    pub keep: u32,
    /// Also delete the families' INACTIVE revisions not in use.
    pub delete: bool,
}

#[derive(Debug, Clone)]
pub struct SetPatch {
    pub path: String,
    pub value: serde_json::Value,
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
            Mode::Continue if spec.applies_to(Mode::Deploy) => {
                ", which resumes the deployment a deploy step started"
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
