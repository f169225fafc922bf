//! The one table of inputs. `action.yml`, the CLI's flags and the README's
//! table are all checked against it.

use super::Mode;

pub struct InputSpec {
    pub name: &'static str,
    pub default: Option<&'static str>,
    /// The modes the input applies to: given to any other, it is refused
    /// (exit 2), never silently ignored.
    pub modes: &'static [Mode],
    pub description: &'static str,
}

impl InputSpec {
    pub fn applies_to(&self, mode: Mode) -> bool {
        self.modes.contains(&mode)
    }
}

const ALL: &[Mode] = &[
    Mode::Render,
    Mode::Migrate,
    Mode::Deploy,
    Mode::Continue,
    Mode::Rollback,
];
/// The modes that render a task definition from an image.
const RENDERING: &[Mode] = &[Mode::Render, Mode::Migrate, Mode::Deploy];
/// The modes that wait for something in AWS to end.
const WAITING: &[Mode] = &[Mode::Migrate, Mode::Deploy, Mode::Continue, Mode::Rollback];
/// The modes that change services and follow their deployments.
const FOLLOWING: &[Mode] = &[Mode::Deploy, Mode::Continue, Mode::Rollback];
/// The modes that find or create CodeDeploy deployments.
const CODEDEPLOY: &[Mode] = &[Mode::Deploy, Mode::Rollback];
/// The modes whose run a GitHub Deployment can stand for.
const GITHUB_DEPLOYMENT: &[Mode] = &[Mode::Deploy, Mode::Continue];
const RENDER: &[Mode] = &[Mode::Render];
const MIGRATE: &[Mode] = &[Mode::Migrate];
const DEPLOY: &[Mode] = &[Mode::Deploy];
/// The modes that move scheduled tasks (render shows what deploy would).
const SCHEDULES: &[Mode] = &[Mode::Render, Mode::Deploy, Mode::Continue, Mode::Rollback];

const fn input(
    name: &'static str,
    default: Option<&'static str>,
    modes: &'static [Mode],
    description: &'static str,
) -> InputSpec {
    InputSpec {
        name,
        default,
        modes,
        description,
    }
}

