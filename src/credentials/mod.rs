//! AWS credentials: GitHub OIDC → STS AssumeRoleWithWebIdentity when
//! `role-to-assume` is set, otherwise the default AWS credential chain.
//!
//! The OIDC provider caches its credentials and refreshes them five minutes
//! before they expire, so a wait that outlasts the role session keeps going.
//! Tokens and keys are masked the moment they exist.

pub mod oidc;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::identity::IdentityCache;
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::{self, ProvideCredentials, error::CredentialsError};
use aws_types::region::Region;
use thiserror::Error;

use crate::error::{Failure, aws_code, aws_message};
use crate::runner::Runner;

/// Refresh this long before expiry.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

#[derive(Debug, Error)]
pub enum CredentialFailure {
    #[error(
        "role-to-assume is set, but this job cannot request a GitHub OIDC token ({missing} is not set): add `permissions: id-token: write` to the job"
    )]
    NoOidcPermission { missing: &'static str },
    #[error(transparent)]
    Oidc(#[from] oidc::OidcError),
    #[error("AWS refused to let this workflow assume {role}: {message}")]
    AccessDenied {
        role: String,
        message: String,
        sub: Option<String>,
        aud: Option<String>,
    },
    #[error("AWS did not accept the GitHub OIDC token for {role}: {message}")]
    InvalidToken { role: String, message: String },
    #[error("assuming {role} failed: {message}")]
    Sts { role: String, message: String },
}

impl CredentialFailure {
    pub fn to_failure(&self) -> Failure {
        match self {
            CredentialFailure::NoOidcPermission { .. } => Failure::input("role-to-assume", self.to_string())
                .with_detail("add `permissions: id-token: write` to the workflow or the job (and `contents: read` to keep checkout working)"),
            CredentialFailure::AccessDenied { sub, aud, .. } => {
                let mut f = Failure::failed("credentials", self.to_string());
                if let Some(sub) = sub {
                    f = f.with_detail(format!("the role's trust policy must accept token.actions.githubusercontent.com:sub = \"{sub}\""));
                }
                if let Some(aud) = aud {
                    f = f.with_detail(format!("and token.actions.githubusercontent.com:aud = \"{aud}\" (input `audience`)"));
                }
                f
            }
            CredentialFailure::InvalidToken { .. } => Failure::failed("credentials", self.to_string())
                .with_detail("check that the account has an IAM OIDC identity provider for https://token.actions.githubusercontent.com with this audience"),
            _ => Failure::failed("credentials", self.to_string()),
        }
    }
}

pub struct RoleSettings {
    pub role_arn: String,
    pub session_name: String,
    pub duration_seconds: i32,
    pub audience: String,
}

/// `fargate-deploy-<run id>-<attempt>`, sanitised to STS's alphabet, ≤ 64 chars.
pub fn default_session_name(run_id: Option<&str>, attempt: Option<&str>) -> String {
    let raw = match run_id {
        Some(id) => format!("fargate-deploy-{id}-{}", attempt.unwrap_or("1")),
        None => format!(
            "fargate-deploy-{}",
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        ),
    };
    sanitize_session_name(&raw)
}

pub fn sanitize_session_name(raw: &str) -> String {
    let ok = |c: char| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c);
    raw.chars()
        .map(|c| if ok(c) { c } else { '-' })
        .take(64)
        .collect()
}

/// OIDC web-identity credentials with their own refresh.
pub struct OidcCredentials {
    role: RoleSettings,
    request_url: String,
    request_token: String,
    sts: aws_sdk_sts::Client,
    runner: Arc<Runner>,
    cached: tokio::sync::Mutex<Option<Credentials>>,
}

impl std::fmt::Debug for OidcCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcCredentials")
            .field("role", &self.role.role_arn)
            .finish_non_exhaustive()
    }
}

impl OidcCredentials {
    /// Checks the OIDC variables (the `id-token: write` permission) up front.
    pub fn new(
        role: RoleSettings,
        sts: aws_sdk_sts::Client,
        runner: Arc<Runner>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, CredentialFailure> {
        let var = |name: &'static str| {
            env(name)
                .filter(|v| !v.is_empty())
                .ok_or(CredentialFailure::NoOidcPermission { missing: name })
        };
        let request_url = var("ACTIONS_ID_TOKEN_REQUEST_URL")?;
        let request_token = var("ACTIONS_ID_TOKEN_REQUEST_TOKEN")?;
        runner.mask(&request_token);
        Ok(Self {
            role,
            request_url,
            request_token,
            sts,
            runner,
            cached: tokio::sync::Mutex::new(None),
        })
    }

