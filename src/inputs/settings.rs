//! Validated settings, typed per mode: what every mode uses is in
//! [`Settings`]; what only some modes use is in the group structs
//! ([`Rendering`], [`TaskSettings`], [`Following`], [`GitHubDeployment`])
//! that the mode's own struct ([`ModeSettings`]) holds. A mode cannot read
//! an input that does not apply to it: its struct has no field for it. The
//! same groups are the CLI's help headings ([`super::spec::GROUPS`]).

use std::path::PathBuf;
use std::time::Duration;

use super::parse::*;
use super::{
    ImageAssignment, Mode, OnCancel, RawInputs, Retention, SetPatch, TemplateSource, WaitUntil,
    check_applies,
};
use crate::error::Failure;
use crate::schedules::Selection;

#[derive(Debug, Clone)]
pub struct Settings {
    pub access: Access,
    pub cluster: String,
    pub services: Vec<String>,
    pub github_token: Option<String>,
    /// In the action, `GITHUB_WORKSPACE`: the files it reads and writes stay
    /// inside. `None` for the CLI.
    pub workspace: Option<PathBuf>,
    pub mode: ModeSettings,
}

/// How the run reaches AWS.
#[derive(Debug, Clone)]
pub struct Access {
    pub region: Option<String>,
    pub role_to_assume: Option<String>,
    pub role_session_name: Option<String>,
    pub role_duration_seconds: i32,
    pub audience: String,
}

#[derive(Debug, Clone)]
pub enum ModeSettings {
    Render(RenderSettings),
    Migrate(MigrateSettings),
    Deploy(DeploySettings),
    Continue(ContinueSettings),
    Rollback(RollbackSettings),
}

/// The image and the task-definition template (render, migrate, deploy).
#[derive(Debug, Clone)]
pub struct Rendering {
    /// `image` (with `container-name`) or `images`: distinct, in order
    /// (the first is `IMAGE1_NAME`). Empty: promotion — `task-definition`
    /// names a revision deployed (or run) as it is.
    pub images: Vec<ImageAssignment>,
    /// The input that gave them: `image` or `images`.
    pub images_input: &'static str,
    pub pin_digest: bool,
    pub template: TemplateSource,
    pub environment_variables: Vec<(String, String)>,
    pub secrets: Vec<(String, String)>,
    pub set: Vec<SetPatch>,
    pub artifacts_dir: PathBuf,
    pub container_port: Option<i32>,
    pub codedeploy_hooks: Vec<(String, String)>,
}

impl Rendering {
    /// The input that names the containers: `container-name` or `images`.
    pub fn containers_input(&self) -> &'static str {
        match self.images_input {
            "images" => "images",
            _ => "container-name",
        }
    }

    /// The images as given, for people (`web:v1`, `web=web:v1, nginx=proxy:v3`).
    pub fn images_given(&self) -> String {
        let one = |a: &ImageAssignment| match a.containers.as_slice() {
            [] => a.image.to_string(),
            names => format!("{}={}", names.join("+"), a.image),
        };
        match self.images.as_slice() {
            [only] if only.containers.len() <= 1 => only.image.to_string(),
            all => all.iter().map(one).collect::<Vec<_>>().join(", "),
        }
    }
}

#[derive(Debug, Clone)]
pub struct RenderSettings {
    pub rendering: Rendering,
    /// `scheduled-tasks`: what a deploy would move, shown in the plan.
    pub schedules: Option<Selection>,
    pub comment_plan: bool,
    pub show_environment_values: bool,
}

#[derive(Debug, Clone)]
pub struct MigrateSettings {
    pub rendering: Rendering,
    pub task: TaskSettings,
    /// `timeout-minutes` (fractions allowed).
    pub timeout: Duration,
}

/// The one-off task: what it runs and where.
#[derive(Debug, Clone)]
pub struct TaskSettings {
    pub command: Option<Vec<String>>,
    pub container: Option<String>,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub assign_public_ip: Option<bool>,
    pub started_by: String,
    pub stop_on_cancel: bool,
}

#[derive(Debug, Clone)]
pub struct DeploySettings {
    pub rendering: Rendering,
    pub force_new_deployment: bool,
    pub desired_count: Option<i32>,
    /// `fail-fast`: a hopeless rolling deployment is stopped with rollback.
    pub fail_fast: bool,
    pub on_cancel: OnCancel,
    /// `keep-revisions` / `delete-revisions`: old revisions retired after success.
    pub retention: Option<Retention>,
    /// `scheduled-tasks`: moved to the new revisions after success.
    pub schedules: Option<Selection>,
    pub codedeploy_deployment_config: Option<String>,
    pub follow: Following,
    /// `github-deployment: true`, with its environment.
    pub github: Option<GitHubDeployment>,
}

