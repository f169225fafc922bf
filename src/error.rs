//! The crate-level failure: what the user reads first, and the exit code.
//!
//! Domain code returns `anyhow::Error` with context; where the user's input
//! is the cause it says so with a [`BadInput`] in the chain. At the edge (a
//! mode's stage) each error becomes a [`Failure`] ([`Failure::from_error`]),
//! which knows whether it is the user's input (exit 2, nothing was changed in
//! AWS) or the job that failed (exit 1). `thiserror` enums remain where a
//! caller matches on the kind.

use std::fmt;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// The error of an AWS SDK call.
pub type AwsError<E> = SdkError<E, aws_smithy_runtime_api::http::Response>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Bad input, detected before any mutating AWS call. Exit code 2.
    BadInput,
    /// The job failed: deployment failed, task exited non-zero, timeout, AWS error. Exit code 1.
    Failed,
}

impl FailureKind {
    pub fn exit_code(self) -> u8 {
        match self {
            FailureKind::BadInput => 2,
            FailureKind::Failed => 1,
        }
    }
}

/// A failure as shown to a person: a one-line headline they can act on, then detail.
#[derive(Debug)]
pub struct Failure {
    pub kind: FailureKind,
    /// Short annotation title, e.g. the input's name (`image`) or the stage.
    pub title: String,
    /// The one line a person can act on.
    pub headline: String,
    /// Further detail (causes, AWS messages).
    pub detail: Vec<String>,
}

/// What a mode's `run` ends with: done, or the failure to show.
pub type Outcome = Result<(), Failure>;

/// The user's input is the cause (exit 2): `input` names it. Carried
/// inside an `anyhow::Error`; the edge finds it anywhere in the chain.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct BadInput {
    pub input: String,
    pub message: String,
}

/// An error the user fixes in the input `input`.
pub fn bad_input(input: &str, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(BadInput {
        input: input.to_string(),
        message: message.into(),
    })
}

impl Failure {
    /// The edge: an error of the domain code as the user reads it. A
    /// [`BadInput`] anywhere in the chain makes it bad input named after its
    /// input; a `Failure` (code not on `anyhow` yet) passes as it is;
    /// anything else failed `title`. The headline is the chain, `{:#}`.
    pub fn from_error(title: &str, e: anyhow::Error) -> Self {
        let e = match e.downcast::<Failure>() {
            Ok(f) => return f,
            Err(e) => e,
        };
        match e.chain().find_map(|c| c.downcast_ref::<BadInput>()) {
            Some(b) => Self::input(b.input.clone(), format!("{e:#}")),
            None => Self::failed(title, format!("{e:#}")),
        }
    }

    pub fn input(title: impl Into<String>, headline: impl Into<String>) -> Self {
        Self {
            kind: FailureKind::BadInput,
            title: title.into(),
            headline: headline.into(),
            detail: Vec::new(),
        }
    }

    pub fn failed(title: impl Into<String>, headline: impl Into<String>) -> Self {
        Self {
            kind: FailureKind::Failed,
            title: title.into(),
            headline: headline.into(),
            detail: Vec::new(),
        }
    }

    pub fn with_detail(mut self, line: impl Into<String>) -> Self {
        self.detail.push(line.into());
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.headline)?;
        for d in &self.detail {
            write!(f, "\n  {d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Failure {}

/// Renders an AWS SDK error with its code and message, not just "service error".
pub fn aws_message<E>(err: &AwsError<E>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        SdkError::ServiceError(se) => {
            let e = se.err();
            match (e.code(), e.message()) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                (Some(c), None) => c.to_string(),
                _ => format!("{e}"),
            }
        }
        other => chain(other),
    }
}

/// A failed AWS call as every one is worded: `{call} failed: {code}: {message}`.
pub fn aws_failed<E>(call: impl fmt::Display, err: &AwsError<E>) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    anyhow::anyhow!("{call} failed: {}", aws_message(err))
}

/// An AWS call's result, its error worded by [`aws_failed`].
pub trait OrFailed<T> {
    fn or_failed(self, call: impl fmt::Display) -> anyhow::Result<T>;
}

impl<T, E> OrFailed<T> for Result<T, AwsError<E>>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    fn or_failed(self, call: impl fmt::Display) -> anyhow::Result<T> {
        self.map_err(|e| aws_failed(call, &e))
    }
}

