"""CodeDeploy blue/green deployments of ECS services on top of moto.

moto's CodeDeploy keeps a deployment ``Created`` forever and never touches
ECS. This layer, installed by fdemu.py, gives an ECS deployment the course
CodeDeploy documents for the ECS compute platform:

* status Created → InProgress (0.2 s) → Succeeded, its ECS target walking
  the lifecycle events BeforeInstall, Install, AfterInstall,
  AllowTestTraffic, AfterAllowTestTraffic, BeforeAllowTraffic, AllowTraffic,
  AfterAllowTraffic (each Pending → InProgress → Succeeded), spread over
  ``ecs_layer.CONFIG["rollout_seconds"]``; on success the ECS service runs
  the AppSpec's task definition;
* a replacement task set whose tasks crash — the AppSpec's task definition
  has ``FDEMU_EXIT_CODE`` non-zero in its first container (the emulator's
  convention) — fails ``Install``: status Failed, ``errorInformation``
  ECS_UPDATE_ERROR, and with the deployment group's automatic rollback on
  DEPLOYMENT_FAILURE a ``rollbackInfo`` naming the rollback deployment;
* StopDeployment stops it (status Stopped) and, with
  ``autoRollbackEnabled``, records the rollback;
* ListDeploymentTargets / BatchGetDeploymentTargets (missing in moto) answer
  the ECS target ``<cluster>:<service>`` with its lifecycle events.
"""

import json
import threading
import time
import uuid
from datetime import datetime, timezone

import yaml
from moto.codedeploy import models, responses
from moto.ecs.models import ecs_backends

import ecs_layer

LOCK = threading.RLock()
EVENTS = ["BeforeInstall", "Install", "AfterInstall", "AllowTestTraffic", "AfterAllowTestTraffic",
          "BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic"]


def _now():
    return datetime.now(timezone.utc)


def _appspec(deployment):
    content = ((deployment.revision or {}).get("appSpecContent") or {}).get("content") or "{}"
    try:
        doc = json.loads(content)
    except ValueError:
        doc = yaml.safe_load(content)
    props = doc["Resources"][0]["TargetService"]["Properties"]
    return props


def _plan(backend, deployment):
    plan = getattr(deployment, "_fd", None)
    if plan is None:
        props = _appspec(deployment)
        td_arn = props["TaskDefinition"]
        ecs = ecs_backends[backend.account_id][backend.region_name]
        td = ecs.describe_task_definition(td_arn)
        env = {e["name"]: e["value"] for e in (td.container_definitions[0].get("environment") or [])}
        group = deployment.deployment_group
        ecs_services = getattr(group, "ecs_services", None) or []
        target = ecs_services[0] if ecs_services else {}
        rollback_conf = deployment.auto_rollback_configuration or getattr(group, "auto_rollback_configuration", None) or {}
        plan = {
            "t0": time.monotonic(), "td": td.arn, "crash": int(env.get("FDEMU_EXIT_CODE", "0") or 0) != 0,
            "cluster": target.get("clusterName", ""), "service": target.get("serviceName", ""),
            "rollback": bool(rollback_conf.get("enabled")) and "DEPLOYMENT_FAILURE" in (rollback_conf.get("events") or []),
            "events": [{"lifecycleEventName": n, "status": "Pending"} for n in EVENTS], "done": False,
        }
        deployment._fd = plan
    return plan


def _advance(backend, deployment):
    plan = _plan(backend, deployment)
    if plan["done"]:
        return
    t = time.monotonic() - plan["t0"]
    if t < 0.2:
        return
    if deployment.status == "Created":
        deployment.status, deployment.start_time = "InProgress", _now()
    step = max(ecs_layer.CONFIG["rollout_seconds"], 0.1) / len(EVENTS)
    for i, ev in enumerate(plan["events"]):
        start, end = 0.2 + i * step, 0.2 + (i + 1) * step
        if t >= start and ev["status"] == "Pending":
            ev["status"], ev["startTime"] = "InProgress", _now()
        if t >= end and ev["status"] == "InProgress":
            if plan["crash"] and ev["lifecycleEventName"] == "Install":
                ev["status"], ev["endTime"] = "Failed", _now()
                ev["diagnostics"] = {"errorCode": "ECS_UPDATE_ERROR", "message": "The ECS service cannot reach a steady state: essential container in task exited"}
                for later in plan["events"][i + 1:]:
                    later["status"] = "Skipped"
                _finish(backend, deployment, plan, "Failed")
                return
            ev["status"], ev["endTime"] = "Succeeded", _now()
    if all(e["status"] == "Succeeded" for e in plan["events"]):
        _finish(backend, deployment, plan, "Succeeded")


