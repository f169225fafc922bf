"""One-off tasks on top of moto's ECS, as AWS documents their lifecycle.

moto's tasks are born RUNNING, always exit 0 and write no logs. This layer,
installed by fdemu.py, drives every task started by RunTask through the
documented lifecycle over wall-clock time and takes its outcome from a test
convention — environment variables of the task's main container (the
container named in the command override, else the first one; the override's
environment counts too):

* ``FDEMU_RUN_SECONDS`` (default 1): how long the container runs;
* ``FDEMU_EXIT_CODE`` (default 0): its exit code;
* ``FDEMU_LOG``: log lines, separated by ``|``, written to CloudWatch Logs
  while it runs (spread over the run) when the container uses ``awslogs``,
  to the stream ``<awslogs-stream-prefix>/<container>/<task id>`` — created
  only when the container starts, as ECS does;
* ``FDEMU_LOG_JSON``: the same as a JSON array of strings, for lines that
  carry ``|``, ``\r`` or ``\n`` (a CloudWatch Logs event's message is any
  text: the awslogs driver splits on ``\n`` only, and a multi-line pattern
  keeps line breaks inside one event);
* ``FDEMU_FAIL_TO_START_JSON``: ``FDEMU_FAIL_TO_START`` as a JSON string;
* ``FDEMU_LATE_LOG``: one more line that lands 0.5 s *after* the task is
  STOPPED (late lines exist in real CloudWatch Logs);
* ``FDEMU_FAIL_TO_START``: the task never starts and stops with
  ``stopCode`` TaskFailedToStart, this text as ``stoppedReason`` and as the
  container's ``reason``, and no exit code (CannotPullContainerError,
  ResourceInitializationError …).

Lifecycle (``createdAt`` at RunTask): PROVISIONING → PENDING (0.2 s) →
RUNNING (0.4 s, ``startedAt``) → DEPROVISIONING (after the run, when the
container exits: ``executionStoppedAt``) → STOPPED (after
``deprovision_seconds``, default 0.2 s, settable through ``/_fd/config`` —
AWS takes tens of seconds to detach an awsvpc task's network interface;
``stoppedAt``,
``stopCode`` EssentialContainerExited, "Essential container in task
exited", the exit code on the container). StopTask (user initiated) stops
it within 0.3 s with ``stopCode`` UserInitiated, the given reason, and exit
code 143 (SIGTERM) if it was running.
"""

import json
import threading
import time
from datetime import datetime, timezone

import ecs_layer
from moto.ecs import models
from moto.logs.models import logs_backends
from moto.moto_api import state_manager

LOCK = threading.RLock()
MANAGED = []  # [(backend, task, plan)]


def _now():
    return datetime.now(timezone.utc)


def _env(td, overrides):
    names = [o.get("name") for o in (overrides or {}).get("containerOverrides", []) if o.get("command") or o.get("environment")]
    containers = td.container_definitions
    main = next((c for c in containers if c.get("name") in names), containers[0])
    env = {e["name"]: e["value"] for e in (main.get("environment") or [])}
    for o in (overrides or {}).get("containerOverrides", []):
        if o.get("name") == main.get("name"):
            env.update({e["name"]: e["value"] for e in (o.get("environment") or [])})
    return main, env


def _set(task, **kw):
    for k, v in kw.items():
        setattr(task, k, v)


def _container(task, **kw):
    for c in task.containers:
        for k, v in kw.items():
            setattr(c, k, v)
            if k == "exit_code":
                c.exitCode = v


def _lines(env):
    if "FDEMU_LOG_JSON" in env:
        return [str(line) for line in json.loads(env["FDEMU_LOG_JSON"])]
    return [line for line in env.get("FDEMU_LOG", "").split("|") if line]


def _fail_reason(env):
    if "FDEMU_FAIL_TO_START_JSON" in env:
        return json.loads(env["FDEMU_FAIL_TO_START_JSON"])
    return env.get("FDEMU_FAIL_TO_START")


def _put_log(plan, message, at=None):
    log = plan.get("log")
    if not log:
        return
    backend = logs_backends[plan["account"]][log["region"]]
    group = backend.groups.get(log["group"])
    if group is None:
        return
    if log["stream"] not in group.streams:
        backend.create_log_stream(log["group"], log["stream"])
    ts = int((at or time.time()) * 1000)
    backend.put_log_events(log["group"], log["stream"], [{"timestamp": ts, "message": message}])


