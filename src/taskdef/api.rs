//! Task definitions over the wire as JSON.
//!
//! A task definition is handled as the JSON document the ECS API speaks
//! (the same shape users write in files), not as the SDK's typed structs:
//! every field survives the round trip, including ones newer than the SDK.
//! The typed client still does the signing, retries and endpoint work; an
//! interceptor reads the raw response body.

use std::sync::{Arc, Mutex};

use aws_sdk_ecs::types::TaskDefinitionField;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde_json::Value;

use anyhow::{Context, anyhow};

use crate::error::{aws_code, aws_message, bad_input};

/// Keeps a copy of the raw response body of one call.
#[derive(Debug, Clone, Default)]
pub struct RawBody(Arc<Mutex<Option<Vec<u8>>>>);

impl RawBody {
    pub fn take(&self) -> Option<Vec<u8>> {
        self.0.lock().expect("raw body poisoned").take()
    }
}

impl Intercept for RawBody {
    fn name(&self) -> &'static str {
        "RawBody"
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(bytes) = context.response().and_then(|r| r.body().bytes()) {
            *self.0.lock().expect("raw body poisoned") = Some(bytes.to_vec());
        }
        Ok(())
    }
}

/// DescribeTaskDefinition (with tags) as JSON: the `taskDefinition` object,
/// with the `tags` folded in when there are any.
pub async fn describe_task_definition(
    ecs: &aws_sdk_ecs::Client,
    id: &str,
) -> anyhow::Result<Value> {
    describe_task_definition_opt(ecs, id).await?.ok_or_else(|| {
        bad_input(
            "task-definition",
            format!("task definition `{id}` not found; check the family, revision and region"),
        )
    })
}

/// Like [`describe_task_definition`], but `None` when there is no such definition.
pub async fn describe_task_definition_opt(
    ecs: &aws_sdk_ecs::Client,
    id: &str,
) -> anyhow::Result<Option<Value>> {
    let raw = RawBody::default();
    let sent = ecs
        .describe_task_definition()
        .task_definition(id)
        .include(TaskDefinitionField::Tags)
        .customize()
        .interceptor(raw.clone())
        .send()
        .await;
    if let Err(e) = sent {
        // ECS answers ClientException "Unable to describe task definition." for unknown ids.
        return match aws_code(&e) {
            Some("ClientException") | Some("InvalidParameterException") => Ok(None),
            _ => Err(anyhow!(
                "could not read task definition `{id}`: {}",
                aws_message(&e)
            )),
        };
    }
    let body = raw
        .take()
        .context("DescribeTaskDefinition returned no body")?;
    let mut doc: Value =
        serde_json::from_slice(&body).context("DescribeTaskDefinition returned unreadable JSON")?;
    let tags = doc.get_mut("tags").map(Value::take);
    let mut td = doc
        .get_mut("taskDefinition")
        .map(Value::take)
        .filter(Value::is_object)
        .context("DescribeTaskDefinition returned no taskDefinition")?;
    if let Some(tags) = tags.filter(|t| t.as_array().is_some_and(|a| !a.is_empty())) {
        td["tags"] = tags;
    }
    Ok(Some(td))
}

/// RegisterTaskDefinition with `td` sent as the request body, exactly as
/// rendered. Returns the new ARN.
pub async fn register_task_definition(
    ecs: &aws_sdk_ecs::Client,
    td: &Value,
) -> anyhow::Result<String> {
    let body = serde_json::to_vec(td).expect("JSON values serialise");
    let family = td["family"].as_str().unwrap_or_default().to_string();
    let out = ecs
        .register_task_definition()
        .family(&family)
        .customize()
        .mutate_request(move |req| {
            let len = body.len();
            *req.body_mut() = aws_smithy_types::body::SdkBody::from(body.clone());
            req.headers_mut().insert("content-length", len.to_string());
        })
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "ECS refused the task definition of family `{family}`: {}",
                aws_message(&e)
            )
        })?;
    out.task_definition()
        .and_then(|t| t.task_definition_arn())
        .map(str::to_string)
        .context("RegisterTaskDefinition returned no ARN")
}
