"""fargate-deploy's benchmark: wall time, API calls and peak memory against the
physical limit, side by side with the AWS CLI way. Not a test: it measures.

Run it with ``tests/bench/run`` (which builds the release binary and the
virtualenvs first). What it does:

* starts the emulator (tests/emulator/fdemu.py, seed "bench": the default
  scenario plus fifty services ``svc-0`` … ``svc-49``) and, in front of it, a
  loopback proxy (tests/emulator/proxy.py) that adds a fixed round-trip time
  to every call (0 and 40 ms) and counts calls per operation;
* runs the release binary exactly as the GitHub runner starts the action
  (``INPUT_*``, ``GITHUB_OUTPUT``, OIDC token endpoint → STS role), through
  the proxy, and measures wall time (process start to exit), peak RSS
  (``wait4``) and the calls;
* runs the AWS CLI way for the same job through the same proxy (run-task +
  ``wait tasks-stopped`` + describe-tasks for the exit code; register +
  update-service + ``wait services-stable``);
* reads the emulated truth back from the emulator: the task's lifetime L
  (RunTask's ``createdAt`` → ``stoppedAt``) and the deployment's rollout
  time R (``createdAt`` → ``updatedAt`` of the completed deployment).

The emulator's one-off task deprovisions for 1 s here (``--deprovision-seconds``;
0.2 s in the tests). On Fargate an awsvpc task deprovisions for tens of
seconds after its container exits (the network interface is detached), and
the tool's log grace counts from the container's exit — so against AWS the
grace is over when STOPPED is seen; with 0.2 s it would show up as ~0.8 s
of extra wall time that AWS never charges.

Status calls per second are counted from the call that starts the wait
(RunTask, UpdateService) to the end of the process, over all services of
the run (DescribeServices is batched, so ten services cost what one does).

The physical limit is L (or R) plus the minimal chain of serial round trips
a correct tool cannot avoid, each costing the added delay plus the
emulator's median service time in that run:

* migrate (8): OIDC token → STS AssumeRoleWithWebIdentity → ECR
  DescribeImages ∥ ECS DescribeServices → DescribeTaskDefinition →
  RegisterTaskDefinition → RunTask → [L] → DescribeTasks that sees STOPPED →
  a last GetLogEvents (the tool promises every log line);
* deploy (7): OIDC token → STS → DescribeImages ∥ DescribeServices →
  DescribeTaskDefinition → RegisterTaskDefinition → UpdateService → [R] →
  DescribeServices that sees the deployment COMPLETED;
* the AWS CLI way needs fewer (it checks nothing and shows no logs):
  migrate 3 (run-task → [L] → describe-tasks in the waiter →
  describe-tasks for the exit code), deploy 3 (register → update → [R] →
  describe-services in the waiter).
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "emulator"))

import boto3  # noqa: E402

from proxy import Proxy  # noqa: E402

LAST_END = [0.0]  # when the last measured process ended (time.monotonic)
RSS_UPPER_BOUND = [False]  # set when GNU time was missing
TIME = "/usr/bin/time"  # GNU time (Debian's package "time")
REGION = "eu-west-1"
ROLE = "arn:aws:iam::123456789012:role/deploy"
REQUEST_TOKEN = "gha-request-token-0b5e9f"  # fdemu.py's runner request token
GITHUB_TOKEN = "ghs_fdemuToken0b5e9f7c1d2e3f4a5b6c7d8e9f0a1b2c3d"  # fdemu.py's GitHub API token
STATUS_OPS = {"ecs:DescribeTasks", "ecs:DescribeServices", "ecs:DescribeServiceDeployments"}
STARTS_WAIT = {"ecs:RunTask", "ecs:UpdateService"}
# The GitHub Deployment adds one serial round trip (the final status); its
# creation and in_progress status run beside the registration.
CHAIN = {"migrate": 8, "deploy": 7, "deploy+github": 8, "aws-cli migrate": 3, "aws-cli deploy": 3}


class Emulator:
    def __init__(self, python):
        self.proc = subprocess.Popen(
            [python, os.path.join(ROOT, "tests/emulator/fdemu.py"), "--port", "0", "--seed", "bench"],
            cwd=os.path.join(ROOT, "tests/emulator"), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=open(os.path.join(tempfile.gettempdir(), "fargate-deploy-bench-emulator.log"), "w"))
        ready = json.loads(self.proc.stdout.readline())
        self.port, self.seed = ready["port"], ready["seed"]
        self.url = f"http://127.0.0.1:{self.port}"

    def configure(self, **config):
        req = urllib.request.Request(f"{self.url}/_fd/config", data=json.dumps(config).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req).read()

    def client(self, name):
        return boto3.client(name, region_name=REGION, endpoint_url=self.url,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def close(self):
        self.proc.kill()
        self.proc.wait()


def run(cmd, env, cwd):
    """Wall seconds, peak RSS (MiB), exit code and output of one process.

    Peak RSS comes from GNU time, which starts the process from its own small
    image: Linux keeps a process's peak RSS across exec, so measured straight
    from this (large) Python process it would include Python's own pages."""
    out_path, rss_path = os.path.join(cwd, ".out"), os.path.join(cwd, ".rss")
    gnu_time = os.path.exists(TIME)
    with open(out_path, "w") as out:
        start = time.monotonic()
        proc = subprocess.Popen([TIME, "-f", "%M", "-o", rss_path, *cmd] if gnu_time else cmd, env=env, cwd=cwd,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        LAST_END[0] = time.monotonic()
        wall = LAST_END[0] - start
    if gnu_time:
        rss_kib = int(open(rss_path).read().split()[-1])
    else:
        # Without GNU time: wait4's figure, an upper bound (it counts this Python's pages too).
        RSS_UPPER_BOUND[0] = True
        rss_kib = usage.ru_maxrss
    return wall, rss_kib / 1024, os.waitstatus_to_exitcode(status), open(out_path).read()


def outputs(path):
    result, lines = {}, open(path).read().splitlines() if os.path.exists(path) else []
    i = 0
    while i < len(lines):
        name, delim = lines[i].split("<<", 1)
        j = lines.index(delim, i + 1)
        result[name] = "\n".join(lines[i + 1:j])
        i = j + 1
    return result


def action_env(proxy, ws, inputs):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": ws, "GITHUB_ACTIONS": "true", "CI": "true",
        "GITHUB_WORKSPACE": ws, "GITHUB_OUTPUT": f"{ws}/output", "GITHUB_STEP_SUMMARY": f"{ws}/summary",
        "GITHUB_RUN_ID": "4242", "GITHUB_RUN_ATTEMPT": "1", "GITHUB_REPOSITORY": "octo-org/octo-app",
        "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567", "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": f"{ws}/none", "AWS_SHARED_CREDENTIALS_FILE": f"{ws}/none",
        "AWS_ENDPOINT_URL": proxy.url(),
        "ACTIONS_ID_TOKEN_REQUEST_URL": f"{proxy.url()}/_fd/oidc?api-version=2.0",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": REQUEST_TOKEN,
        "INPUT_ROLE-TO-ASSUME": ROLE, "INPUT_AWS-REGION": REGION, "INPUT_CLUSTER": "prod",
    }
    if inputs.get("github-deployment") == "true":
        # The emulator's GitHub API, through the same proxy (same added RTT).
        env["GITHUB_API_URL"] = f"{proxy.url()}/api/v3"
        inputs = {**inputs, "github-token": GITHUB_TOKEN}
    for k, v in inputs.items():
        env[f"INPUT_{k.upper()}"] = v
    for f in ("output", "summary"):
        open(f"{ws}/{f}", "w").close()
    return env