    pub async fn credentials(&self) -> Result<Credentials, CredentialFailure> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref()
            && c.expiry()
                .is_none_or(|e| e > SystemTime::now() + REFRESH_MARGIN)
        {
            return Ok(c.clone());
        }
        let fresh = self.assume().await?;
        *cached = Some(fresh.clone());
        Ok(fresh)
    }

    async fn assume(&self) -> Result<Credentials, CredentialFailure> {
        let token =
            oidc::fetch_token(&self.request_url, &self.request_token, &self.role.audience).await?;
        self.runner.mask(&token);
        let role = self.role.role_arn.clone();
        let out = self
            .sts
            .assume_role_with_web_identity()
            .role_arn(&role)
            .role_session_name(&self.role.session_name)
            .web_identity_token(&token)
            .duration_seconds(self.role.duration_seconds)
            .send()
            .await
            .map_err(|e| {
                let message = aws_message(&e);
                match aws_code(&e) {
                    Some("AccessDenied") => {
                        let c = oidc::claims(&token);
                        CredentialFailure::AccessDenied {
                            role,
                            message,
                            sub: c.as_ref().map(|c| c.sub.clone()),
                            aud: c.map(|c| {
                                c.aud
                                    .as_str()
                                    .map(str::to_string)
                                    .unwrap_or_else(|| c.aud.to_string())
                            }),
                        }
                    }
                    Some("InvalidIdentityToken")
                    | Some("IDPRejectedClaim")
                    | Some("ExpiredTokenException") => {
                        CredentialFailure::InvalidToken { role, message }
                    }
                    _ => CredentialFailure::Sts { role, message },
                }
            })?;
        let c = out.credentials().ok_or_else(|| CredentialFailure::Sts {
            role: self.role.role_arn.clone(),
            message: "STS answered without credentials".into(),
        })?;
        self.runner.mask(c.access_key_id());
        self.runner.mask(c.secret_access_key());
        self.runner.mask(c.session_token());
        let expiry = SystemTime::try_from(*c.expiration()).ok();
        Ok(Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            expiry,
            "GitHubOidc",
        ))
    }
}

impl ProvideCredentials for OidcCredentials {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::new(async move {
            self.credentials()
                .await
                .map_err(CredentialsError::provider_error)
        })
    }
}

/// Loads the SDK configuration and proves the credentials work.
pub async fn load(
    region: Option<&str>,
    role: Option<RoleSettings>,
    runner: Arc<Runner>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<SdkConfig, Failure> {
    let loader = || {
        // Parallel deploys meet ECS's token buckets ("Rate exceeded"): retry
        // throttling and transient errors with backoff, a little more than the default.
        let l = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::standard().with_max_attempts(5))
            .identity_cache(IdentityCache::lazy().buffer_time(REFRESH_MARGIN).build());
        match region {
            Some(r) => l.region(Region::new(r.to_string())),
            None => l,
        }
    };
    let role_arn = role.as_ref().map(|r| r.role_arn.clone());
    let mut config_loader = loader();
    if let Some(role) = role {
        let base = loader().no_credentials().load().await;
        if base.region().is_none() {
            return Err(no_region());
        }
        let provider =
            OidcCredentials::new(role, aws_sdk_sts::Client::new(&base), runner.clone(), &env)
                .map_err(|e| e.to_failure())?;
        // The provider caches and refreshes its own credentials (five
        // minutes before they expire): no second cache in front of it.
        config_loader = config_loader
            .credentials_provider(provider)
            .identity_cache(IdentityCache::no_cache());
    }
    let config = config_loader.load().await;
    if config.region().is_none() {
        return Err(no_region());
    }
    let provider = config.credentials_provider().ok_or_else(|| {
        Failure::failed("credentials", "no AWS credential provider is configured")
    })?;
    if let Err(e) = provider.provide_credentials().await {
        if let Some(ours) = find_source::<CredentialFailure>(&e) {
            return Err(ours.to_failure());
        }
        let mut f = Failure::failed(
            "credentials",
            format!("no usable AWS credentials: {}", crate::error::chain(&e)),
        );
        f = match role_arn {
            Some(_) => f,
            None => f.with_detail("set `role-to-assume` (GitHub OIDC), or run aws-actions/configure-aws-credentials before this step"),
        };
        return Err(f);
    }
    Ok(config)
}

fn no_region() -> Failure {
    Failure::input(
        "aws-region",
        "no AWS region: set input `aws-region` (or AWS_REGION)",
    )
}

fn find_source<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(t) = err.downcast_ref::<T>() {
            return Some(t);
        }
        cur = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_are_sanitised_and_bounded() {
        assert_eq!(
            default_session_name(Some("123"), Some("2")),
            "fargate-deploy-123-2"
        );
        assert_eq!(sanitize_session_name("a b/c:d"), "a-b-c-d");
        let long = default_session_name(Some(&"9".repeat(80)), Some("1"));
        assert_eq!(long.len(), 64);
        assert!(default_session_name(None, None).starts_with("fargate-deploy-"));
    }

    #[test]
    fn missing_oidc_variables_ask_for_the_permission() {
        let runner = Arc::new(crate::runner::Runner::new(
            crate::runner::Face::Terminal,
            Box::new(std::io::sink()),
            Box::new(std::io::sink()),
            None,
            None,
        ));
        let conf = aws_sdk_sts::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .build();
        let role = RoleSettings {
            role_arn: "arn:aws:iam::123456789012:role/x".into(),
            session_name: "s1".into(),
            duration_seconds: 3600,
            audience: "sts.amazonaws.com".into(),
        };
        let err =
            OidcCredentials::new(role, aws_sdk_sts::Client::from_conf(conf), runner, |_| None)
                .unwrap_err();
        let failure = err.to_failure();
        assert_eq!(failure.kind, crate::error::FailureKind::BadInput);
        assert!(
            failure.to_string().contains("permissions: id-token: write"),
            "{failure}"
        );
    }
}
