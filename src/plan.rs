//! What a deploy will do, decided from what it read before its first
//! mutating call: per service the revision it registers or reuses, the
//! strategy its deployment controller deploys it with, and what "done"
//! means. Pure values and pure decisions — nothing here calls AWS; the
//! stages that change AWS carry the plan out as it was printed.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_ecs::types::Service;
use serde_json::Value;

use crate::arn::last_segment;

use crate::error::bad_input;
use crate::inputs::{Following, Retention, WaitUntil};
use crate::taskdef::normalize::equivalent;

/// An ECS-native deployment strategy (`deploymentConfiguration.strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NativeKind {
    BlueGreen,
    Linear,
    Canary,
}

impl NativeKind {
    /// The service's native strategy; `None` for a rolling service.
    pub fn of(svc: &Service) -> Option<Self> {
        match svc
            .deployment_configuration()
            .and_then(|c| c.strategy())
            .map(|s| s.as_str())
        {
            Some("BLUE_GREEN") => Some(Self::BlueGreen),
            Some("LINEAR") => Some(Self::Linear),
            Some("CANARY") => Some(Self::Canary),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::BlueGreen => "BLUE_GREEN",
            Self::Linear => "LINEAR",
            Self::Canary => "CANARY",
        }
    }
}

/// The CodeDeploy application and deployment group of one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeDeployTarget {
    pub service: String,
    pub application: String,
    pub group: String,
    pub config: Option<String>,
}

/// The CodeDeploy names the inputs give (each defaults per service).
#[derive(Debug, Clone, Copy, Default)]
pub struct CodeDeployNames<'a> {
    pub application: Option<&'a str>,
    pub group: Option<&'a str>,
    pub config: Option<&'a str>,
}

impl<'a> CodeDeployNames<'a> {
    /// The names the inputs give; `config`, the deployment configuration,
    /// only where a new deployment is created (deploy, not rollback).
    pub fn from_settings(follow: &'a Following, config: Option<&'a str>) -> Self {
        Self {
            application: follow.codedeploy_application.as_deref(),
            group: follow.codedeploy_deployment_group.as_deref(),
            config,
        }
    }
}

impl CodeDeployTarget {
    /// `codedeploy-application` / `codedeploy-deployment-group`, defaulting to
    /// the names the ECS console gives: `AppECS-<cluster>-<service>`, `DgpECS-<cluster>-<service>`.
    pub fn new(cluster: &str, service: &str, names: CodeDeployNames) -> Self {
        let cluster = last_segment(cluster);
        Self {
            service: service.to_string(),
            application: names
                .application
                .map(str::to_string)
                .unwrap_or_else(|| format!("AppECS-{cluster}-{service}")),
            group: names
                .group
                .map(str::to_string)
                .unwrap_or_else(|| format!("DgpECS-{cluster}-{service}")),
            config: names.config.map(str::to_string),
        }
    }
}

/// How a service's deployment controller deploys a new revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    /// ECS controller, rolling update.
    Rolling,
    /// ECS controller, ECS-native blue/green, linear or canary.
    Native(NativeKind),
    /// CODE_DEPLOY controller: a CodeDeploy deployment.
    CodeDeploy(CodeDeployTarget),
}

/// What kind of deployment a run follows (the strategy without its names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeploymentKind {
    Rolling,
    Native,
    CodeDeploy,
}