/// `mode: continue`: resume the deployments paused at a PAUSE lifecycle
/// hook and follow them (`follow` has no CodeDeploy names: those inputs
/// do not apply).
#[derive(Debug, Clone)]
pub struct ContinueSettings {
    pub follow: Following,
    pub github: Option<GitHubDeployment>,
    /// `scheduled-tasks`: moved to the continued revisions once their
    /// deployments succeeded.
    pub schedules: Option<Selection>,
}

#[derive(Debug, Clone)]
pub struct RollbackSettings {
    pub follow: Following,
    /// `scheduled-tasks`: moved back with the services.
    pub schedules: Option<Selection>,
}

/// Following deployments to their end (deploy, rollback).
#[derive(Debug, Clone)]
pub struct Following {
    /// `timeout-minutes` (fractions allowed).
    pub timeout: Duration,
    pub wait_until: WaitUntil,
    pub codedeploy_application: Option<String>,
    pub codedeploy_deployment_group: Option<String>,
}

#[derive(Debug, Clone)]
pub struct GitHubDeployment {
    pub environment: Option<String>,
    pub environment_url: Option<String>,
}

impl ModeSettings {
    pub fn mode(&self) -> Mode {
        match self {
            Self::Render(_) => Mode::Render,
            Self::Migrate(_) => Mode::Migrate,
            Self::Deploy(_) => Mode::Deploy,
            Self::Continue(_) => Mode::Continue,
            Self::Rollback(_) => Mode::Rollback,
        }
    }

    pub fn rendering(&self) -> Option<&Rendering> {
        match self {
            Self::Render(r) => Some(&r.rendering),
            Self::Migrate(m) => Some(&m.rendering),
            Self::Deploy(d) => Some(&d.rendering),
            Self::Continue(_) | Self::Rollback(_) => None,
        }
    }
}

impl Settings {
    pub fn mode(&self) -> Mode {
        self.mode.mode()
    }

    /// Refuses inputs that do not apply to the mode, then parses each group
    /// the mode uses.
    pub fn parse(raw: &RawInputs) -> Result<Self, Failure> {
        let mode = parse_mode(raw.get("mode"))?;
        check_applies(mode, raw)?;
        let access = parse_access(raw)?;
        let cluster = raw.get("cluster").expect("has a default").to_string();
        parse_resource_name("cluster", &cluster)?;
        let services = split_list(raw.get("service"));
        for s in &services {
            parse_resource_name("service", s)?;
        }
        let mode = match mode {
            Mode::Render => ModeSettings::Render(RenderSettings {
                rendering: parse_rendering(raw, mode, &services)?,
                schedules: parse_schedules(raw)?,
                comment_plan: parse_bool("comment-plan", raw)?,
                show_environment_values: parse_bool("show-environment-values", raw)?,
            }),
            Mode::Migrate => ModeSettings::Migrate(MigrateSettings {
                rendering: parse_rendering(raw, mode, &services)?,
                task: parse_task(raw)?,
                timeout: parse_minutes("timeout-minutes", raw)?,
            }),
            Mode::Deploy => ModeSettings::Deploy(DeploySettings {
                rendering: parse_rendering(raw, mode, &services)?,
                force_new_deployment: parse_bool("force-new-deployment", raw)?,
                desired_count: parse_int("desired-count", raw, 0, 5_000)?.map(|v| v as i32),
                fail_fast: parse_bool("fail-fast", raw)?,
                on_cancel: parse_on_cancel(raw.get("on-cancel").expect("has a default"))?,
                retention: parse_retention(raw)?,
                schedules: parse_schedules(raw)?,
                codedeploy_deployment_config: opt(raw, "codedeploy-deployment-config"),
                follow: parse_following(raw)?,
                github: parse_github_deployment(raw)?,
            }),
            Mode::Continue => ModeSettings::Continue(ContinueSettings {
                follow: parse_following(raw)?,
                github: parse_github_deployment(raw)?,
                schedules: parse_schedules(raw)?,
            }),
            Mode::Rollback => ModeSettings::Rollback(RollbackSettings {
                follow: parse_following(raw)?,
                schedules: parse_schedules(raw)?,
            }),
        };
        let settings = Settings {
            access,
            cluster,
            services,
            github_token: opt(raw, "github-token"),
            workspace: None,
            mode,
        };
        settings.check_services()?;
        Ok(settings)
    }

