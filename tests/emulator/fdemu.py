"""fargate-deploy's end-to-end emulator: moto's server plus a thin, documented layer.

Started by the Rust test harness (tests/common/mod.rs) on 127.0.0.1. What it adds
to moto, each piece faithful to what AWS or GitHub documents:

* ``GET /_fd/requests`` — every AWS request the server saw, as
  ``{"service", "operation"}`` (from the SigV4 credential scope and the
  ``X-Amz-Target`` header or the ``Action`` parameter) and the access key
  that signed it, so tests can prove that
  nothing mutating was called; RunTask, StopTask, UpdateService,
  CreateDeployment, StopDeployment, DeregisterTaskDefinition and
  DeleteTaskDefinitions keep their parameters too. Requests made while seeding are not listed.
* ``GET /_fd/oidc`` — the GitHub Actions OIDC token service
  (``$ACTIONS_ID_TOKEN_REQUEST_URL``): requires ``Authorization: Bearer
  <request token>`` and answers ``{"value": "<JWT>"}`` whose ``aud`` is the
  ``audience`` query parameter and whose ``sub`` is
  ``repo:octo-org/octo-app:ref:refs/heads/main``. Calls are recorded too.
* ``GET /_fd/secrets`` — every credential handed out (OIDC tokens, and the
  access key id, secret key and session token of each AssumeRoleWithWebIdentity
  answer), so the harness can prove none of them was printed.
* ``/api/v3/…`` and ``/_fd/github`` — the GitHub REST API (deployments,
  deployment statuses, issue comments), checked request by request against
  GitHub's published OpenAPI description (github_layer.py, documented there).
  The token it accepts is ``GITHUB_TOKEN`` below.
* ``/_fd/faults`` — with ``--fault-proxy``, a fault-injecting proxy
  (proxy.py) runs in front of the server: POST adds to its plan, GET tells
  what it injected and what is left.
* ``POST /_fd/config`` — switches for failure paths:
  ``{"sts_deny": true}`` makes AssumeRoleWithWebIdentity answer AccessDenied
  exactly as STS does (HTTP 403, ``ErrorResponse``/``Error``/``Code``);
  ``{"oidc_fail": N}`` makes the next N token requests answer HTTP 503;
  ``{"sts_session_seconds": S}`` makes AssumeRoleWithWebIdentity's
  credentials expire S seconds after they are issued;
  ``{"no_service_deployments": true}`` makes the service-deployment API
  (ListServiceDeployments …) answer AccessDeniedException, as for a role
  without it; ``{"deny": ["logs:DescribeLogGroups"]}`` does the same for
  the operations named;
  ``{"throttle": {"ecs:UpdateService": [CAPACITY, REFILL_PER_S]}}`` throttles
  the operations named with a token bucket (throttle_layer.py, documented
  there; the answer's ``throttled`` counts the refusals);
  ``{"event_note": "text"}`` appends text to every ECS service event;
  ``{"rollout_seconds": S, "task_cycle_seconds": C}`` set the pace of
  ECS deployments (see ecs_layer.py), ``{"deprovision_seconds": D}`` how
  long a one-off task deprovisions before it is STOPPED (task_layer.py).

* ECS rolling deployments (``ecs_layer.py``, documented there): UpdateService
  creates a deployment that rolls over wall-clock time, with events, crashing
  revisions and the deployment circuit breaker.
* ECS one-off tasks (task_layer.py, documented there): the task lifecycle
  over wall-clock time, exit codes, failed starts and CloudWatch Logs lines
  from a test convention, StopTask.
* CloudWatch's Smithy RPC v2 CBOR protocol (``cbor_layer.py``, documented
  there): translated to the JSON protocol moto speaks, and back.
* ECR blobs (``ecr_layer.py``, documented there): GetDownloadUrlForLayer
  and the download behind it (an image's config blob names its
  architecture).
* CodeDeploy blue/green deployments of ECS services (``codedeploy_layer.py``,
  documented there): status and ECS lifecycle events over wall-clock time,
  failures with error and rollback information, deployment targets,
  StopDeployment.

Moto gaps met so far are listed in the README ("The emulator").
"""

