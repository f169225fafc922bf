"""CodeDeploy blue/green deployments of ECS services on top of moto.

moto's CodeDeploy keeps a deployment ``Created`` forever and never touches
ECS. This layer, installed by fdemu.py, gives an ECS deployment the course
CodeDeploy documents for the ECS compute platform:

* status Created → InProgress (0.2 s) → Succeeded, its ECS target walking
  the lifecycle events BeforeInstall, Install, AfterInstall,
  AllowTestTraffic, AfterAllowTestTraffic, BeforeAllowTraffic, AllowTraffic,
  AfterAllowTraffic (each Pending → InProgress → Succeeded), spread over
  ``ecs_layer.CONFIG["rollout_seconds"]`` as it was when the deployment was
  created; on success the ECS service runs
  the AppSpec's task definition;
* a replacement task set whose tasks crash — the AppSpec's task definition
  has ``FDEMU_EXIT_CODE`` non-zero in its first container (three of them are
  left STOPPED with that exit code and their ``FDEMU_LOG`` lines; the emulator's
  convention) — fails ``Install``: status Failed, ``errorInformation``
  ECS_UPDATE_ERROR, and with the deployment group's automatic rollback on
  DEPLOYMENT_FAILURE a rollback deployment (a real one, which the original's
  ``rollbackInfo.rollbackDeploymentId`` names and whose own ``rollbackInfo``
  names the original as ``rollbackTriggeringDeploymentId``) back to the
  task definition the service ran;
* a revision whose first container sets ``FDEMU_ALARM`` to an alarm of the
  deployment group's alarm configuration (enabled) sets it off once
  AllowTraffic completed: the CloudWatch alarm goes into ALARM
  (``ecs_layer._set_off``), the deployment is Stopped with
  ``errorInformation`` ALARM_ACTIVE in CodeDeploy's words, the events not
  yet done are Skipped, and with DEPLOYMENT_STOP_ON_ALARM among the group's
  rollback events the rollback deployment below starts;
* StopDeployment is asynchronous, as the API reference documents
  (``StopStatus`` Pending | Succeeded): it answers ``Pending``, the
  deployment turns Stopped 0.3 s later with ``errorInformation`` MANUAL_STOP,
  and with ``autoRollbackEnabled`` the rollback deployment above starts
  then; a deployment that already completed answers
  DeploymentAlreadyCompletedException;
* ``errorInformation`` and ``rollbackInfo`` appear only on deployments that
  have them (AWS omits them; moto answers empty objects); GetDeploymentGroup
  answers the group's ``alarmConfiguration`` (moto answers ``{}``);
* ListDeploymentTargets / BatchGetDeploymentTargets (missing in moto) answer
  the ECS target ``<cluster>:<service>`` with its lifecycle events.
"""

import json
import random
import string
import threading
import time
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
            "rollback_on_alarm": bool(rollback_conf.get("enabled"))
                                 and "DEPLOYMENT_STOP_ON_ALARM" in (rollback_conf.get("events") or []),
            "alarm": _watched_alarm(group, env.get("FDEMU_ALARM")),
            "events": [{"lifecycleEventName": n, "status": "Pending"} for n in EVENTS], "done": False,
            # The pace is the deployment's own, fixed when it is created.
            "rollout": max(ecs_layer.CONFIG["rollout_seconds"], 0.1),
        }
        deployment._fd = plan
    return plan


def _watched_alarm(group, name):
    """``name`` when the deployment group's alarm configuration (enabled)
    watches it: the alarm the revision sets off once it takes traffic."""
    conf = getattr(group, "alarm_configuration", None) or {}  # moto keeps the request's structure
    if not name or not conf.get("enabled"):
        return None
    return name if name in [a.get("name") for a in conf.get("alarms") or []] else None


def _stop_on_alarm(backend, deployment, plan):
    """CodeDeploy polls the group's alarms while it deploys: one in ALARM
    stops the deployment (ALARM_ACTIVE, the alarms named as CodeDeploy's
    message names them), and with DEPLOYMENT_STOP_ON_ALARM rolls it back."""
    ecs_layer._set_off(ecs_backends[backend.account_id][backend.region_name], plan["alarm"])
    plan["done"] = True
    for ev in plan["events"]:
        if ev["status"] in ("Pending", "InProgress"):
            ev["status"] = "Skipped"
    deployment.status, deployment.complete_time = "Stopped", _now()
    deployment._fd_error = {"code": "ALARM_ACTIVE", "message": (
        "One or more alarms have been activated according to the Amazon CloudWatch metrics you selected, and "
        f"the affected deployments have been stopped. Activated alarms: <{plan['alarm']}>")}
    if plan["rollback_on_alarm"]:
        _start_rollback(backend, deployment, "Automatic rollback triggered by DEPLOYMENT_STOP_ON_ALARM.")