pub const INPUTS: &[InputSpec] = &[
    input(
        "mode",
        None,
        ALL,
        "What to do: render, migrate, deploy, continue (a deployment paused at a PAUSE lifecycle hook) or rollback.",
    ),
    input(
        "aws-region",
        None,
        ALL,
        "AWS region; defaults to AWS_REGION / AWS_DEFAULT_REGION.",
    ),
    input(
        "role-to-assume",
        None,
        ALL,
        "IAM role ARN to assume with the GitHub OIDC token. Without it the default AWS credential chain is used.",
    ),
    input(
        "role-session-name",
        None,
        ALL,
        "Session name for the assumed role; defaults to fargate-deploy-<run id>-<attempt>.",
    ),
    input(
        "role-duration-seconds",
        Some("3600"),
        ALL,
        "Lifetime of the assumed-role session (900-43200); refreshed before it expires.",
    ),
    input(
        "audience",
        Some("sts.amazonaws.com"),
        ALL,
        "Audience of the GitHub OIDC token.",
    ),
    input("cluster", Some("default"), ALL, "ECS cluster name or ARN."),
    input(
        "service",
        None,
        ALL,
        "ECS service name(s), comma or newline separated.",
    ),
    input(
        "image",
        None,
        RENDERING,
        "Image: ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO:TAG, ...@sha256:..., REPO:TAG (your own ECR registry) or any other registry's reference. Without it, deploy and migrate promote the revision task-definition names (family:revision or ARN) as it is.",
    ),
    input(
        "images",
        None,
        RENDERING,
        "Several images in one step: CONTAINER=IMAGE lines (each resolved and pinned like image; not with image or container-name). The artifacts number them IMAGE1_NAME, IMAGE2_NAME... in line order.",
    ),
    input(
        "pin-digest",
        Some("true"),
        RENDERING,
        "Pin ECR images to their digest (REPO@sha256:...).",
    ),
    input(
        "task-definition",
        None,
        RENDERING,
        "Template: a JSON or YAML file, a family, family:revision or ARN; defaults to the service's current task definition. A family:revision or ARN without image is promoted: deployed as it is, nothing rendered or registered.",
    ),
    input(
        "container-name",
        None,
        RENDERING,
        "Container(s) that receive the image, comma separated; defaults to the containers using the image's repository.",
    ),
    input(
        "environment-variables",
        None,
        RENDERING,
        "KEY=value lines set on the image's containers (same key replaced).",
    ),
    input(
        "secrets",
        None,
        RENDERING,
        "KEY=valueFrom lines set on the image's containers (same key replaced).",
    ),
    input(
        "set",
        None,
        RENDERING,
        "Lines 'JSONPATH = JSON' applied to the rendered task definition, e.g. $.cpu = \"512\".",
    ),
    input(
        "artifacts-dir",
        Some(".fargate-deploy"),
        RENDERING,
        "Where imageDetail.json, taskdef.json, taskdef.rendered.json and appspec.yaml are written.",
    ),
    input(
        "container-port",
        None,
        RENDERING,
        "Container port for the appspec's LoadBalancerInfo when the service has no load balancer.",
    ),
    input(
        "command",
        None,
        MIGRATE,
        "Migration command: a JSON array, or a string split like POSIX shell words (no shell runs).",
    ),
    input(
        "migration-container",
        None,
        MIGRATE,
        "Container whose command is overridden and whose exit code decides; defaults to the image's container.",
    ),
    input(
        "subnets",
        None,
        MIGRATE,
        "Subnets for the one-off task (comma separated); default: the service's.",
    ),
    input(
        "security-groups",
        None,
        MIGRATE,
        "Security groups for the one-off task (comma separated); default: the service's.",
    ),
    input(
        "assign-public-ip",
        None,
        MIGRATE,
        "ENABLED or DISABLED for the one-off task; default: the service's.",
    ),
    input(
        "started-by",
        Some("fargate-deploy"),
        MIGRATE,
        "startedBy of the one-off task.",
    ),
    input(
        "timeout-minutes",
        Some("30"),
        WAITING,
        "How long to wait for the task or deployment before failing (fractions allowed).",
    ),
    input(
        "stop-task-on-cancel",
        Some("true"),
        MIGRATE,
        "Stop the one-off task when the run is cancelled or times out.",
    ),
    input(
        "force-new-deployment",
        Some("false"),
        DEPLOY,
        "Start a new deployment even if the task definition is unchanged.",
    ),
    input(
        "desired-count",
        None,
        DEPLOY,
        "Desired count to set on the service(s).",
    ),
    input(
        "fail-fast",
        Some("true"),
        DEPLOY,
        "Stop a rolling or ECS-native deployment with rollback, and fail, once 3 of its tasks failed the same way for a reason that will not fix itself (image pull, resource set-up, exec format, a crash loop) while none runs.",
    ),
    input(
        "on-cancel",
        Some("leave"),
        DEPLOY,
        "What a cancelled deploy does with the deployments it started: leave them going in AWS, or rollback (stop each with rollback to the revision it replaced).",
    ),
    input(
        "keep-revisions",
        None,
        DEPLOY,
        "After every deployment succeeded, keep the newest N ACTIVE revisions of each deployed family and deregister the older ones — never one a service, a running task, a scheduled task or a rollback still uses. Off when not set.",
    ),
    input(
        "delete-revisions",
        Some("false"),
        DEPLOY,
        "With keep-revisions: also delete the families' INACTIVE revisions not in use (DeleteTaskDefinitions, batches of 10).",
    ),
    input(
        "scheduled-tasks",
        None,
        SCHEDULES,
        "Scheduled tasks moved to the deployed revision once every deployment succeeded (by continue once the continued deployments did; back by rollback): auto (every EventBridge rule target and EventBridge Scheduler schedule that runs a deployed family in the cluster), or names — rule/NAME, rule/BUS/NAME, schedule/NAME, schedule/GROUP/NAME or ARNs. Off when not set.",
    ),
    input(
        "scheduled-tasks-exclude",
        None,
        SCHEDULES,
        "With scheduled-tasks: auto, the rules and schedules left where they are (pinned on purpose), named as in scheduled-tasks.",
    ),
    input(
        "wait-until",
        Some("complete"),
        FOLLOWING,
        "complete, traffic-shifted, paused (until an ECS-native deployment awaits ContinueServiceDeployment at a PAUSE lifecycle hook; deploy, continue) or none.",
    ),
    input(
        "codedeploy-application",
        None,
        CODEDEPLOY,
        "CodeDeploy application; default AppECS-<cluster>-<service>.",
    ),
    input(
        "codedeploy-deployment-group",
        None,
        CODEDEPLOY,
        "CodeDeploy deployment group; default DgpECS-<cluster>-<service>.",
    ),
    input(
        "codedeploy-deployment-config",
        None,
        DEPLOY,
        "CodeDeploy deployment configuration name.",
    ),
    input(
        "codedeploy-hooks",
        None,
        RENDERING,
        "AppSpec hooks, Stage=lambda-arn lines (BeforeInstall, AfterInstall, AfterAllowTestTraffic, BeforeAllowTraffic, AfterAllowTraffic).",
    ),
    input(
        "github-deployment",
        Some("false"),
        GITHUB_DEPLOYMENT,
        "mode deploy or continue: create a GitHub Deployment for GITHUB_SHA with statuses in_progress, then success or failure (needs permissions: deployments: write).",
    ),
    input(
        "environment",
        None,
        GITHUB_DEPLOYMENT,
        "GitHub Deployment environment name (default production).",
    ),
    input(
        "environment-url",
        None,
        GITHUB_DEPLOYMENT,
        "GitHub Deployment environment URL, shown on the deployment.",
    ),
    input(
        "github-token",
        None,
        ALL,
        "Token for the GitHub API (the action passes github.token).",
    ),
    input(
        "comment-plan",
        Some("false"),
        RENDER,
        "mode render on a pull request: post the task-definition diff as one comment, updated in place (needs permissions: pull-requests: write).",
    ),
    input(
        "show-environment-values",
        Some("false"),
        RENDER,
        "mode render: show environment variable values in the diff (job summary and plan comment); by default only added, changed or removed.",
    ),
];

