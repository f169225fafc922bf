"""Rolling deployments on top of moto's ECS, as AWS documents them.

moto's UpdateService changes the service in place and creates no deployment.
This layer, installed by fdemu.py, gives UpdateService the documented
behaviour of the ECS rolling-update controller:

* an UpdateService that changes the task definition (or forces a new
  deployment) creates a new PRIMARY deployment (``id`` ``ecs-svc/<n>``,
  ``rolloutState`` IN_PROGRESS); the previous one becomes ACTIVE and drains;
* the new deployment's tasks start over wall-clock time: after
  ``rollout_seconds / 2`` they run, after ``rollout_seconds`` the old
  deployment is gone and the new one is COMPLETED ("ECS deployment <id>
  completed."), with ECS-worded service events ("has started N tasks",
  "has stopped N running tasks", "has reached a steady state",
  "deployment completed");
* a revision whose tasks cannot start — by the test convention its first
  container has ``FDEMU_FAIL_TO_START`` set to the stopped reason
  (``CannotPullContainerError: …``, ``ResourceInitializationError: …``) —
  starts a task every ``task_cycle_seconds`` that stops with ``stopCode``
  TaskFailedToStart and that reason (``startedBy`` the deployment id);
  ``failedTasks`` counts them;
* a revision whose essential container runs and then exits — its first
  container has ``FDEMU_EXIT_CODE`` non-zero — crash-loops: each task reaches
  RUNNING, then stops with "Essential container in task exited" and the
  exit code; as AWS documents, the circuit breaker does not count tasks that
  reached RUNNING (its count starts over, ``failedTasks`` stays 0), so the
  deployment stays IN_PROGRESS with nothing running, and the scheduler backs
  off relaunching (AWS: up to 27 minutes; here the interval doubles up to
  8 × ``task_cycle_seconds``); each such task wrote its first container's
  ``FDEMU_LOG`` lines (``|``-separated) to its awslogs stream;
* the deployment circuit breaker (``deploymentConfiguration.
  deploymentCircuitBreaker``, stored from CreateService/UpdateService) trips
  when ``failedTasks`` reaches the documented threshold
  ``min(max(3, ceil(desiredCount / 2)), 200)``: ``rolloutState`` FAILED,
  "ECS deployment circuit breaker: tasks failed to start."; with
  ``rollback`` a new PRIMARY deployment of the last completed revision rolls
  the service back ("rolling back to deploymentId <id>") and completes after
  ``rollout_seconds``; without the breaker the deployment stays IN_PROGRESS
  and keeps failing tasks;
* a revision whose first container sets ``FDEMU_ALARM`` to one of the
  service's ``deploymentConfiguration.alarms`` (enabled, with rollback) sets
  that CloudWatch alarm off once its tasks run: ``rolloutState`` FAILED, the
  event "deployment failed: alarm detected." and a rollback to the last
  completed revision, as "How CloudWatch alarms detect Amazon ECS
  deployment failures" describes (the ``rolloutStateReason`` words are ours:
  the page gives none);
* task definitions in deployments and on the service are full ARNs, as ECS
  returns them;
* a revision's tasks exit with ``FDEMU_EXIT_CODE_<FAMILY>`` (upper-case
  family) from its first container's environment when set, else
  ``FDEMU_EXIT_CODE`` (and fail to start with ``FDEMU_FAIL_TO_START_<FAMILY>``,
  else ``FDEMU_FAIL_TO_START``) — so one step can deploy a crashing and a
  healthy family.

State advances lazily when DescribeServices reads it, like moto's own
state manager does for tasks.

Service deployments (the API ECS added for every strategy in 2024, which
moto lacks): every deployment above is also a *service deployment* with a
*service revision*, answered by ``ListServiceDeployments`` (filtered by
``status`` and ``createdAt``; paged as AWS pages, ``maxResults`` default 20 with a
``nextToken``, and — as AWS documents no order — oldest first), ``DescribeServiceDeployments`` and
``DescribeServiceRevisions``. Status follows the rollout: IN_PROGRESS,
SUCCESSFUL when COMPLETED, ROLLBACK_IN_PROGRESS / ROLLBACK_SUCCESSFUL when
the circuit breaker rolled it back, STOPPED when it failed without rollback
or was replaced before it completed. The deployment a service was created
with counts as SUCCESSFUL.

Native BLUE_GREEN / LINEAR / CANARY (``deploymentConfiguration.strategy``):
the service deployment walks the documented ``lifecycleStage`` values —
RECONCILE_SERVICE, PRE_SCALE_UP, SCALE_UP, POST_SCALE_UP,
TEST_TRAFFIC_SHIFT, POST_TEST_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT,
POST_PRODUCTION_TRAFFIC_SHIFT, BAKE_TIME (three steps long), CLEAN_UP —
one step each ``rollout_seconds / 12``, then SUCCESSFUL. A revision whose
first container sets ``FDEMU_ALARM`` to one of the service's
``deploymentConfiguration.alarms`` (enabled, with rollback) sets it off in
BAKE_TIME: the CloudWatch alarm of that name goes into ALARM (its state
reason in CloudWatch's words) and the deployment rolls back with
``alarms`` TRIGGERED naming it (the ``rollback.reason`` wording is the layer's). A crashing revision
leaves three stopped tasks of its own (failed to start, or exited with its
code after writing its ``FDEMU_LOG`` lines) and
fails in SCALE_UP when the service's circuit breaker rolls back:
ROLLBACK_IN_PROGRESS (with ``rollback.reason``), then ROLLBACK_SUCCESSFUL;
without one it stays at SCALE_UP, IN_PROGRESS, as ECS keeps trying.
DescribeServiceDeployments carries ``startedAt``, ``finishedAt`` and
``sourceServiceRevisions`` (the revision deployed before) as AWS does. A ``PAUSE`` lifecycle hook holds the deployment at its
stage with ``lifecycleHookDetails`` status AWAITING_ACTION until
ContinueServiceDeployment (CONTINUE or ROLLBACK) or its timeout (default
1440 minutes, then ROLLBACK, as the API documents), at any hook stage the
API allows — PRE_SCALE_UP, POST_SCALE_UP, TEST_TRAFFIC_SHIFT,
POST_TEST_TRAFFIC_SHIFT, PRE_PRODUCTION_TRAFFIC_SHIFT (held at the end of
POST_TEST_TRAFFIC_SHIFT, before production traffic moves),
PRODUCTION_TRAFFIC_SHIFT, POST_PRODUCTION_TRAFFIC_SHIFT; RECONCILE_SERVICE,
which happens only with more than one ACTIVE revision, is not emulated.
StopServiceDeployment with ``stopType`` ROLLBACK rolls an in-progress
deployment back (ROLLBACK_REQUESTED → ROLLBACK_IN_PROGRESS →
ROLLBACK_SUCCESSFUL); a rolling one stops (rolloutState FAILED) and a new
deployment of the last completed revision rolls the service back, the
service deployment ROLLBACK_REQUESTED until it completes.
"""

