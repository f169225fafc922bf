//! `mode: render` with `comment-plan: true` on a pull request: one comment
//! showing what would change against what the services run now, found again
//! by a hidden marker and updated in place on every push.
//!
//! The marker names the cluster and the targets, so two render steps of one
//! workflow (staging and production, say) keep one comment each.

use serde_json::json;

use super::{Client, GitHubError, PullRequest};
use crate::error::Failure;
use crate::inputs::Settings;
use crate::markdown::code;
use crate::runner::Runner;

const PERMISSION: &str = "pull-requests: write";
/// GitHub's limit for a comment body, in characters.
const BODY_LIMIT: usize = 65_536;

/// `<!-- fargate-deploy:plan CLUSTER/target,target -->`.
/// Only characters that cannot end the HTML comment are kept.
pub fn marker(cluster: &str, targets: &[String]) -> String {
    let inner = format!(
        "{}/{}",
        crate::arn::last_segment(cluster),
        targets.join(",")
    );
    let safe: String = inner
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_-.,/:".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("<!-- fargate-deploy:plan {safe} -->")
}

/// What the comment shows: the render's plan, as its report has it.
#[derive(Debug, Clone, Default)]
pub struct PlanView {
    /// The images rendered, in `IMAGE1_NAME`… order.
    pub image_uris: Vec<String>,
    /// Every target rendered (they name the comment).
    pub targets: Vec<String>,
    /// Per target with something to compare: whether it would change.
    pub changing: Vec<bool>,
    /// The what-would-change tables.
    pub markdown: String,
    pub run_url: Option<String>,
}

/// The comment's markdown: marker, heading, the plan, and where it came from.
pub fn body(marker: &str, cluster: &str, view: &PlanView, commit: Option<&str>) -> String {
    let mut head = format!(
        "{marker}\n### fargate-deploy plan for {}\n\n",
        code(crate::arn::last_segment(cluster))
    );
    if !view.image_uris.is_empty() {
        let uris: Vec<String> = view.image_uris.iter().map(|u| code(u)).collect();
        let label = if uris.len() == 1 { "Image" } else { "Images" };
        head.push_str(&format!("{label}: {}", uris.join(", ")));
        if let Some(commit) = commit {
            head.push_str(&format!(" (commit `{}`)", &commit[..commit.len().min(12)]));
        }
        head.push_str("\n\n");
    }
    let changing = view.changing.iter().filter(|c| **c).count();
    head.push_str(&match (changing, view.changing.len()) {
        (0, _) => "Nothing would change.\n\n".to_string(),
        (1, 1) => "The service would change:\n\n".to_string(),
        (n, all) => format!("**{n} of {all}** services would change:\n\n"),
    });
    let mut foot = String::from(
        "<sub>Rendered by fargate-deploy; this comment is updated in place on every push.",
    );
    if let Some(url) = &view.run_url {
        foot.push_str(&format!(" [Workflow run]({url})"));
    }
    foot.push_str("</sub>\n");
    let mut plan = view.markdown.clone();
    let room = BODY_LIMIT - head.chars().count() - foot.chars().count() - 200;
    if plan.chars().count() > room {
        let cut: String = plan.chars().take(room).collect();
        let cut = cut.rsplit_once('\n').map(|(keep, _)| keep).unwrap_or("");
        plan = format!(
            "{cut}\n\n… the plan is longer than a comment can hold; the rest is in the run's job summary.\n\n"
        );
    }
    format!("{head}{plan}{foot}")
}

/// What became of the comment.
#[derive(Debug, PartialEq, Eq)]
pub enum Posted {
    Created(String),
    Updated(String),
}