    /// What each mode needs of `service`.
    fn check_services(&self) -> Result<(), Failure> {
        let mode = self.mode().name();
        match &self.mode {
            ModeSettings::Deploy(_) | ModeSettings::Continue(_) | ModeSettings::Rollback(_)
                if self.services.is_empty() =>
            {
                Err(Failure::input(
                    "service",
                    format!("input `service` is required for mode {mode}"),
                ))
            }
            ModeSettings::Rollback(r) if r.follow.wait_until == WaitUntil::Paused => {
                Err(Failure::input(
                    "wait-until",
                    "`wait-until: paused` waits for a PAUSE lifecycle hook of a deployment (modes deploy and continue); a rollback does not pause: use complete, traffic-shifted or none",
                ))
            }
            ModeSettings::Migrate(_) if self.services.len() > 1 => Err(Failure::input(
                "service",
                "mode migrate takes one `service` (its network settings place the task); give a single name",
            )),
            ModeSettings::Render(r) if r.comment_plan && self.services.is_empty() => {
                Err(Failure::input(
                    "comment-plan",
                    "`comment-plan` shows the change against what a service runs: give `service` too",
                ))
            }
            _ => Ok(()),
        }
    }
}

fn opt(raw: &RawInputs, name: &str) -> Option<String> {
    raw.get(name).map(str::to_string)
}

fn parse_access(raw: &RawInputs) -> Result<Access, Failure> {
    let access = Access {
        region: raw.get("aws-region").map(parse_region).transpose()?,
        role_to_assume: raw.get("role-to-assume").map(parse_role_arn).transpose()?,
        role_session_name: raw
            .get("role-session-name")
            .map(parse_session_name)
            .transpose()?,
        role_duration_seconds: parse_int("role-duration-seconds", raw, 900, 43_200)?
            .expect("has a default") as i32,
        audience: opt(raw, "audience").expect("has a default"),
    };
    if access.role_session_name.is_some() && access.role_to_assume.is_none() {
        return Err(Failure::input(
            "role-session-name",
            "input `role-session-name` is set but `role-to-assume` is not: set the role to assume, or remove the session name",
        ));
    }
    Ok(access)
}

fn parse_rendering(raw: &RawInputs, mode: Mode, services: &[String]) -> Result<Rendering, Failure> {
    let name = mode.name();
    let template = parse_template_source(raw.get("task-definition"))?;
    let images = super::images::parse_images(raw)?;
    if images.is_empty() {
        check_promotion(raw, mode, &template)?;
    }
    if services.is_empty() && template == TemplateSource::Service {
        return Err(Failure::input(
            "service",
            format!(
                "mode {name} needs `service` (its current task definition is the template) or `task-definition` (a file, family or ARN)"
            ),
        ));
    }
    Ok(Rendering {
        images,
        images_input: match raw.get("images") {
            Some(_) => "images",
            None => "image",
        },
        pin_digest: parse_bool("pin-digest", raw)?,
        template,
        environment_variables: parse_pairs(
            "environment-variables",
            raw.get("environment-variables"),
        )?,
        secrets: parse_pairs("secrets", raw.get("secrets"))?,
        set: parse_set(raw.get("set"))?,
        artifacts_dir: PathBuf::from(raw.get("artifacts-dir").expect("has a default")),
        container_port: parse_int("container-port", raw, 1, 65_535)?.map(|v| v as i32),
        codedeploy_hooks: parse_hooks(raw.get("codedeploy-hooks"))?,
    })
}