import json
import math
import threading
import time
from datetime import datetime, timedelta, timezone

from moto.ecs import models
from moto.logs.models import logs_backends
from moto.moto_api._internal import mock_random

CONFIG = {"rollout_seconds": 2.0, "task_cycle_seconds": 0.3, "deprovision_seconds": 0.2}
NATIVE = ("BLUE_GREEN", "LINEAR", "CANARY")
STAGES = ["RECONCILE_SERVICE", "PRE_SCALE_UP", "SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT",
          "POST_TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT",
          "BAKE_TIME", "BAKE_TIME", "BAKE_TIME", "CLEAN_UP"]
LOCK = threading.RLock()


def now():
    return datetime.now(timezone.utc)


# Text appended to every service event (``{"event_note": …}`` through
# /_fd/config): ServiceEvent.message is free text in the ECS API, and the
# tool must print whatever it holds as text.
TEXT = {"event_note": ""}


def _event(svc, message):
    message = f"{message}{TEXT['event_note']}"
    svc.events.insert(0, {"id": str(mock_random.uuid4()), "createdAt": now(), "message": f"(service {svc.name}) {message}"})
    del svc.events[100:]


def _task_ids(n):
    return " ".join(f"(task {mock_random.uuid4().hex})" for _ in range(n))


def _exit_code(backend, td_arn):
    td = backend.describe_task_definition(td_arn)
    env = {e["name"]: e["value"] for e in (td.container_definitions[0].get("environment") or [])}
    own = env.get(f"FDEMU_EXIT_CODE_{td.family.upper()}")
    return int(own if own is not None else env.get("FDEMU_EXIT_CODE", "0") or 0)


def _failure(backend, td_arn):
    """How a revision's tasks fail: ("launch", reason) when they never start
    (FDEMU_FAIL_TO_START[_<FAMILY>]), ("exit", code) when they run and then
    exit non-zero (FDEMU_EXIT_CODE[_<FAMILY>]), None when they are healthy."""
    td = backend.describe_task_definition(td_arn)
    env = {e["name"]: e["value"] for e in (td.container_definitions[0].get("environment") or [])}
    reason = env.get(f"FDEMU_FAIL_TO_START_{td.family.upper()}", env.get("FDEMU_FAIL_TO_START"))
    if reason:
        return "launch", reason
    code = _exit_code(backend, td_arn)
    return ("exit", code) if code else None


def _alarm(backend, svc, td_arn):
    """The deployment alarm a revision sets off (its first container's
    ``FDEMU_ALARM``), when the service watches it with rollback on."""
    td = backend.describe_task_definition(td_arn)
    env = {e["name"]: e["value"] for e in (td.container_definitions[0].get("environment") or [])}
    alarms = (getattr(svc, "deployment_configuration", None) or {}).get("alarms") or {}
    name = env.get("FDEMU_ALARM")
    if name and alarms.get("enable") and alarms.get("rollback") and name in (alarms.get("alarmNames") or []):
        return name
    return None


