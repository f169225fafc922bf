"""Seeds the emulator with what a real Fargate account has before a deploy.

Scenario "default" (region eu-west-1, account 123456789012):
  * VPC with DNS hostnames (RunTask on awsvpc needs it in moto), two private
    subnets and a security group;
  * ECR repository ``web`` with tags ``v1`` and ``v2``, each a distinct Docker
    v2 manifest with its own layers, so each has its own digest (linux/amd64,
    as their config blobs say), and ``log-router`` with tag ``v7`` (the
    sidecar, for several images in one step; its digest is
    ``digests["log-router:v7"]``); ``arm`` (one linux/arm64 image), ``multi``
    (an OCI index of amd64 and arm64 images and an attestation) and
    ``arm-index`` (an index of arm64 only);
  * log group ``/ecs/web``; Secrets Manager secret ``prod/db`` (the web
    container's ``DATABASE_URL``) and SSM parameter ``/prod/token``; IAM
    roles ``ecs-execution`` and ``web-task`` (trusting ECS tasks) and
    ``lambda-only`` (trusting Lambda);
  * cluster ``prod``;
  * task definition ``web`` (containers ``web`` from ECR with environment,
    secrets, awslogs and port 8080, and a ``log-router`` sidecar; tags) and
    ``worker`` (one container from the same repository, its runtime platform
    LINUX/X86_64 written out);
  * services ``web`` (awsvpc, behind a target group on web:8080, deployment
    circuit breaker with rollback), ``worker`` and ``scheduler`` (both on the
    ``worker`` definition, no circuit breaker) and ``native`` (ECS-native BLUE_GREEN, 5 minutes bake time, deployment alarm ``web-5xx`` with rollback), ``gated`` (BLUE_GREEN
    with a PAUSE hook after test traffic), ``idle`` (desired count 0), ``bluegreen`` (CODE_DEPLOY controller, with the CodeDeploy application
    ``AppECS-prod-bluegreen`` and deployment group ``DgpECS-prod-bluegreen``,
    automatic rollback on failure),
    all FARGATE;
  * scheduled tasks of cluster ``prod`` (``scheduled_tasks``): EventBridge
    rules ``nightly-report`` (an ECS target on ``worker:1`` with a command
    override, beside a Lambda target) and ``audit`` (``worker:1``); EventBridge
    Scheduler schedules ``default/hourly-sync`` (``worker:1``, every field
    set: time zone, flexible window, retry policy, action after completion)
    and ``default/latest-cleanup`` (the ``worker`` family without revision),
    and ``batch/staging-sync`` (``worker:1`` in cluster ``staging``).
"""

import hashlib
import json

import boto3

import ecr_layer  # beside this file

REGION = "eu-west-1"
ACCOUNT = "123456789012"
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"


def client(endpoint, name):
    return boto3.client(name, region_name=REGION, endpoint_url=endpoint,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def manifest(tag, arch="amd64", repository="web"):
    """A single-image manifest whose config blob (stored, as a registry
    does) names its platform."""
    layer = hashlib.sha256(f"layer-of-{tag}".encode()).hexdigest()
    config = json.dumps({"architecture": arch, "os": "linux", "config": {"Cmd": ["bin/web"]},
                         "rootfs": {"type": "layers", "diff_ids": [f"sha256:{layer}"]}}).encode()
    return json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(config),
                   "digest": ecr_layer.put_blob(repository, config)},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 2000,
                    "digest": f"sha256:{layer}"}],
    })


def push_index(ecr, tag, archs):
    """An OCI image index of one image per architecture (pushed by digest,
    as buildx does) plus a build attestation (platform unknown/unknown);
    digests are the sha256 of the manifests, as ECR computes them."""
    entries = []
    for arch in archs + ["unknown"]:
        body = manifest(f"{tag}-{arch}", arch)
        digest = "sha256:" + hashlib.sha256(body.encode()).hexdigest()
        ecr.put_image(repositoryName="web", imageManifest=body, imageDigest=digest,
                      imageManifestMediaType="application/vnd.docker.distribution.manifest.v2+json")
        entries.append({"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "digest": digest,
                        "size": len(body), "platform": {"os": arch == "unknown" and "unknown" or "linux",
                                                        "architecture": arch}})
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": entries})
    digest = "sha256:" + hashlib.sha256(index.encode()).hexdigest()
    ecr.put_image(repositoryName="web", imageTag=tag, imageManifest=index, imageDigest=digest,
                  imageManifestMediaType="application/vnd.oci.image.index.v1+json")


