//! What `mode: rollback` and `mode: continue` do for each service, decided
//! from what they read before their first mutating call.

use super::{CodeDeployTarget, DeploymentKind};
use crate::arn::last_segment;

/// The revision a rolling rollback returns a service to, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackTo {
    pub service: String,
    pub from: String,
    pub to: String,
    /// Why this revision, for people.
    pub why: String,
}

/// What `mode: rollback` does for one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollbackAction {
    /// UpdateService back to an earlier revision (a rolling service, or a
    /// native one with no deployment in progress: `kind` says which).
    Update {
        to: RollbackTo,
        kind: DeploymentKind,
    },
    /// Native blue/green: StopServiceDeployment with ROLLBACK — or, paused
    /// at the PAUSE hook `paused`, ContinueServiceDeployment with ROLLBACK,
    /// as ECS documents for a paused deployment — then follow the rollback.
    StopNative {
        service: String,
        arn: String,
        current: String,
        paused: Option<PausedAt>,
    },
    /// CodeDeploy: stop the deployment in progress with automatic rollback,
    /// then follow the rollback deployment CodeDeploy starts.
    StopCodeDeploy {
        target: CodeDeployTarget,
        deployment: String,
    },
}

impl RollbackAction {
    pub fn service(&self) -> &str {
        match self {
            Self::Update { to, .. } => &to.service,
            Self::StopNative { service, .. } => service,
            Self::StopCodeDeploy { target, .. } => &target.service,
        }
    }

    /// The plan line printed before anything changes.
    pub fn describe(&self) -> String {
        match self {
            Self::Update { to: p, .. } => format!(
                "{}: from {} to {} — {}",
                p.service,
                last_segment(&p.from),
                last_segment(&p.to),
                p.why
            ),
            Self::StopCodeDeploy { target, deployment } => format!(
                "{}: CodeDeploy deployment {deployment} is in progress; it will be stopped with automatic rollback",
                target.service
            ),
            Self::StopNative {
                service,
                arn,
                current,
                paused: None,
            } => format!(
                "{service}: service deployment {} of {} is in progress; it will be stopped and rolled back",
                last_segment(arn),
                last_segment(current)
            ),
            Self::StopNative {
                service,
                arn,
                current,
                paused: Some(p),
            } => format!(
                "{service}: service deployment {} of {} is paused at {}; it will be rolled back (ContinueServiceDeployment with ROLLBACK)",
                last_segment(arn),
                last_segment(current),
                p.stage
            ),
        }
    }
}

/// Where an ECS-native deployment is paused: the stage and the PAUSE hook
/// that awaits ContinueServiceDeployment, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PausedAt {
    pub stage: String,
    pub hook_id: String,
    /// When the hook times out (RFC 3339), and what ECS does then.
    pub expires_at: Option<String>,
    pub timeout_action: Option<String>,
}

/// What `mode: continue` does for one service: ContinueServiceDeployment
/// (CONTINUE) of its deployment paused at `hook`, then follow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContinueAction {
    pub service: String,
    /// The service deployment's ARN.
    pub arn: String,
    /// The task definition it deploys.
    pub task_definition: String,
    pub hook: PausedAt,
}

impl ContinueAction {
    /// The plan line printed before anything changes.
    pub fn describe(&self) -> String {
        format!(
            "{}: service deployment {} of {} is paused at {} (PAUSE hook {}); it will be continued (ContinueServiceDeployment with CONTINUE)",
            self.service,
            last_segment(&self.arn),
            last_segment(&self.task_definition),
            self.hook.stage,
            self.hook.hook_id
        )
    }
}