COMPARISONS = {"GreaterThanThreshold": "greater than", "GreaterThanOrEqualToThreshold": "greater than or equal to",
               "LessThanThreshold": "less than", "LessThanOrEqualToThreshold": "less than or equal to"}


def _set_off(backend, name):
    """Puts the CloudWatch alarm ``name`` (when the account has it) into
    ALARM as CloudWatch does when one datapoint crosses its threshold: the
    state reason in CloudWatch's words, the reason data as its JSON."""
    from moto.cloudwatch.models import cloudwatch_backends

    cw = cloudwatch_backends[backend.account_id][backend.region_name]
    alarm = cw.alarms.get(name)
    if alarm is None or alarm.state_value == "ALARM":
        return
    threshold = float(alarm.threshold or 0.0)
    value = threshold * 2 + 2
    at = time.gmtime(time.time() - 60)
    reason = (f"Threshold Crossed: 1 out of the last 1 datapoints [{value} ({time.strftime('%d/%m/%y %H:%M:%S', at)})] "
              f"was {COMPARISONS.get(alarm.comparison_operator, 'greater than')} the threshold ({threshold}) "
              "(minimum 1 datapoint for OK -> ALARM transition).")
    data = {"version": "1.0", "queryDate": time.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
            "startDate": time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", at), "statistic": alarm.statistic,
            "period": alarm.period, "recentDatapoints": [value], "threshold": threshold,
            "evaluatedDatapoints": [{"timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", at), "sampleCount": 1.0,
                                     "value": value}]}
    cw.set_alarm_state(name, reason, json.dumps(data), "ALARM")


def _breaker(svc):
    conf = getattr(svc, "deployment_configuration", None) or {}
    cb = conf.get("deploymentCircuitBreaker") or {}
    return bool(cb.get("enable")), bool(cb.get("rollback"))


def _sources(svc, entry):
    """The revisions the deployment moves away from: the one deployed before it."""
    history = _history(svc)
    i = history.index(entry) if entry in history else -1
    before = next((e for e in history[i + 1:] if e["status"] in ("SUCCESSFUL", "ROLLBACK_SUCCESSFUL", "STOPPED")), None) if i >= 0 else None
    if before is None:
        return []
    return [{"arn": before["targetServiceRevisionArn"], "requestedTaskCount": svc.desired_count,
             "runningTaskCount": 0 if entry.get("finishedAt") else svc.desired_count, "pendingTaskCount": 0}]


def _history(svc):
    if not hasattr(svc, "_fd_history"):
        svc._fd_history = []
    return svc._fd_history


def _record(svc, dep, status):
    base = svc.arn.replace(":service/", ":service-deployment/", 1)
    short = dep["id"].split("/")[-1]
    if "/" not in svc.arn.split(":service/")[1]:
        base = base.replace(":service-deployment/", f":service-deployment/{svc.cluster_name}/", 1)
    entry = {
        "id": dep["id"], "status": status, "createdAt": dep["createdAt"], "taskDefinition": dep["taskDefinition"],
        "serviceDeploymentArn": f"{base}/{short}",
        "targetServiceRevisionArn": f"{base.replace(':service-deployment/', ':service-revision/', 1)}/{short}",
    }
    _history(svc).insert(0, entry)
    return entry


def _set_status(svc, dep_id, status, reason=None):
    for e in _history(svc):
        if e["id"] == dep_id:
            e["status"] = status
            e["finishedAt"] = now()
            if reason:
                e["statusReason"] = reason


def _new_deployment(svc, td_arn, reason=None):
    dep_id = f"ecs-svc/{mock_random.randint(10**15, 10**16 - 1)}"
    stamp = now()
    dep = {
        "id": dep_id, "status": "PRIMARY", "taskDefinition": td_arn, "desiredCount": svc.desired_count,
        "pendingCount": svc.desired_count, "runningCount": 0, "failedTasks": 0, "createdAt": stamp, "updatedAt": stamp,
        "launchType": svc.launch_type, "platformVersion": svc.platform_version,
        "networkConfiguration": svc.network_configuration or None,
        "rolloutState": "IN_PROGRESS", "rolloutStateReason": reason or f"ECS deployment {dep_id} in progress.",
    }
    for d in svc.deployments:
        if d["status"] == "PRIMARY":
            d["status"] = "ACTIVE"
            if d["rolloutState"] == "IN_PROGRESS":
                _set_status(svc, d["id"], "STOPPED", "replaced by a newer deployment")
    svc.deployments.insert(0, dep)
    entry = _record(svc, dep, "IN_PROGRESS")
    strategy = (getattr(svc, "deployment_configuration", None) or {}).get("strategy")
    if strategy in NATIVE and reason is None:
        entry.update(native=True, lifecycleStage=STAGES[0], t0=time.monotonic(), step=0, pause=None)
    svc._fd = getattr(svc, "_fd", {})
    svc._fd[dep_id] = {"started": time.monotonic(), "last_cycle": time.monotonic(), "phase": "starting"}
    return dep