import argparse
import base64
import io
import json
import re
import sys
import threading
import time
import uuid
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

SUB = "repo:octo-org/octo-app:ref:refs/heads/main"
# Requests whose parameters the log keeps, for tests that check what was asked.
KEEP_PARAMS = {"RunTask", "StopTask", "UpdateService", "CreateDeployment", "StopDeployment", "StopServiceDeployment",
               "ContinueServiceDeployment", "DeregisterTaskDefinition", "DeleteTaskDefinitions", "PutTargets",
               "UpdateSchedule"}
REQUEST_TOKEN = "gha-request-token-0b5e9f"


def _drop_empty(member):
    def fix(doc, request):
        if doc.get(member) == []:
            del doc[member]
        return doc
    return fix


def _alarm_filters(doc, request):
    """DescribeAlarms: moto ignores ``StateValue`` when ``AlarmNames`` is
    given, and ``AlarmTypes`` always; AWS applies every filter, and without
    ``AlarmTypes`` returns metric alarms only
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html)."""
    types = request.get("AlarmTypes") or ["MetricAlarm"]
    for kind, key in (("MetricAlarm", "MetricAlarms"), ("CompositeAlarm", "CompositeAlarms")):
        if kind not in types:
            doc.pop(key, None)
        elif request.get("StateValue"):
            doc[key] = [a for a in doc.get(key, []) if a.get("StateValue") == request["StateValue"]]
    return doc


# Where moto's answer breaks the operation's model or AWS's documented
# semantics, corrected as AWS answers (each fix takes the answer and the
# request). GetParameters: moto sends "InvalidParameters": [] when every
# name exists; the model's ParameterNameList has min 1, so AWS leaves the
# member out
# (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameters.html).
MOTO_FIXES = {"ssm:GetParameters": _drop_empty("InvalidParameters"), "monitoring:DescribeAlarms": _alarm_filters}
GITHUB_TOKEN = "ghs_fdemuToken0b5e9f7c1d2e3f4a5b6c7d8e9f0a1b2c3d"


