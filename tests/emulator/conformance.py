"""Every request the binary sends and every answer the emulator gives,
checked against AWS's own contract: the botocore service models of the
emulator's virtualenv (the API definitions the Rust SDK is generated from).

fdemu.py calls ``Conformance.request`` before it dispatches a signed AWS
call and ``Conformance.answer`` with what it answers; ``GET /_fd/conformance``
returns the counts and the violations, which the test harness fails on
(tests/common/mod.rs): a violation names the service, the operation, whether
it was the request, the layer's answer or moto's, and the member.

What is checked, shape by shape: members the operation does not define;
required members; types (string, integer/long in range, boolean, double,
timestamp, blob, list, map, structure); enum values; string lengths and
list sizes against ``min``/``max``; numbers against ``min``/``max``. An
error answer's ``__type`` must be one of the operation's documented errors
or an error every AWS JSON service may answer (throttling, access denied,
validation, server errors).

Protocols: the JSON ones (ECS, ECR, CloudWatch Logs, CodeDeploy, SSM,
Secrets Manager, EventBridge) are read
as they are; a REST-JSON request (EventBridge Scheduler) is named by its
method and path against the operations' ``requestUri`` and read from its
URI labels, query string and JSON body, each member where the model puts it; STS's query protocol requests are read from their form
parameters (and IAM's); query (XML) answers are counted but not checked
(moto's own, no layer writes one). CloudWatch's Smithy RPC v2 CBOR requests
and answers are checked as the JSON requests and answers cbor_layer.py
translates them to and from (the same members and types; the CBOR encoding
itself is checked by the SDK that decodes it).
"""

import re
import threading
from urllib.parse import parse_qs, unquote

import botocore.session

# Errors any AWS JSON-protocol operation may answer, documented or not (the
# common errors of the AWS API references).
COMMON_ERRORS = {
    "AccessDeniedException", "AccessDenied", "ThrottlingException", "Throttling",
    "ThrottlingException", "ValidationException", "ValidationError", "ServiceUnavailable",
    "ServiceUnavailableException", "InternalFailure", "InternalServerError", "ExpiredTokenException",
    "IncompleteSignature", "InvalidClientTokenId", "UnrecognizedClientException", "RequestExpired",
    "NotAuthorized", "MissingAuthenticationToken", "OptInRequired", "MalformedQueryString",
    "InvalidParameterValue", "InvalidParameterCombination", "MissingParameter", "InvalidAction",
}

# Signing names that are not botocore's service names.
SERVICE_NAMES = {"logs": "logs", "ecs": "ecs", "ecr": "ecr", "codedeploy": "codedeploy", "sts": "sts",
                 "ssm": "ssm", "secretsmanager": "secretsmanager", "iam": "iam", "events": "events",
                 "scheduler": "scheduler", "monitoring": "cloudwatch"}

_SESSION = botocore.session.get_session()
_ROUTES = {}


def _routes(service):
    """(method, URI pattern, operation) of a REST service's operations."""
    if service not in _ROUTES:
        model = _SESSION.get_service_model(SERVICE_NAMES[service])
        routes = []
        for name in model.operation_names:
            http = model.operation_model(name).http
            uri = http["requestUri"].partition("?")[0]
            pattern = re.sub(r"\{(\w+)\+\}", r"(?P<\1>.+)", uri)
            pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
            routes.append((http["method"], pattern, name))
        _ROUTES[service] = routes
    return _ROUTES[service]


def rest_operation(service, method, path):
    """The operation a REST-JSON request calls, by its method and path, and
    its URI labels; ("", {}) when none matches."""
    if service not in SERVICE_NAMES or _SESSION.get_service_model(SERVICE_NAMES[service]).protocol != "rest-json":
        return "", {}
    plain = path.partition("?")[0]
    for verb, pattern, name in _routes(service):
        m = re.fullmatch(pattern, plain)
        if verb == method and m:
            return name, {k: unquote(v) for k, v in m.groupdict().items()}
    return "", {}


def rest_params(op, labels, query, body):
    """A REST-JSON request's members, each read where the model puts it."""
    import json

    params = json.loads(body or b"{}")
    asked = parse_qs(query)
    for name, member in op.input_shape.members.items():
        where = member.serialization.get("location")
        said = member.serialization.get("name", name)
        if where == "uri" and said in labels:
            params[name] = labels[said]
        elif where == "querystring" and said in asked:
            values = asked[said]
            if member.type_name == "list":
                params[name] = values
            elif member.type_name in ("integer", "long"):
                params[name] = int(values[0]) if values[0].lstrip("-").isdigit() else values[0]
            else:
                params[name] = values[0]
    return params