/// Checks the configuration before anything runs: a token and a repository
/// are needed even when this run turns out not to be a pull request.
pub fn prepare(
    settings: &Settings,
    comment_plan: bool,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<Option<Client>, Failure> {
    if !comment_plan {
        return Ok(None);
    }
    super::client_for(
        "comment-plan",
        PERMISSION,
        settings.github_token.as_deref(),
        env,
    )
    .map(Some)
}

/// Posts or updates the plan comment; returns the summary line. GitHub
/// failures are warnings; a run that is not for a pull request says so.
pub async fn post(
    client: &Client,
    settings: &Settings,
    runner: &Runner,
    view: &PlanView,
) -> Option<String> {
    let Some(PullRequest { number, head_sha }) = client.ctx.pull_request.clone() else {
        runner.info("comment-plan: this run is not for a pull request; no comment posted");
        return None;
    };
    let marker = marker(&settings.cluster, &view.targets);
    let commit = head_sha.or_else(|| client.ctx.sha.clone());
    let text = runner.redact(&body(&marker, &settings.cluster, view, commit.as_deref()));
    match upsert(client, number, &marker, &text).await {
        Ok(Posted::Created(url)) => {
            runner.info(&format!(
                "plan comment posted on pull request #{number}: {url}"
            ));
            Some(format!("Plan comment: [posted on #{number}]({url})"))
        }
        Ok(Posted::Updated(url)) => {
            runner.info(&format!(
                "plan comment updated on pull request #{number}: {url}"
            ));
            Some(format!("Plan comment: [updated on #{number}]({url})"))
        }
        Err(e) => {
            runner.warning("comment-plan", &e.advice(PERMISSION));
            Some(format!("Plan comment on #{number}: not posted ({e})"))
        }
    }
}

/// The login of the job's token (`GITHUB_TOKEN`) and of other GitHub App
/// installation tokens, which cannot read `GET /user`.
pub const ACTIONS_BOT: &str = "github-actions[bot]";

/// Who the token acts as: `GET /user` for a person's token; an
/// installation token is refused there (403 "Resource not accessible by
/// integration") and is taken as the job's token, [`ACTIONS_BOT`].
async fn author(client: &Client) -> Result<String, GitHubError> {
    let me: Result<octocrab::models::Author, _> = client
        .call("read who the token acts as", |o| async move {
            o.get("/user", None::<&()>).await
        })
        .await;
    match me {
        Ok(user) => Ok(user.login),
        Err(GitHubError::Api { status: 403, .. }) => Ok(ACTIONS_BOT.to_string()),
        Err(e) => Err(e),
    }
}

/// Our plan comment: written by the token's own author, with the marker as
/// its first line. A comment by anyone else is never edited, whatever it
/// contains.
pub fn ours(body: &str, login: &str, marker: &str, me: &str) -> bool {
    login.eq_ignore_ascii_case(me) && body.lines().next() == Some(marker)
}

/// Finds our comment carrying `marker` (every page) and updates it, or creates one.
pub async fn upsert(
    client: &Client,
    number: u64,
    marker: &str,
    text: &str,
) -> Result<Posted, GitHubError> {
    let (owner, repo) = (client.ctx.owner.clone(), client.ctx.repo.clone());
    let first = client.call("list the pull request's comments", |o| {
        let (owner, repo) = (owner.clone(), repo.clone());
        async move {
            o.issues(owner, repo)
                .list_comments(number)
                .per_page(100)
                .send()
                .await
        }
    });
    // Independent: who we are, and the first page.
    let (me, first) = tokio::join!(author(client), first);
    let (me, mut page) = (me?, first?);
    let existing = loop {
        if let Some(c) = page
            .items
            .iter()
            .find(|c| ours(c.body.as_deref().unwrap_or(""), &c.user.login, marker, &me))
        {
            break Some(c.id);
        }
        let next = page.next.clone();
        if next.is_none() {
            break None;
        }
        match client
            .call("list the pull request's comments", |o| {
                let next = next.clone();
                async move { o.get_page(&next).await }
            })
            .await?
        {
            Some(p) => page = p,
            None => break None,
        }
    };
    let payload = json!({ "body": text });
    match existing {
        Some(id) => {
            // PATCH, as GitHub documents it (octocrab's update_comment sends POST).
            let route = client.repo_route(&format!("/issues/comments/{id}"));
            let c: octocrab::models::issues::Comment = client
                .send("update the plan comment", true, &route, &payload)
                .await?;
            Ok(Posted::Updated(c.html_url.to_string()))
        }
        None => {
            let route = client.repo_route(&format!("/issues/{number}/comments"));
            let c: octocrab::models::issues::Comment = client
                .send("comment on the pull request", false, &route, &payload)
                .await?;
            Ok(Posted::Created(c.html_url.to_string()))
        }
    }
}