class Layer:
    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()
        self.requests = []
        self.oidc_requests = []
        self.config = {"sts_deny": False, "oidc_fail": 0, "no_service_deployments": False, "deny": [],
                       "throttle": {}}
        import throttle_layer  # noqa: E402  (beside this file)

        self.buckets = throttle_layer.Buckets()
        # Every credential this emulator handed out, for the harness's leak scan.
        self.secrets = []
        self.recording = True
        import github_layer  # noqa: E402  (beside this file)

        self.github = github_layer.GitHub(GITHUB_TOKEN)
        import conformance  # noqa: E402  (beside this file)

        self.conformance = conformance.Conformance()

    # -- helpers ---------------------------------------------------------
    @staticmethod
    def _json(start_response, status, body):
        data = json.dumps(body).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    @staticmethod
    def _describe(environ, body):
        auth = environ.get("HTTP_AUTHORIZATION", "")
        service, region = "?", "?"
        if "Credential=" in auth:
            scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
            if len(scope) >= 4:
                service, region = scope[3], scope[2]
        key = auth.split("Credential=", 1)[1].split("/", 1)[0] if "Credential=" in auth else None
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        operation = target.split(".")[-1] if target else ""
        if not operation:
            params = parse_qs(environ.get("QUERY_STRING", ""))
            ctype = environ.get("CONTENT_TYPE", "")
            if "x-www-form-urlencoded" in ctype:
                params.update(parse_qs(body.decode("utf-8", "replace")))
            operation = (params.get("Action") or [""])[0]
        if not operation:
            import conformance  # noqa: E402  (beside this file: REST services are named by their routes)

            operation, _ = conformance.rest_operation(service, environ.get("REQUEST_METHOD", "POST"),
                                                      environ.get("PATH_INFO", "/"))
        if service == "?" and operation.startswith("AssumeRoleWith"):
            service = "sts"  # unsigned by design: the web identity token is the credential
        return {"service": service, "operation": operation, "region": region, "key": key}

    # -- WSGI ------------------------------------------------------------
    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/_fd/requests":
            with self.lock:
                return self._json(start_response, "200 OK", self.requests)
        if path == "/_fd/conformance":
            return self._json(start_response, "200 OK", self.conformance.state())
        if path == "/_fd/secrets":
            with self.lock:
                return self._json(start_response, "200 OK", self.secrets)
        if path == "/_fd/oidc-requests":
            with self.lock:
                return self._json(start_response, "200 OK", self.oidc_requests)
        if path == "/_fd/faults":
            # The fault proxy's plan (POST {"ecs:DescribeTasks": ["throttle", …]}) and what it injected (GET).
            length = int(environ.get("CONTENT_LENGTH") or 0)
            if length:
                plan = json.loads(environ["wsgi.input"].read(length))
                with self.proxy.lock:
                    for op, faults in plan.items():
                        self.proxy.faults.setdefault(op, []).extend(faults)
            with self.proxy.lock:
                left = {op: len(f) for op, f in self.proxy.faults.items() if f}
                return self._json(start_response, "200 OK", {"injected": self.proxy.injected, "left": left})
        if path == "/_fd/config":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            update = json.loads(environ["wsgi.input"].read(length) or b"{}")
            import ecs_layer  # noqa: E402

            with self.lock:
                for key in list(update):
                    if key in ecs_layer.CONFIG:
                        ecs_layer.CONFIG[key] = float(update.pop(key))
                    elif key in ecs_layer.TEXT:
                        ecs_layer.TEXT[key] = str(update.pop(key))
                self.config.update(update)
                return self._json(start_response, "200 OK", {**self.config, **ecs_layer.CONFIG,
                                                             "throttled": self.buckets.throttled})
        if path == "/_fd/oidc":
            return self._oidc(environ, start_response)
        if path == "/_fd/github":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            update = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
            return self._json(start_response, "200 OK", self.github.control(update))
        if path.startswith("/api/v3/"):
            return self.github(environ, start_response)
        if path.startswith("/_fd/blobs/"):
            import ecr_layer  # noqa: E402

            data = ecr_layer.blob(path)
            if data is None:
                return self._json(start_response, "404 Not Found", {"message": "NoSuchKey"})
            start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(data)))])
            return [data]

        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        translated = None
        if path.startswith("/service/"):
            # The Smithy RPC v2 CBOR protocol (CloudWatch), as JSON for moto.
            import cbor_layer  # noqa: E402  (beside this file)

            translated = cbor_layer.request(environ, body)
            if isinstance(translated, tuple):
                status, headers, data = cbor_layer.refusal(*translated)
                start_response(f"{status} Refused", headers)
                return [data]
            if translated is not None:
                body = translated.body
        environ["wsgi.input"] = io.BytesIO(body)
        call = self._describe(environ, body)
        if self.recording:
            entry = {"service": call["service"], "operation": call["operation"], "key": call["key"]}
            if call["operation"] in KEEP_PARAMS and body:
                import conformance  # noqa: E402  (a REST request's URI labels are members too)

                labels = conformance.rest_operation(call["service"], environ.get("REQUEST_METHOD", "POST"), path)[1]
                entry["params"] = {**json.loads(body), **labels}
            with self.lock:
                self.requests.append(entry)
            self.conformance.request(call["service"], call["operation"], environ.get("CONTENT_TYPE", ""), body,
                                     environ.get("REQUEST_METHOD", "POST"), path, environ.get("QUERY_STRING", ""))
        if translated is not None:
            held = {}

            def hold(status, headers, exc_info=None):
                held["status"], held["headers"] = status, headers

            data = b"".join(self._dispatch(environ, hold, call, body))
            headers, data = translated.answer(int(held["status"].split()[0]), held["headers"], data)
            start_response(held["status"], headers)
            return [data]
        return self._dispatch(environ, start_response, call, body)

    def _layer_answer(self, start_response, call, status, doc):
        """A JSON answer the layer wrote, checked against the operation's model."""
        data = json.dumps(doc, default=str).encode()
        if self.recording:
            self.conformance.answer(call["service"], call["operation"], "layer", status, "application/x-amz-json-1.1", data)
        start_response(f"{status} {'OK' if status == 200 else 'Bad Request'}",
                       [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(data)))])
        return [data]

    def _moto(self, environ, start_response, call, body=b""):
        """moto's own answer, with the few corrections MOTO_FIXES makes, checked
        against the operation's model as it passes."""
        if not self.recording:
            return self.app(environ, start_response)
        held = {}

        def hold(status, headers, exc_info=None):
            held["status"], held["headers"] = status, headers

        data = b"".join(self.app(environ, hold))
        ctype = next((v for k, v in held["headers"] if k.lower() == "content-type"), "")
        status = int(held["status"].split()[0])
        fix = MOTO_FIXES.get(f"{call['service']}:{call['operation']}")
        if fix and status == 200:
            data = json.dumps(fix(json.loads(data), json.loads(body or b"{}"))).encode()
            held["headers"] = [(k, str(len(data)) if k.lower() == "content-length" else v) for k, v in held["headers"]]
        self.conformance.answer(call["service"], call["operation"], "moto", status, ctype, data)
        start_response(held["status"], held["headers"])
        return [data]

    def _dispatch(self, environ, start_response, call, body):
        if call["operation"] == "AssumeRoleWithWebIdentity" and self.config["sts_deny"]:
            xml = (
                '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
                "<Error><Type>Sender</Type><Code>AccessDenied</Code>"
                "<Message>Not authorized to perform sts:AssumeRoleWithWebIdentity</Message></Error>"
                "<RequestId>7f3c1b9e-0000-4000-8000-000000000000</RequestId></ErrorResponse>"
            ).encode()
            start_response("403 Forbidden", [("Content-Type", "text/xml"), ("Content-Length", str(len(xml)))])
            return [xml]
        if call["operation"] == "AssumeRoleWithWebIdentity":
            held = {}

            def hold(status, headers, exc_info=None):
                held["status"], held["headers"] = status, headers

            answer = b"".join(self.app(environ, hold))
            session = self.config.get("sts_session_seconds")
            if session:
                # A session that ends `session` seconds from now (STS's minimum is
                # 900 s; tests shorten it to see a refresh within seconds).
                end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + float(session)))
                answer = re.sub(rb"<Expiration>[^<]*</Expiration>", f"<Expiration>{end}</Expiration>".encode(), answer)
            found = re.findall(rb"<(?:AccessKeyId|SecretAccessKey|SessionToken)>([^<]+)<", answer)
            with self.lock:
                self.secrets.extend(f.decode() for f in found)
            headers = [(k, v) for k, v in held["headers"] if k.lower() != "content-length"]
            start_response(held["status"], headers + [("Content-Length", str(len(answer)))])
            return [answer]
        bucket = self.config["throttle"].get(f"{call['service']}:{call['operation']}")
        if bucket and not self.buckets.take(f"{call['service']}:{call['operation']}", *bucket):
            import throttle_layer  # noqa: E402

            return self._layer_answer(start_response, call, *throttle_layer.refusal())
        if f"{call['service']}:{call['operation']}" in self.config["deny"]:
            return self._layer_answer(start_response, call, 400, {
                "__type": "AccessDeniedException",
                "message": f"User is not authorized to perform: {call['service']}:{call['operation']}"})
        service_deployment_api = ("ListServiceDeployments", "DescribeServiceDeployments", "DescribeServiceRevisions",
                                  "StopServiceDeployment", "ContinueServiceDeployment")
        if call["service"] == "ecs" and call["operation"] in service_deployment_api and self.config["no_service_deployments"]:
            return self._layer_answer(start_response, call, 400, {
                "__type": "AccessDeniedException",
                "message": f"User is not authorized to perform: ecs:{call['operation']}"})
        if call["service"] == "ecs" and call["operation"] in service_deployment_api:
            import ecs_layer  # noqa: E402
            from moto.ecs.models import ecs_backends

            status, doc = ecs_layer.handle(call["operation"], json.loads(body or b"{}"), ecs_backends[seed_account()][call["region"]])
            return self._layer_answer(start_response, call, status, doc)
        if call["service"] == "codedeploy" and call["operation"] in ("ListDeploymentTargets", "BatchGetDeploymentTargets", "StopDeployment"):
            import codedeploy_layer  # noqa: E402
            from moto.codedeploy.models import codedeploy_backends

            status, doc = codedeploy_layer.handle(call["operation"], json.loads(body or b"{}"), codedeploy_backends[seed_account()][call["region"]])
            return self._layer_answer(start_response, call, status, doc)
        if call["service"] == "ecr" and call["operation"] == "GetDownloadUrlForLayer":
            import ecr_layer  # noqa: E402
            from moto.ecr.models import ecr_backends

            backend = ecr_backends[seed_account()][call["region"]]
            status, doc = ecr_layer.handle(call["operation"], json.loads(body or b"{}"), backend, environ.get("HTTP_HOST", ""))
            return self._layer_answer(start_response, call, status, doc)
        if call["service"] == "ecs" and call["operation"] == "CreateService":
            return self._create_service(environ, start_response, body, call["region"])
        return self._moto(environ, start_response, call, body)

    def _create_service(self, environ, start_response, body, region):
        # moto drops CreateService's deploymentConfiguration; keep it on the service
        # so the deployment circuit breaker of ecs_layer can read it.
        answer = self.app(environ, start_response)
        request = json.loads(body or b"{}")
        if "deploymentConfiguration" in request:
            from moto.ecs.models import ecs_backends

            backend = ecs_backends[seed_account()][region]
            cluster = request.get("cluster", "default").split("/")[-1]
            svc = backend.services.get(f"{cluster}:{request['serviceName']}")
            if svc is not None:
                svc.deployment_configuration = request["deploymentConfiguration"]
        return answer

    def _oidc(self, environ, start_response):
        params = parse_qs(environ.get("QUERY_STRING", ""))
        audience = (params.get("audience") or [""])[0]
        auth = environ.get("HTTP_AUTHORIZATION", "")
        with self.lock:
            self.oidc_requests.append({"audience": audience, "authorized": auth == f"Bearer {REQUEST_TOKEN}",
                                       "api_version": (params.get("api-version") or [""])[0]})
            failing = self.config["oidc_fail"] > 0
            if failing:
                self.config["oidc_fail"] -= 1
        if auth != f"Bearer {REQUEST_TOKEN}":
            return self._json(start_response, "401 Unauthorized", {"message": "bad request token"})
        if failing:
            return self._json(start_response, "503 Service Unavailable", {"message": "try again"})
        enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
        now = int(time.time())
        claims = {"sub": SUB, "aud": audience, "iss": "https://token.actions.githubusercontent.com",
                  "repository": "octo-org/octo-app", "ref": "refs/heads/main", "iat": now, "exp": now + 300,
                  "jti": uuid.uuid4().hex}
        token = f"{enc({'alg': 'RS256', 'typ': 'JWT', 'kid': 'test'})}.{enc(claims)}.c2lnbmF0dXJlLW5vdC1jaGVja2Vk"
        with self.lock:
            self.secrets.append(token)
        return self._json(start_response, "200 OK", {"count": 1, "value": token})


def seed_account():
    return "123456789012"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", default="")
    parser.add_argument("--fault-proxy", action="store_true", help="also start proxy.py in front, for fault injection")
    args = parser.parse_args()

    import ecs_layer  # noqa: E402  (beside this file)

    ecs_layer.install()
    import task_layer  # noqa: E402  (beside this file)

    task_layer.install()
    import codedeploy_layer  # noqa: E402  (beside this file)

    codedeploy_layer.install()
    layer = Layer(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", args.port, layer, threaded=True, request_handler=MotoRequestHandler)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    seeded = {}
    if args.seed:
        import seed  # noqa: E402  (beside this file)

        layer.recording = False
        seeded = seed.SCENARIOS[args.seed](f"http://127.0.0.1:{port}")
        layer.recording = True
    ready = {"port": port, "seed": seeded}
    if args.fault_proxy:
        from proxy import Proxy  # noqa: E402  (beside this file)

        layer.proxy = Proxy(port)
        ready["proxy_port"] = layer.proxy.port
    print(json.dumps(ready), flush=True)
    try:
        # Exit when the test harness goes away (its end of stdin closes).
        sys.stdin.read()
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