def _finish(backend, deployment, plan, status):
    plan["done"] = True
    deployment.status, deployment.complete_time = status, _now()
    if status == "Succeeded":
        ecs = ecs_backends[backend.account_id][backend.region_name]
        svc = ecs.services.get(f"{plan['cluster']}:{plan['service']}")
        if svc is not None:
            svc.task_definition = plan["td"]
    elif status == "Failed":
        deployment._fd_error = {"code": "ECS_UPDATE_ERROR", "message": "The ECS service cannot reach a steady state. Error: ECS deployment circuit breaker: tasks failed to start."}
        if plan["rollback"]:
            deployment._fd_rollback = {"rollbackDeploymentId": f"d-{uuid.uuid4().hex[:9].upper()}",
                                       "rollbackMessage": "Automatic rollback triggered by DEPLOYMENT_FAILURE: the original task set serves production traffic again."}


def _stop(backend, deployment, auto_rollback):
    plan = _plan(backend, deployment)
    if plan["done"]:
        return {"status": "Failed", "statusMessage": f"The deployment is already {deployment.status}."}
    plan["done"] = True
    deployment.status, deployment.complete_time = "Stopped", _now()
    deployment._fd_error = {"code": "DEPLOYMENT_STOPPED", "message": "The deployment was stopped by a user."}
    if auto_rollback:
        deployment._fd_rollback = {"rollbackDeploymentId": f"d-{uuid.uuid4().hex[:9].upper()}",
                                   "rollbackMessage": "Automatic rollback triggered because the deployment was stopped."}
    return {"status": "Succeeded", "statusMessage": "Deployment stopped."}


def handle(operation, request, backend):
    """Answers the deployment-target operations moto lacks; None otherwise."""
    if operation not in ("ListDeploymentTargets", "BatchGetDeploymentTargets", "StopDeployment"):
        return None
    with LOCK:
        deployment = backend.deployments.get(request.get("deploymentId", ""))
        if deployment is None:
            return 400, {"__type": "DeploymentDoesNotExistException", "message": "The deployment does not exist."}
        if operation == "StopDeployment":
            return 200, _stop(backend, deployment, bool(request.get("autoRollbackEnabled")))
        _advance(backend, deployment)
        plan = _plan(backend, deployment)
        target_id = f"{plan['cluster']}:{plan['service']}"
        if operation == "ListDeploymentTargets":
            return 200, {"targetIds": [target_id]}
        events = [{k: (v.timestamp() if isinstance(v, datetime) else v) for k, v in e.items()} for e in plan["events"]]
        status = {"Succeeded": "Succeeded", "Failed": "Failed", "Stopped": "Failed"}.get(deployment.status, "InProgress")
        return 200, {"deploymentTargets": [{"deploymentTargetType": "ECSTarget", "ecsTarget": {
            "deploymentId": deployment.deployment_id, "targetId": target_id, "status": status,
            "targetArn": f"arn:aws:ecs:{backend.region_name}:{backend.account_id}:service/{plan['cluster']}/{plan['service']}",
            "lastUpdatedAt": time.time(), "lifecycleEvents": events}}]}


def install():
    orig_get = models.CodeDeployBackend.get_deployment
    orig_batch = models.CodeDeployBackend.batch_get_deployments
    orig_info = responses._deployment_info

    def get_deployment(self, deployment_id):
        with LOCK:
            d = orig_get(self, deployment_id)
            _advance(self, d)
            return d

    def batch_get_deployments(self, ids):
        with LOCK:
            found = orig_batch(self, ids)
            for d in found:
                _advance(self, d)
            return found

    def deployment_info(deployment):
        info = orig_info(deployment)
        info["errorInformation"] = getattr(deployment, "_fd_error", {}) or {}
        info["rollbackInfo"] = getattr(deployment, "_fd_rollback", {}) or {}
        return info

    models.CodeDeployBackend.get_deployment = get_deployment
    models.CodeDeployBackend.batch_get_deployments = batch_get_deployments
    responses._deployment_info = deployment_info