def _stopped_task(backend, svc, dep, code, launch_failure=None):
    cluster = backend._get_cluster(svc.cluster_name)
    td = backend.describe_task_definition(dep["taskDefinition"])
    task = models.Task(cluster, td, None, None, backend, group=f"service:{svc.name}", launch_type="FARGATE",
                       started_by=dep["id"], networking_configuration=svc.network_configuration or None)
    task.status = "STOPPED"
    task.desired_status = "STOPPED"
    if launch_failure:
        task.stopped_reason, task.stop_code = launch_failure, "TaskFailedToStart"
    else:
        task.stopped_reason = "Essential container in task exited"
        task.stop_code = "EssentialContainerExited"
    for c in task.containers:
        c.exitCode = code
        c.exit_code = code
        c.last_status = "STOPPED"
        if launch_failure:
            c.reason = launch_failure
    backend.tasks.setdefault(cluster.name, {})[task.task_arn] = task
    if not launch_failure:
        _write_log(backend, td.container_definitions[0], task)
    return task


def _write_log(backend, container, task):
    """A task that ran wrote its first container's ``FDEMU_LOG`` lines
    (``|``-separated) to its awslogs stream, ``<prefix>/<container>/<task id>``
    as the awslogs driver names it, when the group exists."""
    env = {e["name"]: e["value"] for e in (container.get("environment") or [])}
    conf = container.get("logConfiguration") or {}
    opts = conf.get("options") or {}
    lines = [line for line in env.get("FDEMU_LOG", "").split("|") if line]
    if conf.get("logDriver") != "awslogs" or not lines or not opts.get("awslogs-stream-prefix"):
        return
    logs = logs_backends[backend.account_id][opts.get("awslogs-region", backend.region_name)]
    group = logs.groups.get(opts.get("awslogs-group"))
    if group is None:
        return
    stream = f"{opts['awslogs-stream-prefix']}/{container['name']}/{task.id}"
    if stream not in group.streams:
        logs.create_log_stream(group.name, stream)
    at = int(time.time() * 1000)
    logs.put_log_events(group.name, stream, [{"timestamp": at + i, "message": m} for i, m in enumerate(lines)])


def _native_entry(svc, dep_id):
    return next((e for e in _history(svc) if e["id"] == dep_id and e.get("native")), None)