class Conformance:
    def __init__(self):
        self.session = _SESSION
        self.models = {}
        self.lock = threading.Lock()
        self.operations = {}
        self.violations = []

    def _operation(self, service, operation):
        name = SERVICE_NAMES.get(service)
        if name is None or not operation:
            return None
        if name not in self.models:
            self.models[name] = self.session.get_service_model(name)
        try:
            return self.models[name].operation_model(operation)
        except Exception:  # noqa: BLE001  (an operation the model lacks is a violation)
            return False

    def _count(self, service, operation, key):
        with self.lock:
            counts = self.operations.setdefault(f"{service}:{operation}", {})
            counts[key] = counts.get(key, 0) + 1

    def _report(self, where, service, operation, problems):
        with self.lock:
            for p in problems:
                self.violations.append(f"{service}:{operation} {where}: {p}")

    def request(self, service, operation, content_type, body, method="POST", path="/", query=""):
        """Checks one request; `body` as sent (JSON, or a query form); a
        REST-JSON one also by its method, path and query string."""
        op = self._operation(service, operation)
        if op is None:
            return
        if op is False:
            self._report("request", service, operation, ["no such operation in the AWS model"])
            return
        self._count(service, operation, "requests")
        if "x-www-form-urlencoded" in content_type:
            params = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()
                      if k not in ("Action", "Version")}
            problems = check_query(op.input_shape, params)
        elif self.models[SERVICE_NAMES[service]].protocol == "rest-json":
            _, labels = rest_operation(service, method, path)
            try:
                params = rest_params(op, labels, query, body)
            except ValueError:
                self._report("request", service, operation, ["the body is not JSON"])
                return
            problems = check(op.input_shape, params, "") if op.input_shape else []
        else:
            import json

            try:
                params = json.loads(body or b"{}")
            except ValueError:
                self._report("request", service, operation, ["the body is not JSON"])
                return
            problems = check(op.input_shape, params, "") if op.input_shape else []
        self._report("request", service, operation, problems)

    def answer(self, service, operation, origin, status, content_type, body):
        """Checks one answer; `origin` is "layer" or "moto"."""
        op = self._operation(service, operation)
        if not op:
            return
        self._count(service, operation, f"{origin} answers")
        if "json" not in content_type:
            return  # query protocol (XML): moto's own, not checked here
        import json

        try:
            doc = json.loads(body or b"{}")
        except ValueError:
            self._report(f"{origin} answer", service, operation, ["the answer is not JSON"])
            return
        if status >= 300:
            code = str(doc.get("__type", "")).split("#")[-1]
            documented = {e.name for e in op.error_shapes} | COMMON_ERRORS
            if code not in documented:
                self._report(f"{origin} answer", service, operation,
                             [f"error {code!r} is not one the operation documents ({', '.join(sorted(e.name for e in op.error_shapes))})"])
            return
        problems = check(op.output_shape, doc, "", output=True) if op.output_shape else []
        self._report(f"{origin} answer", service, operation, problems)

    def state(self):
        with self.lock:
            return {"operations": self.operations, "violations": list(self.violations)}


