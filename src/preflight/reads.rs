//! The pre-flight checks that read AWS (the rest of `preflight` is pure):
//! what a rendered definition refers to must exist before anything
//! changes. Each reference is read once, all of them at once, beside
//! nothing else the stage waits for (one round trip of wall time).
//!
//! A check the role may not make is a warning naming the IAM action to
//! add — never a failure: the run goes on without it.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Finding;
use crate::error::{aws_code, aws_message};

/// One awslogs log group a container of a target logs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogGroupRef {
    pub target: String,
    pub container: String,
    pub group: String,
}

/// The awslogs groups the containers of `definition` log to, in this
/// region, that must exist: not those with `awslogs-create-group: "true"`
/// (the task creates its group), nor those of another region (not read).
pub fn awslogs_groups(target: &str, definition: &Value, region: &str) -> Vec<LogGroupRef> {
    let containers = definition["containerDefinitions"].as_array();
    containers
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let log = &c["logConfiguration"];
            let options = &log["options"];
            let creates = options["awslogs-create-group"]
                .as_str()
                .is_some_and(|v| v.eq_ignore_ascii_case("true"));
            let elsewhere = options["awslogs-region"]
                .as_str()
                .is_some_and(|r| r != region);
            if log["logDriver"] != "awslogs" || creates || elsewhere {
                return None;
            }
            Some(LogGroupRef {
                target: target.to_string(),
                container: c["name"].as_str().unwrap_or("?").to_string(),
                group: options["awslogs-group"].as_str()?.to_string(),
            })
        })
        .collect()
}

/// What the reads found: things to fix, and checks that could not be made.
#[derive(Debug, Default)]
pub struct Checked {
    pub findings: Vec<Finding>,
    pub warnings: Vec<String>,
}

/// Whether each referenced log group exists: one DescribeLogGroups per
/// distinct group, all at once.
pub async fn log_groups(logs: &aws_sdk_cloudwatchlogs::Client, refs: &[LogGroupRef]) -> Checked {
    let mut by_group: BTreeMap<&str, Vec<&LogGroupRef>> = BTreeMap::new();
    for r in refs {
        by_group.entry(r.group.as_str()).or_default().push(r);
    }
    let reads = by_group.keys().map(|group| async move {
        let answer = logs
            .describe_log_groups()
            .log_group_name_prefix(*group)
            .limit(50)
            .send()
            .await;
        (*group, answer)
    });
    let mut checked = Checked::default();
    for (group, answer) in futures_util::future::join_all(reads).await {
        let users = &by_group[group];
        match answer {
            Ok(out)
                if out
                    .log_groups()
                    .iter()
                    .any(|g| g.log_group_name() == Some(group)) => {}
            Ok(_) => checked
                .findings
                .extend(users.iter().map(|r| missing_group(r))),
            Err(e) => checked.warnings.push(format!(
                "could not check that log group {group} exists ({}){}",
                aws_message(&e),
                match aws_code(&e) {
                    Some("AccessDeniedException") => {
                        "; add logs:DescribeLogGroups to the role's policy to have it checked"
                    }
                    _ => "",
                }
            )),
        }
    }
    checked
}

fn missing_group(r: &LogGroupRef) -> Finding {
    Finding {
        input: "task-definition",
        message: format!(
            "{}: container {} logs to the awslogs group {}, which does not exist: its tasks would stop with ResourceInitializationError; create the group, or set the log option awslogs-create-group to \"true\" (the execution role then needs logs:CreateLogGroup)",
            r.target, r.container, r.group
        ),
    }
}

/// Where a secret's `valueFrom` points, in this region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An SSM parameter, by name or ARN (GetParameters takes both).
    Parameter(String),
    /// A Secrets Manager secret: its ARN without the JSON key, version
    /// stage and version id that may follow it.
    Secret(String),
}

/// One secret a container of a target refers to (`secrets`, or its
/// `repositoryCredentials`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef {
    pub target: String,
    pub container: String,
    /// The variable it fills, or `repositoryCredentials`.
    pub name: String,
    pub source: Source,
}

/// Where `value_from` points; `None` for another region's (not read here).
pub fn source_of(value_from: &str, region: &str) -> Option<Source> {
    let parts: Vec<&str> = value_from.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "secretsmanager", r, _, "secret", _, ..] => {
            (*r == region).then(|| Source::Secret(parts[..7].join(":")))
        }
        ["arn", _, "ssm", r, ..] => {
            (*r == region).then(|| Source::Parameter(value_from.to_string()))
        }
        ["arn", ..] => None,
        _ => Some(Source::Parameter(value_from.to_string())),
    }
}