def cli_env(proxy):
    return {"PATH": os.environ.get("PATH", ""), "AWS_ENDPOINT_URL": proxy.url(), "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_PAGER": ""}


def task_lifetime(emu, task_arn):
    task = emu.client("ecs").describe_tasks(cluster="prod", tasks=[task_arn])["tasks"][0]
    return (task["stoppedAt"] - task["createdAt"]).total_seconds(), task["containers"][0].get("exitCode")


def rollout_time(emu, services):
    ecs = emu.client("ecs")
    described = [svc for i in range(0, len(services), 10)  # DescribeServices takes up to 10
                 for svc in ecs.describe_services(cluster="prod", services=services[i:i + 10])["services"]]
    times = []
    for svc in described:
        primary = next(d for d in svc["deployments"] if d["status"] == "PRIMARY")
        assert primary["rolloutState"] == "COMPLETED", primary
        times.append((primary["updatedAt"] - primary["createdAt"]).total_seconds())
    return max(times)


# The reads only the pre-flight checks make (roles, log groups, secrets,
# the image's architecture).
PREFLIGHT_READS = ("iam:GetRole", "logs:DescribeLogGroups", "secretsmanager:DescribeSecret", "ssm:GetParameters",
                   "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")


def stage_seconds(text, stage):
    """How long the run's `stage` took, as its log group's last line says
    (``✓ … (0.04s)``); None when the run had no such stage."""
    found = re.search(r"::group::\[\d+/\d+\] " + re.escape(stage) + r"\n(?:.*\n)*?[✓✗] .*\((\d+\.\d+)s\)\n", text)
    return float(found.group(1)) if found else None