def web_containers(image, db_secret):
    return [
        {
            "name": "web",
            "image": image,
            "memory": 512,
            "essential": True,
            "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
            "environment": [{"name": "RAILS_ENV", "value": "production"}, {"name": "APP_NAME", "value": "web"}],
            "secrets": [{"name": "DATABASE_URL", "valueFrom": db_secret}],
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": "/ecs/web", "awslogs-region": REGION, "awslogs-stream-prefix": "ecs"}},
        },
        {
            "name": "log-router",
            "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable",
            "memory": 64,
            "essential": False,
            "firelensConfiguration": {"type": "fluentbit"},
        },
    ]


def scheduled_tasks(endpoint, network, worker):
    """Rules and schedules that run the worker family, as a team has them."""
    cluster = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/prod"
    role = f"arn:aws:iam::{ACCOUNT}:role/ecs-events"
    vpc = network["awsvpcConfiguration"]
    rule_ecs = {"TaskDefinitionArn": worker, "TaskCount": 1, "LaunchType": "FARGATE", "PlatformVersion": "1.4.0",
                "NetworkConfiguration": {"awsvpcConfiguration": {"Subnets": vpc["subnets"], "SecurityGroups": vpc["securityGroups"],
                                                                 "AssignPublicIp": "DISABLED"}}}
    events = client(endpoint, "events")
    events.put_rule(Name="nightly-report", ScheduleExpression="cron(0 2 * * ? *)", State="ENABLED",
                    Description="the nightly report")
    override = json.dumps({"containerOverrides": [{"name": "worker", "command": ["bin/report"]}]})
    events.put_targets(Rule="nightly-report", Targets=[
        {"Id": "report", "Arn": cluster, "RoleArn": role, "Input": override, "EcsParameters": rule_ecs},
        {"Id": "notify", "Arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:notify"}])
    events.put_rule(Name="audit", ScheduleExpression="rate(1 hour)", State="ENABLED")
    events.put_targets(Rule="audit", Targets=[{"Id": "audit", "Arn": cluster, "RoleArn": role, "EcsParameters": rule_ecs}])

    scheduler = client(endpoint, "scheduler")
    scheduler.create_schedule_group(Name="batch")

    def target(cluster_arn, task_definition):
        return {"Arn": cluster_arn, "RoleArn": role, "Input": override,
                "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 3},
                "EcsParameters": {"TaskDefinitionArn": task_definition, "TaskCount": 1, "LaunchType": "FARGATE",
                                  "NetworkConfiguration": {"awsvpcConfiguration": {
                                      "Subnets": vpc["subnets"], "SecurityGroups": vpc["securityGroups"],
                                      "AssignPublicIp": "DISABLED"}}}}
    scheduler.create_schedule(Name="hourly-sync", ScheduleExpression="rate(1 hour)",
                              ScheduleExpressionTimezone="Europe/Amsterdam", Description="hourly sync",
                              FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15}, State="ENABLED",
                              ActionAfterCompletion="NONE", Target=target(cluster, worker))
    family = worker.rsplit(":", 1)[0]
    scheduler.create_schedule(Name="latest-cleanup", ScheduleExpression="rate(1 day)",
                              FlexibleTimeWindow={"Mode": "OFF"}, Target=target(cluster, family))
    staging = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/staging"
    scheduler.create_schedule(Name="staging-sync", GroupName="batch", ScheduleExpression="rate(1 hour)",
                              FlexibleTimeWindow={"Mode": "OFF"}, Target=target(staging, worker))