def _advance_native(backend, svc, dep, entry):
    """One native blue/green deployment, by its lifecycle stages."""
    if entry["status"] not in ("IN_PROGRESS", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"):
        return
    tick = max(CONFIG["rollout_seconds"], 0.1) / len(STAGES)
    now_m = time.monotonic()
    if entry["status"] in ("ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"):
        if entry["status"] == "ROLLBACK_REQUESTED" and now_m - entry["rollback_t0"] >= tick:
            entry["status"] = "ROLLBACK_IN_PROGRESS"
        if now_m - entry["rollback_t0"] >= 3 * tick:
            entry["status"], entry["finishedAt"] = "ROLLBACK_SUCCESSFUL", now()
            good = getattr(svc, "_fd_last_completed", None)
            dep["rolloutState"], dep["status"] = "FAILED", "INACTIVE"
            svc.deployments[:] = [d for d in svc.deployments if d is not dep]
            if good:
                svc.task_definition = good[1]
                for d in svc.deployments:
                    if d["id"] == good[0]:
                        d["status"] = "PRIMARY"
            _event(svc, f"(service-deployment {entry['serviceDeploymentArn']}) rolled back to {good[1].split('/')[-1] if good else '?'}.")
        return
    if entry.get("pause"):
        hook = entry["pause"]
        if hook["status"] == "AWAITING_ACTION" and now() < hook["expiresAt"]:
            entry["t0"] = now_m - entry["step"] * tick  # the clock stops while paused
            return
        if hook["status"] == "AWAITING_ACTION":
            hook["status"] = "TIMED_OUT"
            if hook.get("timeoutAction") == "ROLLBACK":
                _start_rollback(svc, entry, "The lifecycle hook timed out and its timeout action is ROLLBACK.")
                return
        entry["pause"] = None
    step = int((now_m - entry["t0"]) / tick)
    code = _exit_code(backend, dep["taskDefinition"])
    while entry["step"] < min(step, len(STAGES)):
        entry["step"] += 1
        if entry["step"] >= len(STAGES):
            entry["status"], entry["finishedAt"] = "SUCCESSFUL", now()
            svc.deployments[:] = [d for d in svc.deployments if d is dep]
            dep.update(rolloutState="COMPLETED", runningCount=dep["desiredCount"], pendingCount=0,
                       rolloutStateReason=f"ECS deployment {dep['id']} completed.")
            svc.task_definition = dep["taskDefinition"]
            _remember_completed(svc)
            _event(svc, f"(service-deployment {entry['serviceDeploymentArn']}) deployment completed.")
            return
        stage = STAGES[entry["step"]]
        if stage != entry["lifecycleStage"]:
            entry["lifecycleStage"] = stage
            failure = _failure(backend, dep["taskDefinition"])
            if stage == "POST_SCALE_UP" and failure and not entry.get("tasks_stopped"):
                # The green tasks that failed, as DescribeTasks shows them.
                entry["tasks_stopped"] = True
                for _ in range(3):
                    if failure[0] == "launch":
                        _stopped_task(backend, svc, dep, None, launch_failure=failure[1])
                    else:
                        _stopped_task(backend, svc, dep, failure[1])
            if stage == "POST_SCALE_UP" and failure:
                enable, rollback = _breaker(svc)
                # Only launch failures count for the breaker (see _advance).
                if enable and rollback and failure[0] == "launch":
                    _start_rollback(svc, entry, "Service deployment rolled back because the circuit breaker threshold was exceeded.")
                    dep["failedTasks"] = 3
                    entry["breaker"] = {"failureCount": 3, "status": "TRIGGERED", "threshold": 3}
                    return
                # No circuit breaker (and no alarm): ECS keeps trying to
                # scale the green revision up; the deployment stays at SCALE_UP.
                entry["step"] -= 1
                entry["lifecycleStage"] = "SCALE_UP"
                entry["t0"] = now_m - entry["step"] * tick
                return
            alarm = _alarm(backend, svc, dep["taskDefinition"])
            if stage == "BAKE_TIME" and alarm:
                # A deployment alarm went into ALARM during the bake time: ECS
                # rolls back (deploymentConfiguration.alarms.rollback).
                _set_off(backend, alarm)
                _start_rollback(svc, entry, f"Service deployment rolled back because alarm {alarm} went into ALARM.")
                names = ((getattr(svc, "deployment_configuration", None) or {}).get("alarms") or {}).get("alarmNames") or []
                entry["alarms"] = {"alarmNames": names, "status": "TRIGGERED", "triggeredAlarmNames": [alarm]}
                return
            if _pause(svc, entry, stage):
                return
            # A hook at PRE_PRODUCTION_TRAFFIC_SHIFT holds the deployment
            # after test traffic, before production traffic moves.
            nxt = STAGES[entry["step"] + 1] if entry["step"] + 1 < len(STAGES) else None
            if nxt == "PRODUCTION_TRAFFIC_SHIFT" and _pause(svc, entry, "PRE_PRODUCTION_TRAFFIC_SHIFT"):
                return


def _pause(svc, entry, hook_stage):
    """Holds the deployment at a PAUSE hook for `hook_stage`, once per stage."""
    passed = entry.setdefault("passed_pauses", set())
    if hook_stage in passed:
        return False
    hooks = (getattr(svc, "deployment_configuration", None) or {}).get("lifecycleHooks") or []
    for h in hooks:
        if h.get("targetType") == "PAUSE" and hook_stage in (h.get("lifecycleStages") or []):
            passed.add(hook_stage)
            conf = h.get("timeoutConfiguration") or {}
            # The API's defaults: 1440 minutes, then ROLLBACK.
            timeout = (conf.get("timeoutInMinutes") or 1440) * 60
            entry["pause"] = {"hookId": f"hook-{mock_random.uuid4().hex[:8]}", "targetType": "PAUSE",
                              "status": "AWAITING_ACTION", "expiresAt": datetime.fromtimestamp(time.time() + timeout, timezone.utc),
                              "timeoutAction": conf.get("action", "ROLLBACK")}
            return True
    return False


def _start_rollback(svc, entry, reason):
    entry["status"], entry["statusReason"] = "ROLLBACK_IN_PROGRESS", reason
    entry["rollback"] = {"reason": reason, "startedAt": now()}
    entry["rollback_t0"] = time.monotonic()
    entry["pause"] = None


def _advance(backend, svc):
    for dep in list(svc.deployments):
        entry = _native_entry(svc, dep["id"])
        if entry is not None:
            _advance_native(backend, svc, dep, entry)
    state = getattr(svc, "_fd", {})
    rollout = CONFIG["rollout_seconds"]
    for dep in list(svc.deployments):
        st = state.get(dep["id"])
        if not st or st["phase"] == "done" or _native_entry(svc, dep["id"]) is not None:
            continue
        elapsed = time.monotonic() - st["started"]
        failure = _failure(backend, dep["taskDefinition"])
        code = failure[1] if failure and failure[0] == "exit" else 0
        if dep["status"] != "PRIMARY" and dep["rolloutState"] != "FAILED":
            continue
        if failure and dep["rolloutState"] == "IN_PROGRESS":
            cycle = CONFIG["task_cycle_seconds"]
            while time.monotonic() - st["last_cycle"] >= st.get("interval", cycle):
                st["last_cycle"] += st.get("interval", cycle)
                dep["updatedAt"] = now()
                if failure[0] == "exit":
                    # The task reached RUNNING, then exited: the circuit
                    # breaker counts only tasks that fail to launch, never
                    # reach RUNNING or fail health checks, and its count
                    # starts over once a task runs — so a crash loop never
                    # trips it. The scheduler backs off relaunching (AWS: up
                    # to 27 minutes; here doubling up to 8 cycles).
                    task = _stopped_task(backend, svc, dep, code)
                    dep["failedTasks"] = 0
                    st["interval"] = min(st.get("interval", cycle) * 2, 8 * cycle)
                    _event(svc, f"has started 1 tasks: (task {task.id}).")
                    _event(svc, f"has stopped 1 running tasks: (task {task.id}).")
                    continue
                task = _stopped_task(backend, svc, dep, None, launch_failure=failure[1])
                dep["failedTasks"] += 1
                _event(svc, f"has started 1 tasks: (task {task.id}).")
                _event(svc, f"(task {task.id}) failed to start: {failure[1]}")
                enable, rollback = _breaker(svc)
                threshold = min(max(3, math.ceil(dep["desiredCount"] / 2)), 200)
                if enable and dep["failedTasks"] >= threshold:
                    dep["rolloutState"] = "FAILED"
                    dep["rolloutStateReason"] = "ECS deployment circuit breaker: tasks failed to start."
                    st["phase"] = "done"
                    _event(svc, f"(deployment {dep['id']}) deployment failed: tasks failed to start.")
                    if rollback and _roll_back(svc, dep):
                        _set_status(svc, dep["id"], "ROLLBACK_IN_PROGRESS", dep["rolloutStateReason"])
                    else:
                        _set_status(svc, dep["id"], "STOPPED", dep["rolloutStateReason"])
                    break
            continue
        if failure is None and st["phase"] == "starting" and elapsed >= rollout / 2:
            st["phase"] = "running"
            dep["runningCount"], dep["pendingCount"] = dep["desiredCount"], 0
            dep["updatedAt"] = now()
            _event(svc, f"has started {dep['desiredCount']} tasks: {_task_ids(dep['desiredCount'])}.")
            old = [d for d in svc.deployments if d is not dep and d["status"] == "ACTIVE"]
            for d in old:
                if d["runningCount"]:
                    _event(svc, f"has stopped {d['runningCount']} running tasks: {_task_ids(d['runningCount'])}.")
                d["runningCount"] = 0
        if failure is None and st["phase"] == "running" and elapsed >= rollout:
            alarm = _alarm(backend, svc, dep["taskDefinition"])
            if alarm:
                # A deployment alarm went into ALARM while ECS watched the
                # new tasks: the deployment fails and (alarms.rollback) ECS
                # rolls back to the last completed one.
                _set_off(backend, alarm)
                st["phase"] = "done"
                dep["rolloutState"] = "FAILED"
                dep["rolloutStateReason"] = f"ECS deployment alarm {alarm} is in ALARM state."
                _event(svc, f"(deployment {dep['id']}) deployment failed: alarm detected.")
                status = "ROLLBACK_IN_PROGRESS" if _roll_back(svc, dep, by="ECS deployment alarm") else "STOPPED"
                _set_status(svc, dep["id"], status, dep["rolloutStateReason"])
                continue
            st["phase"] = "done"
            svc.deployments[:] = [d for d in svc.deployments if d is dep]
            dep["rolloutState"] = "COMPLETED"
            dep["rolloutStateReason"] = f"ECS deployment {dep['id']} completed."
            # State advances when it is observed, but AWS stamps the change
            # when it happened: at ``rollout_seconds``, not at this describe.
            dep["updatedAt"] = now() - timedelta(seconds=elapsed - rollout)
            svc.task_definition = dep["taskDefinition"]
            svc.running_count, svc.pending_count = dep["desiredCount"], 0
            _set_status(svc, dep["id"], "SUCCESSFUL")
            for e in _history(svc):
                if e["status"] in ("ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"):
                    _set_status(svc, e["id"], "ROLLBACK_SUCCESSFUL")
            _event(svc, "has reached a steady state.")
            _event(svc, f"(deployment {dep['id']}) deployment completed.")


def _roll_back(svc, failed, by="ECS deployment circuit breaker"):
    good = getattr(svc, "_fd_last_completed", None)
    if not good:
        return
    previous_id = good[0]
    dep = _new_deployment(svc, good[1], reason=f"{by}: rolling back to deploymentId {previous_id}.")
    _event(svc, f"rolling back to deployment {previous_id}.")
    failed["status"] = "ACTIVE"
    svc.task_definition = good[1]
    return dep


def _stop_rolling(svc, entry):
    """StopServiceDeployment ROLLBACK of a rolling deployment: it stops
    (rolloutState FAILED; the reason text is the emulator's, AWS documents
    none) and a deployment of the last completed revision rolls the service
    back; the service deployment is ROLLBACK_REQUESTED until that completes
    (then ROLLBACK_SUCCESSFUL), as the Developer Guide's "Stopping Amazon ECS
    service deployments" describes."""
    dep = next((d for d in svc.deployments if d["id"] == entry["id"]), None)
    if dep is None or dep["rolloutState"] != "IN_PROGRESS":
        return
    dep["rolloutState"] = "FAILED"
    dep["rolloutStateReason"] = "Stopped by StopServiceDeployment (ROLLBACK)."
    svc._fd[dep["id"]]["phase"] = "done"
    _roll_back(svc, dep, by="StopServiceDeployment")
    entry["status"], entry["statusReason"] = "ROLLBACK_REQUESTED", "Rollback requested by StopServiceDeployment."
    entry["rollback"] = {"reason": entry["statusReason"], "startedAt": now()}


def _remember_completed(svc):
    for d in svc.deployments:
        if d["status"] == "PRIMARY" and d["rolloutState"] == "COMPLETED":
            svc._fd_last_completed = (d["id"], d["taskDefinition"])


def install():
    backend_cls = models.EC2ContainerServiceBackend
    orig_update = backend_cls.update_service
    orig_describe = backend_cls.describe_services
    orig_create = backend_cls.create_service

    def create_service(self, *args, **kwargs):
        with LOCK:
            svc = orig_create(self, *args, **kwargs)
            if svc.task_definition:
                svc.task_definition = self.describe_task_definition(svc.task_definition).arn
                # A seeded service has reached its steady state.
                for d in svc.deployments:
                    d.update(taskDefinition=svc.task_definition, rolloutState="COMPLETED", runningCount=svc.desired_count,
                             pendingCount=0, rolloutStateReason=f"ECS deployment {d['id']} completed.")
                svc.running_count, svc.pending_count = svc.desired_count, 0
                for d in svc.deployments:
                    _record(svc, d, "SUCCESSFUL")
            _remember_completed(svc)
            return svc

    def update_service(self, props):
        with LOCK:
            name = props["service"].split("/")[-1]
            cluster = props.get("cluster", "default")
            svc = self._get_service(cluster, name)
            _advance(self, svc)
            _remember_completed(svc)
            before = svc.task_definition
            force = bool(props.get("force_new_deployment"))
            keep = [dict(d) for d in svc.deployments]
            svc = orig_update(self, dict(props))
            svc.deployments[:] = keep  # moto's own "new id on force" is replaced below
            after = self.describe_task_definition(svc.task_definition).arn
            svc.task_definition = after
            if props.get("desired_count") is not None:
                for d in svc.deployments:
                    if d["status"] == "PRIMARY":
                        d["desiredCount"] = svc.desired_count
            if after != before or force:
                _new_deployment(svc, after)
            return svc

    def describe_services(self, cluster_str, service_names_or_arns):
        with LOCK:
            result, failures = orig_describe(self, cluster_str, service_names_or_arns)
            for svc in result:
                _advance(self, svc)
                _remember_completed(svc)
            return result, failures

    backend_cls.create_service = create_service
    backend_cls.update_service = update_service
    backend_cls.describe_services = describe_services


# -- Service deployments API (answered directly; moto has no handler) ---------

def _find_service(backend, cluster, name):
    cluster = (cluster or "default").split("/")[-1]
    return backend.services.get(f"{cluster}:{name.split('/')[-1]}")


def _stamp(d):
    return d.timestamp() if d else None


def handle(operation, request, backend):
    """Answers the service-deployment operations; None for any other operation."""
    with LOCK:
        if operation == "ListServiceDeployments":
            svc = _find_service(backend, request.get("cluster"), request["service"])
            if svc is None:
                return 400, {"__type": "ServiceNotFoundException", "message": "Service not found."}
            _advance(backend, svc)
            wanted = set(request.get("status") or [])
            entries = [e for e in _history(svc) if not wanted or e["status"] in wanted]
            window = request.get("createdAt") or {}
            if window.get("after") is not None:
                entries = [e for e in entries if (_stamp(e["createdAt"]) or 0) >= float(window["after"])]
            if window.get("before") is not None:
                entries = [e for e in entries if (_stamp(e["createdAt"]) or 0) <= float(window["before"])]
            # AWS pages (maxResults 1–100, default 20) and documents no order:
            # oldest first here, so a reader of one page or of an assumed order fails.
            entries.sort(key=lambda e: _stamp(e["createdAt"]) or 0)
            size = int(request.get("maxResults") or 20)
            if not 1 <= size <= 100:
                return 400, {"__type": "InvalidParameterException", "message": "maxResults must be between 1 and 100."}
            start = int(request.get("nextToken") or 0)
            page, more = entries[start:start + size], start + size < len(entries)
            answer = {"serviceDeployments": [{
                "serviceDeploymentArn": e["serviceDeploymentArn"], "serviceArn": svc.arn, "clusterArn": svc.cluster_arn,
                "createdAt": _stamp(e["createdAt"]), "startedAt": _stamp(e["createdAt"]), "finishedAt": _stamp(e.get("finishedAt")),
                "targetServiceRevisionArn": e["targetServiceRevisionArn"], "status": e["status"],
                "statusReason": e.get("statusReason"),
            } for e in page]}
            if more:
                answer["nextToken"] = str(start + size)
            return 200, answer
        if operation in ("DescribeServiceDeployments", "DescribeServiceRevisions"):
            key, arns = ("serviceDeploymentArn", request.get("serviceDeploymentArns")) if operation == "DescribeServiceDeployments" \
                else ("targetServiceRevisionArn", request.get("serviceRevisionArns"))
            found = []
            for svc in backend.services.values():
                for e in _history(svc):
                    if e[key] in (arns or []):
                        found.append((svc, e))
            if operation == "DescribeServiceRevisions":
                return 200, {"serviceRevisions": [{
                    "serviceRevisionArn": e["targetServiceRevisionArn"], "serviceArn": svc.arn, "clusterArn": svc.cluster_arn,
                    "taskDefinition": e["taskDefinition"], "launchType": svc.launch_type, "createdAt": _stamp(e["createdAt"]),
                } for svc, e in found], "failures": []}
            for svc, _ in found:
                _advance(backend, svc)
            return 200, {"serviceDeployments": [{
                "serviceDeploymentArn": e["serviceDeploymentArn"], "serviceArn": svc.arn, "clusterArn": svc.cluster_arn,
                "createdAt": _stamp(e["createdAt"]), "startedAt": _stamp(e["createdAt"]),
                "finishedAt": _stamp(e.get("finishedAt")),
                "status": e["status"], "statusReason": e.get("statusReason"),
                "sourceServiceRevisions": _sources(svc, e),
                "targetServiceRevision": {"arn": e["targetServiceRevisionArn"]},
                "lifecycleStage": e.get("lifecycleStage"),
                "rollback": {k: (_stamp(v) if isinstance(v, datetime) else v) for k, v in e["rollback"].items()} if e.get("rollback") else None,
                "lifecycleHookDetails": [{k: (_stamp(v) if isinstance(v, datetime) else v) for k, v in e["pause"].items()}] if e.get("pause") else [],
                "alarms": e.get("alarms"),
                "deploymentCircuitBreaker": e.get("breaker"),
                "deploymentConfiguration": getattr(svc, "deployment_configuration", None),
            } for svc, e in found], "failures": []}
        if operation in ("StopServiceDeployment", "ContinueServiceDeployment"):
            arn = request.get("serviceDeploymentArn")
            for svc in backend.services.values():
                for e in _history(svc):
                    if e["serviceDeploymentArn"] == arn:
                        _advance(backend, svc)
                        if operation == "ContinueServiceDeployment":
                            # Only a deployment IN_PROGRESS whose PAUSE hook `hookId`
                            # is AWAITING_ACTION can be continued; the operation's
                            # documented errors carry no ConflictException.
                            pause = e.get("pause") or {}
                            if e["status"] != "IN_PROGRESS" or pause.get("status") != "AWAITING_ACTION" \
                                    or pause.get("hookId") != request.get("hookId"):
                                return 400, {"__type": "InvalidParameterException",
                                             "message": "The lifecycle hook is not awaiting an action."}
                        elif e["status"] not in ("IN_PROGRESS", "PENDING"):
                            return 400, {"__type": "ConflictException", "message": f"The service deployment is {e['status']}."}
                        if operation == "StopServiceDeployment":
                            if request.get("stopType", "ROLLBACK") == "ROLLBACK" and not e.get("native"):
                                _stop_rolling(svc, e)
                            elif request.get("stopType", "ROLLBACK") == "ROLLBACK":
                                _start_rollback(svc, e, "Rollback requested by StopServiceDeployment.")
                                e["status"] = "ROLLBACK_REQUESTED"
                            else:
                                e["status"], e["finishedAt"] = "STOPPED", now()
                        else:
                            if request.get("action") == "ROLLBACK":
                                _start_rollback(svc, e, "Rollback requested by ContinueServiceDeployment.")
                            else:
                                e["pause"]["status"] = "SUCCEEDED"
                                e["pause"]["expiresAt"] = now()
                        return 200, {"serviceDeploymentArn": arn}
            return 400, {"__type": "ServiceDeploymentNotFoundException", "message": "Service deployment not found."}
    return None