/// An error and its causes, `outer: inner: …`, each message once (SDK and
/// HTTP errors often repeat their cause's text in their own).
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let s = c.to_string();
        if !s.is_empty() && !text.contains(&s) {
            text.push_str(": ");
            text.push_str(&s);
        }
        cause = c.source();
    }
    text
}

/// The error code of an AWS SDK error, if the service returned one.
pub fn aws_code<E: ProvideErrorMetadata>(err: &AwsError<E>) -> Option<&str> {
    match err {
        SdkError::ServiceError(se) => se.err().code(),
        _ => None,
    }
}

/// Whether an AWS call is worth trying again later: throttling, server
/// errors, timeouts and connection trouble (after the SDK's own retries).
pub fn is_transient<E: ProvideErrorMetadata>(err: &AwsError<E>) -> bool {
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            status >= 500
                || status == 429
                || matches!(
                    se.err().code(),
                    Some(
                        "ThrottlingException"
                            | "Throttling"
                            | "TooManyRequestsException"
                            | "RequestLimitExceeded"
                            | "ServerException"
                            | "ServiceUnavailable"
                    )
                )
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #[derive(Debug, thiserror::Error)]
    #[error("{text}")]
    struct E {
        text: &'static str,
        #[source]
        cause: Option<Box<E>>,
    }

    fn e(text: &'static str, cause: Option<E>) -> E {
        E {
            text,
            cause: cause.map(Box::new),
        }
    }

    #[test]
    fn a_chain_names_each_cause_once() {
        let io = e("connection refused", None);
        let dispatch = e("io error: connection refused", Some(io));
        let outer = e("dispatch failure", Some(dispatch));
        assert_eq!(
            super::chain(&outer),
            "dispatch failure: io error: connection refused"
        );
        assert_eq!(super::chain(&e("alone", None)), "alone");
    }

    #[test]
    fn a_failed_aws_call_is_worded_as_every_other() {
        use super::{AwsError, OrFailed};
        use aws_sdk_ecs::operation::update_service::UpdateServiceError;
        use aws_smithy_types::error::ErrorMetadata;
        let refused = |code: Option<&str>, message: Option<&str>| -> AwsError<UpdateServiceError> {
            let mut meta = ErrorMetadata::builder();
            if let Some(c) = code {
                meta = meta.code(c);
            }
            if let Some(m) = message {
                meta = meta.message(m);
            }
            let status = aws_smithy_runtime_api::http::StatusCode::try_from(400).unwrap();
            let raw = aws_smithy_runtime_api::http::Response::new(status, "".into());
            AwsError::service_error(UpdateServiceError::generic(meta.build()), raw)
        };
        let web = "web";
        for (code, message, says) in [
            (
                Some("ThrottlingException"),
                Some("Rate exceeded"),
                "ThrottlingException: Rate exceeded",
            ),
            (Some("AccessDeniedException"), None, "AccessDeniedException"),
        ] {
            let err =
                Err::<(), _>(refused(code, message)).or_failed(format!("UpdateService of {web}"));
            assert_eq!(
                err.unwrap_err().to_string(),
                format!("UpdateService of web failed: {says}")
            );
        }
        let timed_out: Result<(), AwsError<UpdateServiceError>> =
            Err(AwsError::timeout_error("slow"));
        assert_eq!(
            timed_out
                .or_failed("UpdateService")
                .unwrap_err()
                .to_string(),
            "UpdateService failed: request has timed out: slow"
        );
    }

    #[test]
    fn the_edge_decides_bad_input_or_failed_from_the_chain() {
        use super::{Failure, FailureKind, bad_input};
        use anyhow::Context;
        for (cause, kind, headline) in [
            (
                bad_input("service", "service `web` not found"),
                FailureKind::BadInput,
                "reading the services: service `web` not found",
            ),
            (
                anyhow::anyhow!("Throttling: slow down"),
                FailureKind::Failed,
                "reading the services: Throttling: slow down",
            ),
        ] {
            let wrapped = Err::<(), _>(cause).context("reading the services");
            let f = Failure::from_error("service", wrapped.unwrap_err());
            assert_eq!((f.kind, f.title.as_str()), (kind, "service"));
            assert_eq!(f.headline, headline);
        }
        let kept = Failure::failed("deploy", "rolled back").with_detail("event");
        let f = Failure::from_error("other", anyhow::Error::new(kept));
        assert_eq!((f.title.as_str(), f.detail.len()), ("deploy", 1));
    }
}