impl Strategy {
    /// The one place the deployment controller is read: ECS (rolling or
    /// native, by the service's strategy), CODE_DEPLOY, or refused (exit 2).
    pub fn of(cluster: &str, svc: &Service, names: CodeDeployNames) -> anyhow::Result<Self> {
        let name = svc.service_name().unwrap_or("?");
        let controller = svc.deployment_controller().map(|c| c.r#type().as_str());
        match controller {
            None | Some("ECS") => Ok(NativeKind::of(svc).map_or(Self::Rolling, Self::Native)),
            Some("CODE_DEPLOY") => Ok(Self::CodeDeploy(CodeDeployTarget::new(
                cluster, name, names,
            ))),
            Some(other) => Err(bad_input(
                "service",
                format!(
                    "service {name} uses the {other} deployment controller, which fargate-deploy does not drive; deploy it with its own controller"
                ),
            )),
        }
    }

    pub fn kind(&self) -> DeploymentKind {
        match self {
            Self::Rolling => DeploymentKind::Rolling,
            Self::Native(_) => DeploymentKind::Native,
            Self::CodeDeploy(_) => DeploymentKind::CodeDeploy,
        }
    }

    /// For people: what the update will be.
    pub fn describe(&self) -> String {
        match self {
            Self::Rolling => "rolling update (UpdateService)".into(),
            Self::Native(kind) => {
                format!("ECS-native {} deployment (UpdateService)", kind.as_str())
            }
            Self::CodeDeploy(t) => format!(
                "CodeDeploy deployment in {}/{}{}",
                t.application,
                t.group,
                t.config
                    .as_ref()
                    .map(|c| format!(" with {c}"))
                    .unwrap_or_default()
            ),
        }
    }
}

/// `wait-until: paused` waits for a PAUSE lifecycle hook: the service
/// must deploy ECS-natively and have one, or the wait could only time out.
pub fn check_pausable(svc: &Service, strategy: &Strategy) -> anyhow::Result<()> {
    use aws_sdk_ecs::types::DeploymentLifecycleHookTargetType as Target;
    let name = svc.service_name().unwrap_or("?");
    let why = match strategy {
        Strategy::Native(_) => {
            let hooks = svc
                .deployment_configuration()
                .map(|c| c.lifecycle_hooks())
                .unwrap_or_default();
            if hooks
                .iter()
                .any(|h| h.target_type() == Some(&Target::Pause))
            {
                return Ok(());
            }
            "its deploymentConfiguration has no lifecycle hook with targetType PAUSE"
        }
        Strategy::Rolling => "it deploys with rolling updates, which never pause",
        Strategy::CodeDeploy(_) => {
            "it is deployed by CodeDeploy, whose deployments have no PAUSE hooks"
        }
    };
    Err(bad_input(
        "wait-until",
        format!(
            "`wait-until: paused` waits for a PAUSE lifecycle hook of an ECS-native blue/green, linear or canary deployment, and service {name} has none: {why}; add a PAUSE hook to the service, or use wait-until: complete"
        ),
    ))
}

/// Whether the rendered definition needs a new revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revision {
    /// The family's latest revision is identical: it is used as it is.
    Reuse { arn: String },
    /// A new revision of the family; `latest` is the one it differs from.
    New { latest: Option<String> },
    /// Promotion: this revision, as it is (nothing rendered or registered).
    Promote { arn: String },
}

impl Revision {
    /// Reuse the latest ACTIVE revision when it is equal after
    /// normalisation; otherwise register a new one.
    pub fn decide(rendered: &Value, latest: Option<&Value>) -> Self {
        let latest_arn = latest
            .and_then(|l| l["taskDefinitionArn"].as_str())
            .map(str::to_string);
        match (latest, latest_arn) {
            (Some(l), Some(arn)) if equivalent(l, rendered) => Self::Reuse { arn },
            (_, latest) => Self::New { latest },
        }
    }

    fn describe(&self, family: &str) -> String {
        match self {
            Self::Reuse { arn } => format!("reuse {} (identical)", last_segment(arn)),
            Self::Promote { arn } => format!(
                "promote {} as it is (nothing rendered, nothing registered)",
                last_segment(arn)
            ),
            Self::New { latest: Some(l) } => {
                format!(
                    "register a new revision of {family} (differs from {})",
                    last_segment(l)
                )
            }
            Self::New { latest: None } => format!("register the first revision of {family}"),
        }
    }
}