/// The secrets and registry credentials the containers of `definition`
/// refer to in this region.
pub fn secret_refs(target: &str, definition: &Value, region: &str) -> Vec<SecretRef> {
    let containers = definition["containerDefinitions"].as_array();
    let mut refs = Vec::new();
    for c in containers.into_iter().flatten() {
        let container = c["name"].as_str().unwrap_or("?");
        let secrets = c["secrets"].as_array().into_iter().flatten();
        let named = secrets.filter_map(|s| Some((s["name"].as_str()?, s["valueFrom"].as_str()?)));
        let credentials = c["repositoryCredentials"]["credentialsParameter"]
            .as_str()
            .map(|v| ("repositoryCredentials", v));
        for (name, value_from) in named.chain(credentials) {
            if let Some(source) = source_of(value_from, region) {
                refs.push(SecretRef {
                    target: target.to_string(),
                    container: container.to_string(),
                    name: name.to_string(),
                    source,
                });
            }
        }
    }
    refs
}

/// Whether each referenced parameter and secret exists: GetParameters by
/// tens, DescribeSecret per secret, all at once.
pub async fn secrets(
    ssm: &aws_sdk_ssm::Client,
    secretsmanager: &aws_sdk_secretsmanager::Client,
    refs: &[SecretRef],
) -> Checked {
    let mut parameters: Vec<&str> = Vec::new();
    let mut secrets: Vec<&str> = Vec::new();
    for r in refs {
        let (list, id) = match &r.source {
            Source::Parameter(p) => (&mut parameters, p.as_str()),
            Source::Secret(s) => (&mut secrets, s.as_str()),
        };
        if !list.contains(&id) {
            list.push(id);
        }
    }
    let (missing_parameters, missing_secrets) = tokio::join!(
        missing_parameters(ssm, &parameters),
        missing_secrets(secretsmanager, &secrets)
    );
    let mut checked = Checked::default();
    for missing in [missing_parameters, missing_secrets] {
        match missing {
            Ok(gone) => checked.findings.extend(
                refs.iter()
                    .filter(|r| gone.contains(&r.source))
                    .map(missing_secret),
            ),
            Err(warning) => checked.warnings.push(warning),
        }
    }
    checked
}

/// The parameters of `names` that do not exist; `Err`, a warning, when
/// they cannot be read.
async fn missing_parameters(
    ssm: &aws_sdk_ssm::Client,
    names: &[&str],
) -> Result<Vec<Source>, String> {
    let reads = names.chunks(10).map(|chunk| {
        ssm.get_parameters()
            .set_names(Some(chunk.iter().map(|n| n.to_string()).collect()))
            .send()
    });
    let mut missing = Vec::new();
    for answer in futures_util::future::join_all(reads).await {
        match answer {
            Ok(out) => missing.extend(
                out.invalid_parameters()
                    .iter()
                    .map(|p| Source::Parameter(p.clone())),
            ),
            Err(e) => return Err(cannot_check("the SSM parameters", "ssm:GetParameters", &e)),
        }
    }
    Ok(missing)
}

/// The secrets of `ids` that do not exist.
async fn missing_secrets(
    sm: &aws_sdk_secretsmanager::Client,
    ids: &[&str],
) -> Result<Vec<Source>, String> {
    let reads = ids
        .iter()
        .map(|id| async move { (id, sm.describe_secret().secret_id(*id).send().await) });
    let mut missing = Vec::new();
    for (id, answer) in futures_util::future::join_all(reads).await {
        match answer {
            Ok(_) => {}
            Err(e) if aws_code(&e) == Some("ResourceNotFoundException") => {
                missing.push(Source::Secret(id.to_string()))
            }
            Err(e) => {
                return Err(cannot_check(
                    "the Secrets Manager secrets",
                    "secretsmanager:DescribeSecret",
                    &e,
                ));
            }
        }
    }
    Ok(missing)
}

/// The warning for a check that could not be made, naming the IAM action
/// when the role may not call it.
fn cannot_check<E>(what: &str, action: &str, e: &crate::error::AwsError<E>) -> String
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
{
    let hint = match aws_code(e) {
        Some("AccessDeniedException") => {
            format!("; add {action} to the role's policy to have them checked")
        }
        _ => String::new(),
    };
    format!(
        "could not check that {what} the task definitions refer to exist ({}){hint}",
        aws_message(e)
    )
}

