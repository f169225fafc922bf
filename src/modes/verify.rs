//! The verify stage (migrate and deploy; reported by render): each rendered
//! target checked before anything changes (`preflight`). In migrate and
//! deploy a finding is bad input (exit 2, nothing changed); render reports
//! each one as a warning and goes on, since it changes nothing.

use super::templates::Target;
use crate::aws::Aws;
use crate::error::Failure;
use crate::preflight::platform;
use crate::preflight::reads::{self, Checked};
use crate::preflight::{self, Finding, Subject};
use crate::runner::Runner;
use crate::stages::Stages;

/// What a finding does to the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFinding {
    /// migrate, deploy: refuse the run.
    Refuse,
    /// render: warn, and go on.
    Warn,
}

/// Every finding of every target, in target order.
pub fn findings(targets: &[Target], container_port: Option<i32>) -> Vec<Finding> {
    targets
        .iter()
        .flat_map(|t| {
            preflight::check(&Subject {
                name: &t.name,
                definition: &t.rendered.definition,
                service: t.service.as_ref(),
                container_port,
                image_containers: &t.rendered.image_containers(),
            })
        })
        .collect()
}

/// What the definitions refer to in AWS, read at once: the awslogs
/// groups their containers log to, the secrets and parameters they read,
/// the roles ECS assumes for them.
async fn read_checks(aws: &Aws, targets: &[Target], images: Vec<platform::Reading>) -> Checked {
    let region = &aws.region;
    let groups: Vec<reads::LogGroupRef> = targets
        .iter()
        .flat_map(|t| reads::awslogs_groups(&t.name, &t.rendered.definition, region))
        .collect();
    let secrets: Vec<reads::SecretRef> = targets
        .iter()
        .flat_map(|t| reads::secret_refs(&t.name, &t.rendered.definition, region))
        .collect();
    let groups_checked = async {
        if groups.is_empty() {
            return Checked::default();
        }
        let logs = aws_sdk_cloudwatchlogs::Client::new(&aws.config);
        reads::log_groups(&logs, &groups).await
    };
    let secrets_checked = async {
        if secrets.is_empty() {
            return Checked::default();
        }
        let ssm = aws_sdk_ssm::Client::new(&aws.config);
        let sm = aws_sdk_secretsmanager::Client::new(&aws.config);
        reads::secrets(&ssm, &sm, &secrets).await
    };
    let roles: Vec<reads::RoleRef> = targets
        .iter()
        .flat_map(|t| reads::role_refs(&t.name, &t.rendered.definition))
        .collect();
    let roles_checked = async {
        if roles.is_empty() {
            return Checked::default();
        }
        let home = home_account(targets);
        reads::roles(&aws_sdk_iam::Client::new(&aws.config), &roles, home).await
    };
    let needs = platform_needs(targets);
    let platforms = futures_util::future::join_all(images.into_iter().map(|r| r.check(&needs)));
    let (mut checked, secrets, roles, platforms) =
        tokio::join!(groups_checked, secrets_checked, roles_checked, platforms);
    for more in [secrets, roles].into_iter().chain(platforms) {
        checked.findings.extend(more.findings);
        checked.warnings.extend(more.warnings);
    }
    checked
}

/// What the Linux targets whose containers receive the image need of it.
fn platform_needs(targets: &[Target]) -> Vec<platform::Need> {
    targets
        .iter()
        .filter_map(|t| {
            let receives = t.rendered.images.iter().any(|cs| !cs.is_empty());
            platform::need(&t.name, &t.rendered.definition, receives)
        })
        .collect()
}

/// The account the targets live in, from the first ARN read with them:
/// a service's, else the family's latest revision's.
fn home_account(targets: &[Target]) -> Option<&str> {
    targets.iter().find_map(|t| {
        let service = t.service.as_ref().and_then(|s| s.service_arn());
        let latest = match &t.latest {
            super::templates::Latest::Revision(td) => td["taskDefinitionArn"].as_str(),
            _ => None,
        };
        service.or(latest).and_then(crate::arn::account)
    })
}

/// The pure checks, then (with `aws`) what the definitions refer to.
pub async fn verify_stage(
    stages: &mut Stages<'_>,
    runner: &Runner,
    aws: Option<&Aws>,
    (targets, images): (&[Target], Vec<platform::Reading>),
    container_port: Option<i32>,
    on_finding: OnFinding,
) -> Result<Vec<Finding>, Failure> {
    stages
        .run("verify", async {
            let mut found = findings(targets, container_port);
            if let Some(aws) = aws {
                let checked = read_checks(aws, targets, images).await;
                for w in &checked.warnings {
                    runner.warning("verify", w);
                }
                found.extend(checked.findings);
            }
            judge(found, targets.len(), on_finding, runner)
        })
        .await
}

/// Refuses with the first finding (the rest as detail), or warns of each.
fn judge(
    found: Vec<Finding>,
    targets: usize,
    on_finding: OnFinding,
    runner: &Runner,
) -> Result<(Vec<Finding>, String), Failure> {
    let checked = format!(
        "{targets} task definition(s) checked against ECS's API model, the Fargate task sizes, the load balancers, the log groups, the secrets, the roles and the image's CPU architecture"
    );
    let Some(first) = found.first() else {
        return Ok((found, format!("{checked}: nothing to fix")));
    };
    match on_finding {
        OnFinding::Refuse => {
            let mut failure = Failure::input(first.input, first.message.clone());
            for f in &found[1..] {
                failure = failure.with_detail(f.message.clone());
            }
            Err(failure)
        }
        OnFinding::Warn => {
            for f in &found {
                runner.warning(f.input, &f.message);
            }
            let summary = format!(
                "{checked}: {} finding(s) that migrate and deploy would refuse",
                found.len()
            );
            Ok((found, summary))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::Face;
    use crate::runner::tests::runner;

    fn found() -> Vec<Finding> {
        vec![
            Finding {
                input: "task-definition",
                message: "web: ECS would refuse the task definition: cpu: a number where ECS wants a string".into(),
            },
            Finding {
                input: "container-port",
                message: "web: container-port 80 is not a port of container `web` (it maps: 8080)".into(),
            },
        ]
    }

    #[test]
    fn migrate_and_deploy_refuse_with_the_first_finding_and_list_the_rest() {
        let (r, _) = runner(Face::Actions);
        let f = judge(found(), 1, OnFinding::Refuse, &r).unwrap_err();
        assert_eq!(f.kind, crate::error::FailureKind::BadInput);
        assert_eq!(f.title, "task-definition");
        assert!(
            f.headline
                .contains("cpu: a number where ECS wants a string")
        );
        assert_eq!(f.detail.len(), 1);
        assert!(f.detail[0].contains("container-port 80"));
    }

    #[test]
    fn render_warns_of_each_and_goes_on() {
        let (r, log) = runner(Face::Actions);
        let (kept, summary) = judge(found(), 1, OnFinding::Warn, &r).unwrap();
        assert_eq!(kept.len(), 2);
        assert!(summary.ends_with("2 finding(s) that migrate and deploy would refuse"));
        let text = log.text();
        assert!(text.contains("::warning title=task-definition::web: ECS would refuse"));
        assert!(text.contains("::warning title=container-port::web: container-port 80"));
        let (none, summary) = judge(vec![], 2, OnFinding::Refuse, &r).unwrap();
        assert!(
            none.is_empty() && summary.ends_with("nothing to fix"),
            "{summary}"
        );
    }
}