def measure(label, delay, proxy, fn):
    proxy.reset()
    wall, rss, code, text, truth = fn()
    calls = proxy.snapshot()
    if code != 0:
        raise SystemExit(f"{label}: exit {code}\n{text}")
    by_op, upstream = {}, {}
    for op, _, u in calls:
        by_op[op] = by_op.get(op, 0) + 1
        upstream.setdefault(op, []).append(u)
    service = statistics.median([u for _, _, u in calls]) if calls else 0.0
    # Status calls while waiting: after the task was started or the service
    # updated, up to the end of the process.
    started = min((t for op, t, _ in calls if op in STARTS_WAIT), default=None)
    status = [t for op, t, _ in calls if op in STATUS_OPS and started is not None and t > started]
    status_calls = [(op, t, u) for op, t, u in calls if op in STATUS_OPS]
    waiting = LAST_END[0] - started if started is not None else 0.0
    kind = "migrate" if "migrate" in label else "deploy+github" if "GitHub" in label else "deploy"
    chain = CHAIN[("aws-cli " if label.startswith("aws-cli") else "") + kind]
    limit = truth + chain * (delay + service)
    return {"label": label, "delay_ms": int(delay * 1000), "wall": wall, "rss_mib": rss, "truth": truth,
            "limit": limit, "calls": len(calls), "by_op": by_op,
            # One round trip of each operation: the added delay + the emulator's median time for it.
            "round_trip": {op: delay + statistics.median(us) for op, us in upstream.items()},
            "status_per_s": len(status) / waiting if waiting else 0.0,
            # From the answer of the last AWS call to the end of the process:
            # what the run does after the deployment's end was seen (the
            # GitHub Deployment's final status, the report), free of the
            # poll's phase against the rollout.
            "tail": LAST_END[0] - max((t + u for op, t, u in calls if not op.startswith("github:")), default=0.0),
            # From the answer of the last status call (the one that saw the
            # deployments complete) to the end of the process: what the run
            # does after success (scheduled-task moves, the report).
            "after_status": LAST_END[0] - max((t + u for op, t, u in status_calls), default=0.0),
            # The pre-flight checks' own stage: what their reads (started
            # with the image lookup, beside the render) still cost once the
            # definition is rendered.
            "verify_s": stage_seconds(text, "verify")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--python", required=True, help="the emulator's virtualenv python")
    ap.add_argument("--aws", help="the AWS CLI (awscli from PyPI); side by side when given")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--task-seconds", type=float, default=3.0, help="how long the migration container runs")
    ap.add_argument("--rollout-seconds", type=float, default=3.0)
    ap.add_argument("--deprovision-seconds", type=float, default=1.0,
                    help="a stopped task's DEPROVISIONING time (AWS: tens of seconds for awsvpc)")
    ap.add_argument("--fail-cycle-seconds", type=float, default=2.0,
                    help="fail-fast run: one task fails to start every this many seconds")
    ap.add_argument("--out", default=os.path.join(ROOT, "target/bench"))
    args = ap.parse_args()
    args.binary, args.python = os.path.abspath(args.binary), os.path.abspath(args.python)
    args.aws = args.aws and os.path.abspath(args.aws)
    os.makedirs(args.out, exist_ok=True)

    emu = Emulator(args.python)
    emu.configure(rollout_seconds=args.rollout_seconds, deprovision_seconds=args.deprovision_seconds)
    results = []
    tag = {"n": 0}

    def next_image():
        tag["n"] += 1
        return "web:v2" if tag["n"] % 2 else "web:v1"

    migration = {}

    def ours(proxy, inputs, truth):
        def go():
            with tempfile.TemporaryDirectory() as ws:
                env = action_env(proxy, ws, inputs)
                wall, rss, code, text = run([args.binary], env, ws)
                outs = outputs(f"{ws}/output")
            return wall, rss, code, text, truth(outs) if code == 0 else 0.0
        return go

    def migrate_inputs(seconds):
        env = f"FDEMU_RUN_SECONDS={seconds:.1f}\nFDEMU_LOG=migrating|== 20261129 CreateUsers: migrated|done"
        return {"mode": "migrate", "service": "web", "image": "web:v2", "command": "bin/rails db:migrate",
                "environment-variables": env}

    ten = [f"svc-{i}" for i in range(10)]
    fifty = [f"svc-{i}" for i in range(50)]
    try:
        for delay in (0.0, 0.04):
            proxy = Proxy(emu.port, delay)
            # Warm-up (not measured): the first migrate registers the migration revision.
            ours(proxy, migrate_inputs(args.task_seconds), lambda o: migration.update(o) or 0.0)()
            # … and the GitHub API mock loads GitHub's OpenAPI description on its first request.
            ours(proxy, {"mode": "deploy", "service": "svc-0", "image": next_image(), "github-deployment": "true"},
                 lambda o: 0.0)()
            for i in range(args.repeat):
                # Real lifetimes are not aligned with the poll interval: each
                # run shifts L and R by another fifth of a second.
                shift = (i % 5) * 0.2
                results.append(measure("migrate", delay, proxy, ours(
                    proxy, migrate_inputs(args.task_seconds + shift), lambda o: task_lifetime(emu, o["task-arn"])[0])))
                emu.configure(rollout_seconds=args.rollout_seconds + shift)
                for job, services, extra in [
                    ("deploy 1 service", ["svc-0"], {}),
                    ("deploy 1 service + GitHub deployment", ["svc-0"], {"github-deployment": "true"}),
                    ("deploy 10 services", ten, {}),
                    ("deploy worker", ["worker"], {}),
                    ("deploy worker + scheduled tasks", ["worker"], {"scheduled-tasks": "auto"}),
                    ("deploy 50 services", fifty, {}),
                ]:
                    inputs = {"mode": "deploy", "service": ",".join(services), "image": next_image(), **extra}
                    results.append(measure(job, delay, proxy, ours(
                        proxy, inputs, lambda o, s=services: rollout_time(emu, s))))
            emu.configure(rollout_seconds=args.rollout_seconds)
            if delay:
                failing = fail_fast(args, emu, proxy, next_image())
            if args.aws and delay:
                for _ in range(max(1, args.repeat // 2 + 1)):
                    results.append(measure("aws-cli migrate", delay, proxy,
                                           awscli_migrate(args, emu, proxy, migration["task-definition-arn"])))
                    results.append(measure("aws-cli deploy 1 service", delay, proxy,
                                           awscli_deploy(args, emu, proxy, next_image())))
            proxy.close()
        version = version_time(args.binary)
    finally:
        emu.close()

    size = os.path.getsize(args.binary)
    report = render(results, version, size, args, failing)
    print(report)
    with open(os.path.join(args.out, "report.md"), "w") as f:
        f.write(report)
    with open(os.path.join(args.out, "raw.json"), "w") as f:
        json.dump({"runs": results, "version_ms": version, "binary_bytes": size}, f, indent=1)
    missed = missed_targets(report)
    if missed:
        print(f"missed {len(missed)} target(s): " + "; ".join(missed), file=sys.stderr)
        sys.exit(1)


PULL = "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref: not found"


def fail_fast(args, emu, proxy, image):
    """A revision whose image cannot be pulled, on ``big`` (desired count 20,
    so the circuit breaker's threshold is 10 failed tasks), one task failing
    every ``--fail-cycle-seconds``: with fail-fast, how long after the third
    failed task the rollback started (StopServiceDeployment) and the run
    ended; without it, how long after the update the run ended (the
    breaker's threshold). Each failed task is stamped at the update plus a
    whole number of cycles, as the emulator starts them."""
    cycle = args.fail_cycle_seconds
    emu.configure(task_cycle_seconds=cycle)
    rows = {}
    for on in ("true", "false"):
        proxy.reset()
        inputs = {"mode": "deploy", "service": "big", "image": image, "fail-fast": on,
                  "environment-variables": f"FDEMU_FAIL_TO_START={PULL}"}
        with tempfile.TemporaryDirectory() as ws:
            wall, _, code, text = run([args.binary], action_env(proxy, ws, inputs), ws)
        calls = proxy.snapshot()
        if code != 1:
            raise SystemExit(f"fail-fast {on}: exit {code}, not 1\n{text}")
        update = next(t for op, t, _ in calls if op == "ecs:UpdateService")
        stop = next((t for op, t, _ in calls if op == "ecs:StopServiceDeployment"), None)
        rows[on] = {"after_update": LAST_END[0] - update, "text": text,
                    "stop_after_third": stop - (update + 3 * cycle) if stop else None,
                    "end_after_third": LAST_END[0] - (update + 3 * cycle)}
        image = "web:v1" if image == "web:v2" else "web:v2"
    emu.configure(task_cycle_seconds=0.3)
    if "fail-fast: CannotPullContainerError" not in rows["true"]["text"]:
        raise SystemExit("fail-fast did not name the class:\n" + rows["true"]["text"])
    return {"cycle": cycle, "on": rows["true"], "off": rows["false"]}


def missed_targets(report):
    """The rows of the targets table whose `met` column says NO."""
    return [line.split("|")[1].strip() for line in report.splitlines()
            if line.startswith("| ") and line.rstrip().endswith("| NO |")]


def awscli_migrate(args, emu, proxy, family):
    """The same migration (our migrate registered its revision) the AWS CLI way."""
    ecs = emu.client("ecs")
    network = json.dumps(ecs.describe_services(cluster="prod", services=["web"])["services"][0]["networkConfiguration"])

    def go():
        env = cli_env(proxy)
        overrides = json.dumps({"containerOverrides": [{"name": "web", "command": ["bin/rails", "db:migrate"]}]})
        script = (
            'set -e\n'
            f'arn=$("$AWS" ecs run-task --cluster prod --launch-type FARGATE --task-definition "{family}" '
            f"--network-configuration '{network}' --overrides '{overrides}' --query 'tasks[0].taskArn' --output text)\n"
            'echo "$arn"\n'
            '"$AWS" ecs wait tasks-stopped --cluster prod --tasks "$arn"\n'
            'code=$("$AWS" ecs describe-tasks --cluster prod --tasks "$arn" '
            "--query 'tasks[0].containers[?name==`web`].exitCode | [0]' --output text)\n"
            'test "$code" = 0\n'
        )
        env["AWS"] = args.aws
        with tempfile.TemporaryDirectory() as ws:
            wall, rss, code, text = run(["bash", "-c", script], env, ws)
        arn = text.strip().splitlines()[0] if text.strip() else ""
        return wall, rss, code, text, task_lifetime(emu, arn)[0] if code == 0 else 0.0
    return go


def awscli_deploy(args, emu, proxy, image_tag):
    ecs = emu.client("ecs")
    current = ecs.describe_services(cluster="prod", services=["svc-0"])["services"][0]["taskDefinition"]
    td = ecs.describe_task_definition(taskDefinition=current)["taskDefinition"]
    registry, digests = emu.seed["registry"], emu.seed["digests"]
    td["containerDefinitions"][0]["image"] = f"{registry}/web@{digests[image_tag.split(':')[1]]}"
    keep = ("family", "taskRoleArn", "executionRoleArn", "networkMode", "containerDefinitions", "volumes",
            "placementConstraints", "requiresCompatibilities", "cpu", "memory")

    def go():
        env = cli_env(proxy)
        env["AWS"] = args.aws
        with tempfile.TemporaryDirectory() as ws:
            with open(f"{ws}/td.json", "w") as f:
                json.dump({k: td[k] for k in keep if k in td}, f)
            script = (
                'set -e\n'
                'arn=$("$AWS" ecs register-task-definition --cli-input-json file://td.json '
                "--query 'taskDefinition.taskDefinitionArn' --output text)\n"
                '"$AWS" ecs update-service --cluster prod --service svc-0 --task-definition "$arn" >/dev/null\n'
                '"$AWS" ecs wait services-stable --cluster prod --services svc-0\n'
            )
            wall, rss, code, text = run(["bash", "-c", script], env, ws)
        return wall, rss, code, text, rollout_time(emu, ["svc-0"]) if code == 0 else 0.0
    return go


def version_time(binary, n=30):
    times = []
    for _ in range(n):
        start = time.monotonic()
        subprocess.run([binary, "--version"], stdout=subprocess.DEVNULL, check=True)
        times.append((time.monotonic() - start) * 1000)
    return statistics.median(times)


def med(rows, key):
    return statistics.median([r[key] for r in rows])


def over(rows):
    """Median of each run's wall time beyond the emulated truth (L or R)."""
    return statistics.median([r["wall"] - r["truth"] for r in rows])


def ratio(rows):
    return statistics.median([r["wall"] / r["limit"] for r in rows])


def render(results, version_ms, size, args, failing):
    groups = {}
    for r in results:
        groups.setdefault((r["label"], r["delay_ms"]), []).append(r)
    lines = [
        f"Benchmark: {args.repeat} runs each (medians); migration container {args.task_seconds} s "
        f"(+0 … 0.8 s, a different phase against the 1 s poll each run), "
        f"task deprovisioning {args.deprovision_seconds} s, rollout {args.rollout_seconds} s (+0 … 0.8 s); the emulator behind a loopback proxy adding 0 or 40 ms per call.",
        "",
        "| job | added RTT | runs | wall | truth (L or R) | physical limit | wall − truth | wall / limit "
        "| API calls | status calls/s | peak RSS |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (label, delay), rows in groups.items():
        lines.append(
            f"| {label} | {delay} ms | {len(rows)} | {med(rows, 'wall'):.2f} s | {med(rows, 'truth'):.2f} s "
            f"| {med(rows, 'limit'):.2f} s | {over(rows):+.2f} s "
            f"| {ratio(rows):.2f} | {med(rows, 'calls'):.0f} "
            f"| {med(rows, 'status_per_s'):.2f} | {max(r['rss_mib'] for r in rows):.1f} MiB |")
    lines += ["", "Calls per operation (median run, 40 ms):", ""]
    for (label, delay), rows in groups.items():
        if delay != 40:
            continue
        row = sorted(rows, key=lambda r: r["calls"])[len(rows) // 2]
        ops = ", ".join(f"{op} {n}" for op, n in sorted(row["by_op"].items()))
        lines.append(f"- {label}: {ops}")

    def get(label, delay=40):
        return groups.get((label, delay), [])

    checks = []
    m, d1, d10, d50 = get("migrate"), get("deploy 1 service"), get("deploy 10 services"), get("deploy 50 services")
    if m:
        checks.append(("migrate wall − L (40 ms)", over(m), "≤ 1.0 s", over(m) <= 1.0))
    if d1:
        checks.append(("deploy wall − R (40 ms)", over(d1), "≤ 1.0 s", over(d1) <= 1.0))
    for label, rows in (("migrate", m), ("deploy", d1)):
        if not rows or any(r["verify_s"] is None for r in rows):
            continue
        # One round trip: the added delay and the emulator's median time for
        # the slowest of the pre-flight reads.
        reads = [op for op in PREFLIGHT_READS if op in rows[0]["round_trip"]]
        rt = max(statistics.median(r["round_trip"][op] for r in rows) for op in reads)
        checks.append((f"pre-flight: wall of {label}'s verify stage (40 ms)", med(rows, "verify_s"),
                       f"≤ 1 round trip ({rt:.2f} s)", med(rows, "verify_s") <= rt))
    rates = [r["status_per_s"] for r in m + d1 + d10]
    if rates:
        checks.append(("status calls per second per waiting job (mean)", statistics.mean(rates), "≤ 1.0",
                       statistics.mean(rates) <= 1.0))
    if d50:
        # DescribeServices takes at most 10 services: a poll of 50 is five calls.
        per_batch = statistics.mean(r["status_per_s"] for r in d50) / 5
        checks.append(("50 services: status calls per second per DescribeServices batch of 10", per_batch,
                       "≤ 1.0", per_batch <= 1.0))
    gh = get("deploy 1 service + GitHub deployment")
    if d1 and gh:
        # What the GitHub Deployment adds should be the final status's one round
        # trip (the mock validates each request and answer against GitHub's
        # OpenAPI description, so its round trip is longer than the AWS calls').
        status_rt = statistics.median(r["round_trip"]["github:repos/create-deployment-status"] for r in gh)
        # Measured on the tail after the last AWS answer: wall − R also
        # carries up to a poll interval of phase noise, which would swamp it.
        cost = med(gh, "tail") - med(d1, "tail")
        checks.append(("GitHub deployment: added wall time (40 ms)", cost, "(measured)", None))
        checks.append(("GitHub deployment: added wall time − one status round trip", cost - status_rt,
                       "≤ 0.05 s", cost - status_rt <= 0.05))
    if d1 and d10:
        checks.append(("10 services / 1 service, wall", med(d10, "wall") / med(d1, "wall"), "≤ 1.5×",
                       med(d10, "wall") / med(d1, "wall") <= 1.5))
        checks.append(("10 services / 1 service, API calls", med(d10, "calls") / med(d1, "calls"), "≤ 3×",
                       med(d10, "calls") / med(d1, "calls") <= 3))
    w, ws = get("deploy worker"), get("deploy worker + scheduled tasks")
    if w and ws:
        # The moves (PutTargets per rule, UpdateSchedule per schedule) run at
        # once after the deployments completed: one round trip of wall time.
        moves = [op for op in ("events:PutTargets", "scheduler:UpdateSchedule") if op in ws[0]["round_trip"]]
        rt = max(statistics.median(r["round_trip"][op] for r in ws) for op in moves)
        cost = med(ws, "after_status") - med(w, "after_status")
        checks.append(("scheduled tasks: wall added after the deployments completed (40 ms)", cost,
                       f"≤ 1 round trip ({rt:.2f} s)", cost <= rt))
    if d1 and d50:
        checks.append(("50 services / 1 service, wall", med(d50, "wall") / med(d1, "wall"), "≤ 1.5×",
                       med(d50, "wall") / med(d1, "wall") <= 1.5))
    if d10 and d50:
        # Per ten services, the 50-service run against the 10-service run.
        per_ten = med(d50, "calls") / 5 / med(d10, "calls")
        checks.append(("50 services: API calls per 10 services / 10-service run", per_ten, "≤ 2×", per_ten <= 2))
    on, off = failing["on"], failing["off"]
    checks += [
        ("fail-fast: rollback started after the 3rd failed task (s, 40 ms)", on["stop_after_third"], "≤ 60 s",
         on["stop_after_third"] is not None and on["stop_after_third"] <= 60),
        ("fail-fast: run ended after the 3rd failed task (s)", on["end_after_third"], "(measured)", None),
        ("fail-fast: false: run ended after the 3rd failed task (s; the breaker, 10 tasks)",
         off["end_after_third"], "(measured)", None),
    ]
    lines += ["", f"Fail-fast: a revision whose image cannot be pulled on a service of desired count 20 "
              f"(circuit-breaker threshold 10 failed tasks), one task failing every {failing['cycle']:.1f} s."]
    rss = max(r["rss_mib"] for r in results if not r["label"].startswith("aws-cli"))
    checks += [("--version", version_ms, "≤ 10 ms", version_ms <= 10),
               ("peak RSS (MiB)", rss, "≤ 30", rss <= 30),
               ("release binary (MB)", size / 1e6, "≤ 11", size / 1e6 <= 11)]
    for theirs, mine in (("aws-cli migrate", "migrate"), ("aws-cli deploy 1 service", "deploy 1 service")):
        if get(theirs) and get(mine):
            checks.append((f"{theirs} / fargate-deploy, wall", med(get(theirs), "wall") / med(get(mine), "wall"),
                           "(side by side)", None))
    if RSS_UPPER_BOUND[0]:
        lines += ["", "(GNU time not found: peak RSS is wait4's upper bound, which includes the driver's own pages.)"]
    lines += ["", "| target | measured | goal | met |", "|---|---|---|---|"]
    for name, value, goal, ok in checks:
        lines.append(f"| {name} | {value:.2f} | {goal} | {'yes' if ok else ('—' if ok is None else 'NO')} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