def default(endpoint):
    ec2 = client(endpoint, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{az}")["Subnet"]["SubnetId"]
               for i, az in ((1, "a"), (2, "b"))]
    sg = ec2.create_security_group(GroupName="web", Description="web tasks", VpcId=vpc)["GroupId"]

    ecr = client(endpoint, "ecr")
    ecr.create_repository(repositoryName="web")
    digests = {}
    for tag in ("v1", "v2"):
        image = ecr.put_image(repositoryName="web", imageTag=tag, imageManifest=manifest(tag),
                              imageManifestMediaType="application/vnd.docker.distribution.manifest.v2+json")
        digests[tag] = image["image"]["imageId"]["imageDigest"]

    # A sidecar built in the same pipeline (several images in one step).
    ecr.create_repository(repositoryName="log-router")
    image = ecr.put_image(repositoryName="log-router", imageTag="v7", imageManifest=manifest("router-v7", repository="log-router"),
                          imageManifestMediaType="application/vnd.docker.distribution.manifest.v2+json")
    digests["log-router:v7"] = image["image"]["imageId"]["imageDigest"]

    # Images for the architecture check: built on an arm64 laptop (a single
    # arm64 image), for both architectures, and for arm64 only (indexes).
    ecr.put_image(repositoryName="web", imageTag="arm", imageManifest=manifest("arm", "arm64"),
                  imageManifestMediaType="application/vnd.docker.distribution.manifest.v2+json")
    push_index(ecr, "multi", ["amd64", "arm64"])
    push_index(ecr, "arm-index", ["arm64"])

    client(endpoint, "logs").create_log_group(logGroupName="/ecs/web")
    # What the definitions' secrets refer to (the verify stage looks them up).
    db_secret = client(endpoint, "secretsmanager").create_secret(Name="prod/db", SecretString="postgres://db")["ARN"]
    client(endpoint, "ssm").put_parameter(Name="/prod/token", Value="t0k", Type="SecureString")
    iam = client(endpoint, "iam")
    for role, service in (("ecs-execution", "ecs-tasks"), ("web-task", "ecs-tasks"), ("lambda-only", "lambda")):
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                         "Principal": {"Service": f"{service}.amazonaws.com"}}]}
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))

    ecs = client(endpoint, "ecs")
    ecs.create_cluster(clusterName="prod")
    common = dict(networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="512", memory="1024",
                  executionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/ecs-execution",
                  taskRoleArn=f"arn:aws:iam::{ACCOUNT}:role/web-task")
    v1 = f"{REGISTRY}/web@{digests['v1']}"
    web_td = ecs.register_task_definition(family="web", containerDefinitions=web_containers(v1, db_secret),
                                          tags=[{"key": "app", "value": "web"}], **common)["taskDefinition"]
    worker_td = ecs.register_task_definition(family="worker", containerDefinitions=[
        {"name": "worker", "image": v1, "memory": 512, "command": ["bin/jobs"],
         "logConfiguration": {"logDriver": "awslogs", "options": {
             "awslogs-group": "/ecs/web", "awslogs-region": REGION, "awslogs-stream-prefix": "worker"}}}],
        runtimePlatform={"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
        **common)["taskDefinition"]
    network = {"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [sg], "assignPublicIp": "DISABLED"}}
    tg = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/web/0123456789abcdef"
    breaker = {"deploymentCircuitBreaker": {"enable": True, "rollback": True},
               "maximumPercent": 200, "minimumHealthyPercent": 100}
    ecs.create_service(cluster="prod", serviceName="web", taskDefinition=web_td["taskDefinitionArn"], desiredCount=2,
                       launchType="FARGATE", platformVersion="1.4.0", networkConfiguration=network,
                       deploymentConfiguration=breaker,
                       loadBalancers=[{"targetGroupArn": tg, "containerName": "web", "containerPort": 8080}])
    ecs.create_service(cluster="prod", serviceName="worker", taskDefinition=worker_td["taskDefinitionArn"],
                       desiredCount=1, launchType="FARGATE", networkConfiguration=network)
    ecs.create_service(cluster="prod", serviceName="scheduler", taskDefinition=worker_td["taskDefinitionArn"],
                       desiredCount=1, launchType="FARGATE", networkConfiguration=network)
    ecs.create_service(cluster="prod", serviceName="bluegreen", taskDefinition=web_td["taskDefinitionArn"], desiredCount=1,
                       launchType="FARGATE", networkConfiguration=network, deploymentController={"type": "CODE_DEPLOY"},
                       loadBalancers=[{"targetGroupArn": tg, "containerName": "web", "containerPort": 8080}])
    native = {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 5, "maximumPercent": 200, "minimumHealthyPercent": 100,
              "deploymentCircuitBreaker": {"enable": True, "rollback": True},
              "alarms": {"alarmNames": ["web-5xx"], "enable": True, "rollback": True}}
    ecs.create_service(cluster="prod", serviceName="native", taskDefinition=web_td["taskDefinitionArn"], desiredCount=2,
                       launchType="FARGATE", networkConfiguration=network, deploymentConfiguration=native,
                       loadBalancers=[{"targetGroupArn": tg, "containerName": "web", "containerPort": 8080}])
    paused = dict(native, lifecycleHooks=[{"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
                                            "timeoutConfiguration": {"timeoutInMinutes": 30, "action": "ROLLBACK"}}])
    ecs.create_service(cluster="prod", serviceName="gated", taskDefinition=web_td["taskDefinitionArn"], desiredCount=1,
                       launchType="FARGATE", networkConfiguration=network, deploymentConfiguration=paused)
    # A pause after production traffic moved, with the documented defaults
    # (1440 minutes, then ROLLBACK): not a success while it awaits action.
    late = dict(native, lifecycleHooks=[{"targetType": "PAUSE", "lifecycleStages": ["POST_PRODUCTION_TRAFFIC_SHIFT"]}])
    ecs.create_service(cluster="prod", serviceName="gated-late", taskDefinition=web_td["taskDefinitionArn"], desiredCount=1,
                       launchType="FARGATE", networkConfiguration=network, deploymentConfiguration=late)
    ecs.create_service(cluster="prod", serviceName="idle", taskDefinition=worker_td["taskDefinitionArn"],
                       desiredCount=0, launchType="FARGATE", networkConfiguration=network)
    # The deployment alarms of the native service and of the CodeDeploy
    # group: 5XX answers of their target groups.
    for alarm, group in (("web-5xx", "web/0123456789abcdef"), ("bluegreen-5xx", "web-green/0123456789abcdef")):
        client(endpoint, "cloudwatch").put_metric_alarm(
            AlarmName=alarm, Namespace="AWS/ApplicationELB", MetricName="HTTPCode_Target_5XX_Count",
            Dimensions=[{"Name": "TargetGroup", "Value": f"targetgroup/{group}"}], Statistic="Sum",
            Period=60, EvaluationPeriods=1, Threshold=5.0, ComparisonOperator="GreaterThanThreshold",
            TreatMissingData="notBreaching")
    cd = client(endpoint, "codedeploy")
    cd.create_application(applicationName="AppECS-prod-bluegreen", computePlatform="ECS")
    cd.create_deployment_group(
        applicationName="AppECS-prod-bluegreen", deploymentGroupName="DgpECS-prod-bluegreen",
        serviceRoleArn=f"arn:aws:iam::{ACCOUNT}:role/codedeploy", deploymentConfigName="CodeDeployDefault.ECSAllAtOnce",
        deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        autoRollbackConfiguration={"enabled": True, "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]},
        alarmConfiguration={"enabled": True, "alarms": [{"name": "bluegreen-5xx"}]},
        ecsServices=[{"clusterName": "prod", "serviceName": "bluegreen"}],
        loadBalancerInfo={"targetGroupPairInfoList": [{"targetGroups": [{"name": "web-blue"}, {"name": "web-green"}],
                                                       "prodTrafficRoute": {"listenerArns": [f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:listener/app/web/1/1"]}}]},
    )
    scheduled_tasks(endpoint, network, worker_td["taskDefinitionArn"])
    return {
        "region": REGION,
        "account": ACCOUNT,
        "registry": REGISTRY,
        "subnets": subnets,
        "security_group": sg,
        "digests": digests,
        "task_definitions": {"web": web_td["taskDefinitionArn"], "worker": worker_td["taskDefinitionArn"]},
        "db_secret": db_secret,
    }


def bench(endpoint):
    """The default scenario plus fifty services ``svc-0`` … ``svc-49`` like ``web``
    (awsvpc, circuit breaker with rollback, desired count 2) and ``big``
    (the same, desired count 20), for the benchmark."""
    seeded = default(endpoint)
    ecs = client(endpoint, "ecs")
    network = {"awsvpcConfiguration": {"subnets": seeded["subnets"], "securityGroups": [seeded["security_group"]],
                                       "assignPublicIp": "DISABLED"}}
    breaker = {"deploymentCircuitBreaker": {"enable": True, "rollback": True},
               "maximumPercent": 200, "minimumHealthyPercent": 100}
    for i in range(50):
        ecs.create_service(cluster="prod", serviceName=f"svc-{i}", taskDefinition=seeded["task_definitions"]["web"],
                           desiredCount=2, launchType="FARGATE", networkConfiguration=network,
                           deploymentConfiguration=breaker)
    # Desired count 20: the circuit breaker's threshold is
    # min(max(3, ceil(20 / 2)), 200) = 10 failed tasks (fail-fast's benchmark).
    ecs.create_service(cluster="prod", serviceName="big", taskDefinition=seeded["task_definitions"]["web"],
                       desiredCount=20, launchType="FARGATE", networkConfiguration=network,
                       deploymentConfiguration=breaker)
    return seeded


SCENARIOS = {"default": default, "bench": bench}