/// One service of a deploy.
#[derive(Debug, Clone)]
pub struct ServicePlan {
    pub service: String,
    pub family: String,
    /// The task definition the service runs now.
    pub from: String,
    pub revision: Revision,
    /// An earlier service of the plan whose new definition is this one's
    /// too: registered once, for both.
    pub same_as: Option<String>,
    pub strategy: Strategy,
    /// The CloudWatch alarms that watch its deployment: read when it fails.
    pub alarms: Vec<String>,
}

/// Everything a deploy will do, in the order it does it.
#[derive(Debug, Clone)]
pub struct DeployPlan {
    pub cluster: String,
    pub services: Vec<ServicePlan>,
    /// What "done" means and how long to wait for it; `None` for a plan
    /// that only shows what a deploy would do (mode render).
    pub wait: Option<(WaitUntil, Duration)>,
    /// `fail-fast`: a rolling deployment whose tasks fail in a way that will
    /// not fix itself is stopped with rollback while the run waits.
    pub fail_fast: bool,
    /// `on-cancel: rollback`: a cancelled run stops every deployment it
    /// started with rollback.
    pub rollback_on_cancel: bool,
    /// `keep-revisions`: old revisions of the deployed families retired
    /// once every deployment succeeded.
    pub retention: Option<Retention>,
    /// `scheduled-tasks`: what happens to each scheduled task found, once
    /// every deployment succeeded; `None` when not asked.
    pub schedules: Option<Vec<crate::schedules::Decision>>,
}

impl DeployPlan {
    /// The families whose old revisions retention retires, in plan order.
    pub fn families(&self) -> Vec<String> {
        let mut families: Vec<String> = Vec::new();
        for s in &self.services {
            if !families.contains(&s.family) {
                families.push(s.family.clone());
            }
        }
        families
    }

    /// The revisions retention never retires, beside what the cluster
    /// uses: each service's previous one (where a rollback returns), with why.
    pub fn protected(&self) -> Vec<(String, String)> {
        self.services
            .iter()
            .map(|s| {
                (
                    s.from.clone(),
                    format!("the rollback of service {}", s.service),
                )
            })
            .collect()
    }

    /// The waited-for services `keep` selects, each with the revision it
    /// ran before (where a rollback returns it); empty without a wait.
    fn back_to(&self, keep: impl Fn(&ServicePlan) -> bool) -> HashMap<String, String> {
        let waits = matches!(self.wait, Some((until, _)) if until != WaitUntil::None);
        self.services
            .iter()
            .filter(|s| waits && keep(s))
            .map(|s| (s.service.clone(), s.from.clone()))
            .collect()
    }

    /// Every waited-for service and the revision a cancelled run rolls it
    /// back to (`on-cancel: rollback`), decided here; empty: left going.
    pub fn on_cancel_targets(&self) -> HashMap<String, String> {
        self.back_to(|_| self.rollback_on_cancel)
    }

    /// Each waited-for rolling or ECS-native service and the revision a
    /// hopeless deployment of it is rolled back to (fail-fast), decided
    /// here. (CodeDeploy rolls back by its own deployment group's rules.)
    pub fn fail_fast_targets(&self) -> HashMap<String, String> {
        self.back_to(|s| self.fail_fast && s.strategy.kind() != DeploymentKind::CodeDeploy)
    }

    /// Each service whose deployment CloudWatch alarms watch, and its alarms.
    pub fn alarm_targets(&self) -> HashMap<String, Vec<String>> {
        self.services
            .iter()
            .filter(|s| !s.alarms.is_empty())
            .map(|s| (s.service.clone(), s.alarms.clone()))
            .collect()
    }
}

mod actions;
mod lines;
pub use actions::{ContinueAction, PausedAt, RollbackAction, RollbackTo};
pub use lines::watched_line;

#[cfg(test)]
#[path = "plan/tests.rs"]
mod tests;
