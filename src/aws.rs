//! The AWS session of one run: the SDK configuration and its clients.

use std::sync::Arc;

use aws_config::SdkConfig;

use crate::credentials::{self, RoleSettings, default_session_name};
use crate::error::Failure;
use crate::inputs::Access;
use crate::runner::Runner;

#[derive(Clone)]
pub struct Aws {
    pub config: SdkConfig,
    pub region: String,
    pub ecs: aws_sdk_ecs::Client,
    pub codedeploy: aws_sdk_codedeploy::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub events: aws_sdk_eventbridge::Client,
    pub scheduler: aws_sdk_scheduler::Client,
}

impl Aws {
    pub fn from_config(config: SdkConfig) -> Self {
        let region = config.region().map(|r| r.to_string()).unwrap_or_default();
        Self {
            ecs: aws_sdk_ecs::Client::new(&config),
            codedeploy: aws_sdk_codedeploy::Client::new(&config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
            events: aws_sdk_eventbridge::Client::new(&config),
            scheduler: aws_sdk_scheduler::Client::new(&config),
            region,
            config,
        }
    }

    /// The clients scheduled tasks are read and moved with.
    pub fn schedule_clients(&self) -> crate::schedules::read::Clients<'_> {
        crate::schedules::read::Clients {
            events: &self.events,
            scheduler: &self.scheduler,
        }
    }

    /// Credentials as the settings say: OIDC role or the default chain.
    pub async fn connect(
        access: &Access,
        runner: Arc<Runner>,
        env: &(dyn Fn(&str) -> Option<String> + Sync),
    ) -> Result<(Self, String), Failure> {
        let role = access.role_to_assume.as_ref().map(|arn| RoleSettings {
            role_arn: arn.clone(),
            session_name: access.role_session_name.clone().unwrap_or_else(|| {
                default_session_name(
                    env("GITHUB_RUN_ID").as_deref(),
                    env("GITHUB_RUN_ATTEMPT").as_deref(),
                )
            }),
            duration_seconds: access.role_duration_seconds,
            audience: access.audience.clone(),
        });
        let how = match &role {
            Some(r) => format!(
                "assumed {} as session {} with the GitHub OIDC token",
                r.role_arn, r.session_name
            ),
            None => "using the default AWS credential chain".to_string(),
        };
        let config = credentials::load(access.region.as_deref(), role, runner, env).await?;
        let aws = Self::from_config(config);
        let how = format!("{how}, region {}", aws.region);
        Ok((aws, how))
    }
}