/// Without `image`, deploy and migrate promote the revision `task-definition`
/// names (`family:revision` or its ARN) as it is: nothing may change it.
fn check_promotion(raw: &RawInputs, mode: Mode, template: &TemplateSource) -> Result<(), Failure> {
    let name = mode.name();
    let revision = match template {
        TemplateSource::Registered(id) if crate::arn::last_segment(id).contains(':') => id,
        _ => {
            let promote = match mode {
                Mode::Deploy | Mode::Migrate => {
                    "; or, to promote a registered revision as it is, give `task-definition: family:revision` (or its ARN) without `image`"
                }
                _ => "",
            };
            return Err(Failure::input(
                "image",
                format!(
                    "input `image` is required for mode {name}: give the image to deploy, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:${{{{ github.sha }}}} (several: `images`, CONTAINER=IMAGE lines){promote}"
                ),
            ));
        }
    };
    if !matches!(mode, Mode::Deploy | Mode::Migrate) {
        return Err(Failure::input(
            "image",
            format!("input `image` is required for mode {name}"),
        ));
    }
    let changes = ["container-name", "environment-variables", "secrets", "set"];
    if let Some(input) = changes.into_iter().find(|i| raw.get(i).is_some()) {
        return Err(Failure::input(
            input,
            format!(
                "input `{input}` changes the definition, which a promotion (task-definition {revision} without image) deploys as it is: remove it, or give `image` to render a new revision"
            ),
        ));
    }
    Ok(())
}

/// `keep-revisions` (at least 1) and `delete-revisions` (only with it). It
/// runs after the deployments succeeded, so only where the wait sees that.
fn parse_retention(raw: &RawInputs) -> Result<Option<Retention>, Failure> {
    let delete = parse_bool("delete-revisions", raw)?;
    let Some(keep) = parse_int("keep-revisions", raw, 1, 10_000)? else {
        if delete {
            return Err(Failure::input(
                "delete-revisions",
                "input `delete-revisions` needs `keep-revisions`: set how many revisions of each family to keep",
            ));
        }
        return Ok(None);
    };
    let wait = raw.get("wait-until").unwrap_or("complete");
    if matches!(wait, "none" | "paused") {
        return Err(Failure::input(
            "keep-revisions",
            format!(
                "input `keep-revisions` retires old revisions once the deployments succeeded, which `wait-until: {wait}` never sees: wait until complete or traffic-shifted, or retire them in a later step"
            ),
        ));
    }
    Ok(Some(Retention {
        keep: keep as u32,
        delete,
    }))
}

fn parse_task(raw: &RawInputs) -> Result<TaskSettings, Failure> {
    let started_by = opt(raw, "started-by").expect("has a default");
    if started_by.chars().count() > 128 {
        return Err(Failure::input(
            "started-by",
            "input `started-by` is longer than 128 characters (ECS's limit)",
        ));
    }
    Ok(TaskSettings {
        command: raw.get("command").map(parse_command).transpose()?,
        container: opt(raw, "migration-container"),
        subnets: split_list(raw.get("subnets")),
        security_groups: split_list(raw.get("security-groups")),
        assign_public_ip: raw
            .get("assign-public-ip")
            .map(parse_public_ip)
            .transpose()?,
        started_by,
        stop_on_cancel: parse_bool("stop-task-on-cancel", raw)?,
    })
}

fn parse_following(raw: &RawInputs) -> Result<Following, Failure> {
    Ok(Following {
        timeout: parse_minutes("timeout-minutes", raw)?,
        wait_until: parse_wait_until(raw.get("wait-until").expect("has a default"))?,
        codedeploy_application: opt(raw, "codedeploy-application"),
        codedeploy_deployment_group: opt(raw, "codedeploy-deployment-group"),
    })
}

fn parse_github_deployment(raw: &RawInputs) -> Result<Option<GitHubDeployment>, Failure> {
    let (environment, environment_url) = (opt(raw, "environment"), opt(raw, "environment-url"));
    if !parse_bool("github-deployment", raw)? {
        for (input, given) in [
            ("environment", environment.is_some()),
            ("environment-url", environment_url.is_some()),
        ] {
            if given {
                return Err(Failure::input(
                    input,
                    format!(
                        "input `{input}` is only used with `github-deployment: true`; set it, or remove `{input}`"
                    ),
                ));
            }
        }
        return Ok(None);
    }
    if let Some(url) = &environment_url
        && !(url.starts_with("https://") || url.starts_with("http://"))
    {
        return Err(Failure::input(
            "environment-url",
            format!(
                "input `environment-url` must be an http(s) URL, e.g. https://app.example.com (got `{url}`)"
            ),
        ));
    }
    if environment
        .as_deref()
        .is_some_and(|e| e.chars().count() > 255)
    {
        return Err(Failure::input(
            "environment",
            "input `environment` is longer than 255 characters (GitHub's limit for an environment name)",
        ));
    }
    Ok(Some(GitHubDeployment {
        environment,
        environment_url,
    }))
}