def _tick():
    with LOCK:
        now = time.monotonic()
        for backend, task, plan in MANAGED:
            t = now - plan["t0"]
            phase = plan["phase"]
            if phase == "done":
                continue
            if plan.get("stop_requested") is not None and phase not in ("stopping",):
                plan["phase"], plan["stop_at"] = "stopping", now + 0.3
                task._status = "STOPPING" if phase == "running" else "DEPROVISIONING"
                continue
            if phase == "stopping":
                if now >= plan["stop_at"]:
                    code = 143 if plan.get("started") else None
                    _set(task, _status="STOPPED", desired_status="STOPPED", stopped_at=_now(), stop_code="UserInitiated",
                         execution_stopped_at=_now() if plan.get("started") else None,
                         stopped_reason=plan["stop_requested"])
                    if code is not None:
                        _container(task, exit_code=code, last_status="STOPPED")
                    else:
                        _container(task, last_status="STOPPED")
                    plan["phase"], plan["stopped"] = "late", now
                continue
            if phase == "provisioning" and t >= 0.2:
                task._status, plan["phase"] = "PENDING", "pending"
            elif phase == "pending" and t >= 0.4:
                if plan["fail"]:
                    _set(task, _status="STOPPED", desired_status="STOPPED", stopped_at=_now(), stop_code="TaskFailedToStart",
                         stopped_reason=plan["fail"])
                    _container(task, reason=plan["fail"], last_status="STOPPED")
                    plan["phase"] = "done"
                    continue
                _set(task, _status="RUNNING", started_at=_now())
                _container(task, last_status="RUNNING")
                plan["phase"], plan["started"] = "running", now
            elif phase == "running":
                lines = plan["lines"]
                due = int(len(lines) * min(1.0, (now - plan["started"]) / max(plan["run"], 0.001)))
                while plan["written"] < max(due, 1 if lines else 0):
                    _put_log(plan, lines[plan["written"]])
                    plan["written"] += 1
                if now - plan["started"] >= plan["run"]:
                    while plan["written"] < len(lines):
                        _put_log(plan, lines[plan["written"]])
                        plan["written"] += 1
                    task._status, plan["phase"], plan["deprov"] = "DEPROVISIONING", "deprovisioning", now
                    _set(task, execution_stopped_at=_now())
            elif phase == "deprovisioning" and now - plan["deprov"] >= ecs_layer.CONFIG["deprovision_seconds"]:
                _set(task, _status="STOPPED", desired_status="STOPPED", stopped_at=_now(), stop_code="EssentialContainerExited",
                     stopped_reason="Essential container in task exited")
                _container(task, exit_code=plan["exit"], last_status="STOPPED")
                plan["phase"], plan["stopped"] = "late", now
            elif phase == "late" and now - plan["stopped"] >= 0.5:
                if plan["late"] and plan.get("started"):
                    _put_log(plan, plan["late"])
                plan["phase"] = "done"


def _ticker():
    while True:
        time.sleep(0.05)
        try:
            _tick()
        except Exception as exc:  # keep ticking; show the problem in the emulator log
            print(f"task_layer tick failed: {exc!r}", flush=True)


def _fargate_requirements(orig):
    """moto adds up each container's ``memory`` (or ``memoryReservation``)
    and fails with a TypeError when a container has neither. On Fargate the
    task-level ``memory`` is what counts and a container's is optional
    ("If using the Fargate launch type, this parameter is optional",
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html):
    such a container counts 0 here, and the definition itself is untouched."""

    def requirements(task_definition):
        containers = task_definition.container_definitions
        counted = [c if any(k in c for k in ("memory", "memoryReservation", "Memory", "MemoryReservation"))
                   else {**c, "memory": 0} for c in containers]
        task_definition.container_definitions = counted
        try:
            return orig(task_definition)
        finally:
            task_definition.container_definitions = containers

    return staticmethod(requirements)


def install():
    # moto must not advance tasks on its own: this layer owns their status.
    state_manager.set_transition(model_name="ecs::task", transition={"progression": "manual", "times": 10**9})
    backend_cls = models.EC2ContainerServiceBackend
    backend_cls._calculate_task_resource_requirements = _fargate_requirements(
        backend_cls._calculate_task_resource_requirements)
    orig_run = backend_cls.run_task
    orig_stop = backend_cls.stop_task

    def run_task(self, cluster_str, task_definition_str, count, overrides, started_by, tags, launch_type, *a, **kw):
        with LOCK:
            tasks = orig_run(self, cluster_str, task_definition_str, count, overrides, started_by, tags, launch_type, *a, **kw)
            td = self.describe_task_definition(task_definition_str)
            main, env = _env(td, overrides)
            for task in tasks:
                task._status = "PROVISIONING"
                _set(task, desired_status="RUNNING", created_at=_now(), started_at=None, stopped_at=None, stop_code=None)
                _container(task, name=main.get("name"), last_status="PENDING")
                for c in task.containers:
                    c.exitCode = None
                    c.exit_code = None
                plan = {
                    "t0": time.monotonic(), "phase": "provisioning", "account": self.account_id,
                    "run": float(env.get("FDEMU_RUN_SECONDS", "1")), "exit": int(env.get("FDEMU_EXIT_CODE", "0")),
                    "lines": _lines(env), "written": 0,
                    "late": env.get("FDEMU_LATE_LOG"), "fail": _fail_reason(env),
                }
                conf = main.get("logConfiguration") or {}
                if conf.get("logDriver") == "awslogs":
                    opts = conf.get("options") or {}
                    plan["log"] = {
                        "group": opts.get("awslogs-group"), "region": opts.get("awslogs-region", self.region_name),
                        "stream": f"{opts.get('awslogs-stream-prefix')}/{main.get('name')}/{task.id}",
                    }
                MANAGED.append((self, task, plan))
            return tasks

    def stop_task(self, cluster_str, task_str, reason):
        with LOCK:
            for backend, task, plan in MANAGED:
                if task.task_arn.endswith(task_str.split("/")[-1]) and plan["phase"] not in ("done", "late"):
                    plan["stop_requested"] = reason or "Task stopped by user"
                    task.desired_status = "STOPPED"
                    return task
            return orig_stop(self, cluster_str, task_str, reason)

    backend_cls.run_task = run_task
    backend_cls.stop_task = stop_task
    threading.Thread(target=_ticker, daemon=True).start()