fn missing_secret(r: &SecretRef) -> Finding {
    let what = match &r.source {
        Source::Parameter(p) => format!("the SSM parameter {p}"),
        Source::Secret(s) => format!("the Secrets Manager secret {s}"),
    };
    let refers = match r.name.as_str() {
        "repositoryCredentials" => "repositoryCredentials refer".to_string(),
        name => format!("secret {name} refers"),
    };
    Finding {
        input: "secrets",
        message: format!(
            "{}: container {}'s {refers} to {what}, which does not exist: its tasks would stop with ResourceInitializationError; create it, or fix the valueFrom",
            r.target, r.container
        ),
    }
}

/// A role a target's definition names: its execution role or task role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRef {
    pub target: String,
    /// `executionRoleArn` or `taskRoleArn`.
    pub field: &'static str,
    pub arn: String,
}

/// The roles `definition` names.
pub fn role_refs(target: &str, definition: &Value) -> Vec<RoleRef> {
    ["executionRoleArn", "taskRoleArn"]
        .into_iter()
        .filter_map(|field| {
            Some(RoleRef {
                target: target.to_string(),
                field,
                arn: definition[field].as_str()?.to_string(),
            })
        })
        .collect()
}

/// The service that assumes task roles and execution roles.
const ECS_TASKS: &str = "ecs-tasks.amazonaws.com";

/// Whether a trust policy (as GetRole returns it: URL-encoded JSON, or
/// JSON) lets `ecs-tasks.amazonaws.com` call sts:AssumeRole.
pub fn trusts_ecs_tasks(document: &str) -> bool {
    let decoded = percent_encoding::percent_decode_str(document).decode_utf8_lossy();
    let Ok(policy) = serde_json::from_str::<Value>(&decoded) else {
        return false;
    };
    let as_list = |v: &Value| -> Vec<String> {
        match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    };
    let statements = match &policy["Statement"] {
        Value::Array(a) => a.clone(),
        one => vec![one.clone()],
    };
    statements.iter().any(|st| {
        st["Effect"] == "Allow"
            && as_list(&st["Action"])
                .iter()
                .any(|a| matches!(a.as_str(), "sts:AssumeRole" | "sts:*" | "*"))
            && as_list(&st["Principal"]["Service"])
                .iter()
                .any(|p| p == ECS_TASKS)
    })
}

/// The distinct roles GetRole can see: not those of another account than
/// `home` (a bare name is this account's).
fn readable_roles<'a>(refs: &'a [RoleRef], home: Option<&str>) -> Vec<&'a str> {
    let foreign =
        |arn: &str| matches!((home, crate::arn::account(arn)), (Some(h), Some(a)) if a != h);
    let mut arns: Vec<&str> = refs
        .iter()
        .map(|r| r.arn.as_str())
        .filter(|arn| !foreign(arn))
        .collect();
    arns.sort();
    arns.dedup();
    arns
}

/// Whether each named role exists and trusts ECS tasks: one GetRole per
/// distinct role, all at once. `home` is the account the services (or the
/// family) live in, when an ARN read says so: GetRole sees only that
/// account's roles, so a role of another account is not read, and without
/// `home` a role GetRole does not find is a warning, not a finding.
pub async fn roles(iam: &aws_sdk_iam::Client, refs: &[RoleRef], home: Option<&str>) -> Checked {
    let arns = readable_roles(refs, home);
    let reads = arns.iter().map(|arn| async move {
        let name = arn.rsplit('/').next().unwrap_or(arn);
        (*arn, iam.get_role().role_name(name).send().await)
    });
    let mut checked = Checked::default();
    for (arn, answer) in futures_util::future::join_all(reads).await {
        let users = refs.iter().filter(|r| r.arn == arn);
        let problem = match &answer {
            Ok(out) => match out.role().and_then(|r| r.assume_role_policy_document()) {
                Some(doc) if !trusts_ecs_tasks(doc) => {
                    "does not trust ecs-tasks.amazonaws.com: ECS cannot assume it; add a statement allowing sts:AssumeRole by the service principal ecs-tasks.amazonaws.com to its trust policy"
                }
                _ => continue,
            },
            Err(e) if aws_code(e) == Some("NoSuchEntity") && home.is_none() => {
                checked.warnings.push(format!("the role {arn} was not found in the account of these credentials; if it is this account's, ECS cannot start the tasks"));
                continue;
            }
            Err(e) if aws_code(e) == Some("NoSuchEntity") => {
                "does not exist: ECS cannot start the tasks; create it, or fix the ARN"
            }
            Err(e) => {
                checked
                    .warnings
                    .push(cannot_check("the roles", "iam:GetRole", e));
                continue;
            }
        };
        checked.findings.extend(users.map(|r| Finding {
            input: "task-definition",
            message: format!("{}: the {} {} {problem}", r.target, r.field, r.arn),
        }));
    }
    checked
}

#[cfg(test)]
mod tests;