/// The argument groups, the CLI's help headings: each is one struct of
/// [`super::settings`] (AWS access: `Access`; Target: `Settings`;
/// Rendering: `Rendering`; Review: `RenderSettings`; One-off task:
/// `TaskSettings`; Service update: `DeploySettings`; Following: `Following`,
/// and migrate's own timeout; GitHub deployment: `GitHubDeployment`).
/// Every input but `mode` is in exactly one.
pub const GROUPS: &[(&str, &[&str])] = &[
    (
        "AWS access",
        &[
            "aws-region",
            "role-to-assume",
            "role-session-name",
            "role-duration-seconds",
            "audience",
        ],
    ),
    ("Target", &["cluster", "service", "github-token"]),
    (
        "Rendering",
        &[
            "image",
            "images",
            "pin-digest",
            "task-definition",
            "container-name",
            "environment-variables",
            "secrets",
            "set",
            "artifacts-dir",
            "container-port",
            "codedeploy-hooks",
        ],
    ),
    (
        "Review (render)",
        &["comment-plan", "show-environment-values"],
    ),
    (
        "One-off task (migrate)",
        &[
            "command",
            "migration-container",
            "subnets",
            "security-groups",
            "assign-public-ip",
            "started-by",
            "stop-task-on-cancel",
        ],
    ),
    (
        "Service update (deploy)",
        &[
            "force-new-deployment",
            "desired-count",
            "fail-fast",
            "on-cancel",
            "keep-revisions",
            "delete-revisions",
            "codedeploy-deployment-config",
        ],
    ),
    (
        "Scheduled tasks (deploy, continue, rollback; render shows them)",
        &["scheduled-tasks", "scheduled-tasks-exclude"],
    ),
    (
        "Following",
        &[
            "timeout-minutes",
            "wait-until",
            "codedeploy-application",
            "codedeploy-deployment-group",
        ],
    ),
    (
        "GitHub deployment (deploy, continue)",
        &["github-deployment", "environment", "environment-url"],
    ),
];

/// The group an input is in (its CLI help heading).
pub fn group(name: &str) -> Option<&'static str> {
    GROUPS
        .iter()
        .find(|(_, names)| names.contains(&name))
        .map(|(heading, _)| *heading)
}

pub fn spec(name: &str) -> Option<&'static InputSpec> {
    INPUTS.iter().find(|i| i.name == name)
}

/// Every output the tool may set, with its description (action.yml lists the same).
pub const OUTPUTS: &[(&str, &str)] = &[
    (
        "result",
        "JSON summary of the run: mode, result, targets, image, reason on failure.",
    ),
    (
        "image",
        "The image deployed, pinned to its digest unless pin-digest is false (with images: the first).",
    ),
    ("image-digest", "The image's sha256 digest (ECR images)."),
    (
        "images",
        "JSON array of the images deployed, in IMAGE1_NAME, IMAGE2_NAME... order (one element with image).",
    ),
    ("artifacts-dir", "Where the artifacts were written."),
    (
        "task-definition",
        "Path of the rendered task definition (taskdef.rendered.json) when one target was rendered.",
    ),
    (
        "task-definition-arn",
        "ARN of the registered (or reused) task definition.",
    ),
    (
        "task-definition-arns",
        "JSON map of service to task-definition ARN.",
    ),
    ("task-arn", "ARN of the one-off task (migrate)."),
    (
        "exit-code",
        "Exit code of the migration container (migrate).",
    ),
    (
        "log-stream",
        "CloudWatch Logs stream of the migration container (migrate).",
    ),
    (
        "deployment-id",
        "ECS deployment id(s) created by this run (deploy).",
    ),
    (
        "codedeploy-deployment-id",
        "CodeDeploy deployment id (deploy of a CODE_DEPLOY service).",
    ),
    (
        "github-deployment-id",
        "Id of the GitHub Deployment (github-deployment: true).",
    ),
    (
        "paused",
        "JSON map of service to the paused service deployment: serviceDeploymentArn, stage, hookId, expiresAt (wait-until: paused).",
    ),
];