def check(shape, value, path, output=False):
    """The ways `value` breaks `shape` (JSON protocol), each naming its path."""
    where = path or "(top)"
    if value is None:
        # JSON null for a member: absent (the SDKs read it so; AWS writes none).
        return []
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{where}: a {type(value).__name__} where the model has a structure {shape.name}"]
        problems = []
        for name in value:
            if name not in shape.members and not (output and name == "__type"):
                problems.append(f"{where}: member {name!r} that {shape.name} does not define")
        if not output:
            for name in shape.required_members:
                if value.get(name) is None:
                    problems.append(f"{where}: required member {name!r} is missing")
        for name, member in shape.members.items():
            if name in value:
                problems.extend(check(member, value[name], f"{path}.{name}" if path else name, output))
        return problems
    if kind == "list":
        if not isinstance(value, list):
            return [f"{where}: a {type(value).__name__} where the model has a list"]
        problems = sized(shape, len(value), where, "items")
        for i, item in enumerate(value):
            problems.extend(check(shape.member, item, f"{path}[{i}]", output))
        return problems
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{where}: a {type(value).__name__} where the model has a map"]
        problems = []
        for k, v in value.items():
            problems.extend(check(shape.key, k, f"{path}{{key}}", output))
            problems.extend(check(shape.value, v, f"{path}[{k!r}]", output))
        return problems
    if kind == "string":
        if not isinstance(value, str):
            return [f"{where}: a {type(value).__name__} where the model has a string"]
        problems = sized(shape, len(value), where, "characters")
        if shape.enum and value not in shape.enum:
            problems.append(f"{where}: {value!r} is not one of {shape.name}'s values {shape.enum}")
        return problems
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"{where}: {value!r} where the model has {'an' if kind == 'integer' else 'a'} {kind}"]
        return ranged(shape, value, where)
    if kind in ("double", "float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return [f"{where}: {value!r} where the model has a {kind}"]
        return ranged(shape, value, where)
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{where}: {value!r} where the model has a boolean"]
    if kind == "timestamp":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return [f"{where}: {value!r} where the model has a timestamp (epoch seconds in JSON)"]
        return []
    if kind == "blob":
        return [] if isinstance(value, str) else [f"{where}: {value!r} where the model has a blob (base64)"]
    return []


def bounded(shape, n, where, said):
    """`n` (a count, or a number) against the shape's `min` and `max`;
    `said` words it: (what n is, "fewer than"/"below", "more than"/"above")."""
    meta = shape.metadata
    what, low, high = said
    problems = []
    if "min" in meta and n < meta["min"]:
        problems.append(f"{where}: {what} {low} the model's minimum {meta['min']}")
    if "max" in meta and n > meta["max"]:
        problems.append(f"{where}: {what} {high} the model's maximum {meta['max']}")
    return problems


def sized(shape, n, where, unit):
    return bounded(shape, n, where, (f"{n} {unit},", "fewer than", "more than"))


def ranged(shape, v, where):
    return bounded(shape, v, where, (f"{v} is", "below", "above"))


def check_query(shape, params):
    """A query-protocol request of scalar members (STS's): names, required
    members, lengths, ranges."""
    problems = []
    for name in params:
        if name not in shape.members:
            problems.append(f"member {name!r} that {shape.name} does not define")
    for name in shape.required_members:
        if name not in params:
            problems.append(f"required member {name!r} is missing")
    for name, member in shape.members.items():
        if name not in params:
            continue
        raw = params[name]
        if member.type_name in ("integer", "long"):
            try:
                problems.extend(ranged(member, int(raw), name))
            except ValueError:
                problems.append(f"{name}: {raw!r} where the model has an {member.type_name}")
        elif member.type_name == "string":
            problems.extend(sized(member, len(raw), name, "characters"))
            if member.enum and raw not in member.enum:
                problems.append(f"{name}: {raw!r} is not one of {member.enum}")
    return problems


def self_test():
    """The checks can fail: each known violation is found, a conformant
    request and answer pass (run by tests/run before the suites)."""
    c = Conformance()
    ecs = "application/x-amz-json-1.1"
    register = {"family": "web", "containerDefinitions": [{"name": "web", "image": "web:1",
                                                           "portMappings": [{"containerPort": 8080}]}]}
    c.request("ecs", "RegisterTaskDefinition", ecs, json_bytes(register))
    c.answer("ecs", "ContinueServiceDeployment", "layer", 200, ecs, json_bytes({"serviceDeploymentArn": "arn"}))
    assert c.state()["violations"] == [], c.state()
    bad = {"family": "web", "containerDefinitions": [{"name": "web", "image": "web:1",
                                                      "portMappings": [{"containerPort": "8080"}]}],
           "networkMode": "bridged", "invented": 1}
    c.request("ecs", "RegisterTaskDefinition", ecs, json_bytes(bad))
    c.request("ecs", "UpdateService", ecs, json_bytes({"cluster": "prod"}))
    c.answer("ecs", "DescribeServiceDeployments", "layer", 200, ecs,
             json_bytes({"serviceDeployments": [{"status": "DONE", "lifecycleStage": "SCALE_UP", "invented": True}]}))
    c.answer("ecs", "ContinueServiceDeployment", "layer", 400, ecs, json_bytes({"__type": "ConflictException"}))
    c.answer("logs", "GetLogEvents", "moto", 200, ecs, json_bytes({"events": [{"timestamp": "yesterday"}]}))
    c.answer("ssm", "GetParameters", "moto", 200, ecs, json_bytes({"Parameters": [], "InvalidParameters": []}))
    c.request("sts", "AssumeRoleWithWebIdentity", "application/x-www-form-urlencoded",
              b"Action=AssumeRoleWithWebIdentity&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr&DurationSeconds=60")
    found = "\n".join(c.state()["violations"])
    for expected in [
        "ecs:RegisterTaskDefinition request: containerDefinitions[0].portMappings[0].containerPort: '8080' where the model has an integer",
        "ecs:RegisterTaskDefinition request: networkMode: 'bridged' is not one of NetworkMode's values",
        "ecs:RegisterTaskDefinition request: (top): member 'invented' that RegisterTaskDefinitionRequest does not define",
        "ecs:UpdateService request: (top): required member 'service' is missing",
        "ecs:DescribeServiceDeployments layer answer: serviceDeployments[0].status: 'DONE' is not one of",
        "ecs:DescribeServiceDeployments layer answer: serviceDeployments[0]: member 'invented'",
        "ecs:ContinueServiceDeployment layer answer: error 'ConflictException' is not one the operation documents",
        "logs:GetLogEvents moto answer: events[0].timestamp: 'yesterday' where the model has a long",
        "ssm:GetParameters moto answer: InvalidParameters: 0 items, fewer than the model's minimum 1",
        "sts:AssumeRoleWithWebIdentity request: required member 'WebIdentityToken' is missing",
        "sts:AssumeRoleWithWebIdentity request: DurationSeconds: 60 is below the model's minimum 900",
    ]:
        assert expected in found, f"not found: {expected}\nin:\n{found}"
    print(f"conformance self-test: {len(c.state()['violations'])} planted violations found, a conformant request and answer passed")


def json_bytes(doc):
    import json

    return json.dumps(doc).encode()


if __name__ == "__main__":
    self_test()