def _advance(backend, deployment):
    plan = _plan(backend, deployment)
    if plan["done"]:
        return
    stop = plan.get("stop")
    if stop and time.monotonic() - stop["at"] >= 0.3:
        plan["done"] = True
        deployment.status, deployment.complete_time = "Stopped", _now()
        deployment._fd_error = {"code": "MANUAL_STOP", "message": "The deployment was stopped by a user."}
        if stop["rollback"]:
            _start_rollback(backend, deployment, "Automatic rollback triggered because the deployment was stopped.")
        return
    t = time.monotonic() - plan["t0"]
    if t < 0.2:
        return
    if deployment.status == "Created":
        deployment.status, deployment.start_time = "InProgress", _now()
    step = plan["rollout"] / len(EVENTS)
    for i, ev in enumerate(plan["events"]):
        start, end = 0.2 + i * step, 0.2 + (i + 1) * step
        if t >= start and ev["status"] == "Pending":
            ev["status"], ev["startTime"] = "InProgress", _now()
        if t >= end and ev["status"] == "InProgress":
            if plan["crash"] and ev["lifecycleEventName"] == "Install":
                ev["status"], ev["endTime"] = "Failed", _now()
                # Diagnostics.errorCode is one of the API's LifecycleErrorCode values.
                ev["diagnostics"] = {"errorCode": "UnknownError", "message": "The ECS service cannot reach a steady state: essential container in task exited"}
                for later in plan["events"][i + 1:]:
                    later["status"] = "Skipped"
                _finish(backend, deployment, plan, "Failed")
                return
            ev["status"], ev["endTime"] = "Succeeded", _now()
            if plan["alarm"] and ev["lifecycleEventName"] == "AllowTraffic":
                # Production traffic on the new task set sets the alarm off.
                _stop_on_alarm(backend, deployment, plan)
                return
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
        # The replacement task set's tasks that exited, as DescribeTasks shows them.
        import ecs_layer  # noqa: E402  (beside this file)

        ecs = ecs_backends[backend.account_id][backend.region_name]
        svc = ecs.services.get(f"{plan['cluster']}:{plan['service']}")
        if svc is not None:
            task_set = {"id": f"ecs-svc/{random.randint(10**15, 10**16 - 1)}", "taskDefinition": plan["td"]}
            for _ in range(3):
                ecs_layer._stopped_task(ecs, svc, task_set, ecs_layer._exit_code(ecs, plan["td"]) or 1)
        deployment._fd_error = {"code": "ECS_UPDATE_ERROR", "message": "The ECS service cannot reach a steady state: tasks of the replacement task set failed to start (essential container in task exited)."}
        if plan["rollback"]:
            _start_rollback(backend, deployment, "Automatic rollback triggered by DEPLOYMENT_FAILURE: the original task set serves production traffic again.")


def _start_rollback(backend, deployment, message):
    """A rollback deployment of its own, back to what the service runs."""
    plan = _plan(backend, deployment)
    ecs = ecs_backends[backend.account_id][backend.region_name]
    svc = ecs.services.get(f"{plan['cluster']}:{plan['service']}")
    content = ((deployment.revision or {}).get("appSpecContent") or {}).get("content") or "{}"
    try:
        doc = json.loads(content)
    except ValueError:
        doc = yaml.safe_load(content)
    doc["Resources"][0]["TargetService"]["Properties"]["TaskDefinition"] = svc.task_definition if svc else plan["td"]
    revision = {"revisionType": "AppSpecContent", "appSpecContent": {"content": json.dumps(doc)}}
    rollback_id = backend.create_deployment(deployment.application_name, deployment.deployment_group_name, revision,
                                            description=f"Rollback of {deployment.deployment_id}")
    backend.deployments[rollback_id]._fd_rollback = {"rollbackTriggeringDeploymentId": deployment.deployment_id,
                                                     "rollbackMessage": message}
    deployment._fd_rollback = {"rollbackDeploymentId": rollback_id, "rollbackMessage": message}


def _stop(backend, deployment, auto_rollback):
    plan = _plan(backend, deployment)
    _advance(backend, deployment)
    if plan["done"] or plan.get("stop"):
        return 400, {"__type": "DeploymentAlreadyCompletedException",
                     "message": f"The deployment {deployment.deployment_id} has already completed."}
    plan["stop"] = {"at": time.monotonic(), "rollback": auto_rollback}
    return 200, {"status": "Pending", "statusMessage": "Stopping the deployment."}


def handle(operation, request, backend):
    """Answers the deployment-target operations moto lacks; None otherwise."""
    if operation not in ("ListDeploymentTargets", "BatchGetDeploymentTargets", "StopDeployment"):
        return None
    with LOCK:
        deployment = backend.deployments.get(request.get("deploymentId", ""))
        if deployment is None:
            return 400, {"__type": "DeploymentDoesNotExistException", "message": "The deployment does not exist."}
        if operation == "StopDeployment":
            return _stop(backend, deployment, bool(request.get("autoRollbackEnabled")))
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
        # AWS omits what a deployment does not have; moto answers {}.
        for key, value in (("errorInformation", getattr(deployment, "_fd_error", None)),
                           ("rollbackInfo", getattr(deployment, "_fd_rollback", None))):
            if value:
                info[key] = value
            else:
                info.pop(key, None)
        return info

    orig_create = models.CodeDeployBackend.create_deployment

    def create_deployment(self, *args, **kwargs):
        with LOCK:
            moto_id = orig_create(self, *args, **kwargs)
            # CodeDeploy's ids are `d-` and nine characters (moto makes UUIDs).
            deployment = self.deployments.pop(moto_id)
            deployment.deployment_id = "d-" + "".join(random.choices(string.ascii_uppercase + string.digits, k=9))
            self.deployments[deployment.deployment_id] = deployment
            _plan(self, deployment)  # its clock starts now
            return deployment.deployment_id

    orig_group_info = responses._deployment_group_info

    def deployment_group_info(group):
        # moto answers "alarmConfiguration": {} whatever the group holds;
        # AWS answers the group's alarm configuration
        # (https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_DeploymentGroupInfo.html).
        info = orig_group_info(group)
        conf = getattr(group, "alarm_configuration", None)
        if conf:
            info["alarmConfiguration"] = conf
        return info

    responses._deployment_group_info = deployment_group_info
    models.CodeDeployBackend.create_deployment = create_deployment
    models.CodeDeployBackend.get_deployment = get_deployment
    models.CodeDeployBackend.batch_get_deployments = batch_get_deployments
    responses._deployment_info = deployment_info
