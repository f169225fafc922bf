"""The Smithy RPC v2 CBOR protocol, which moto does not speak, translated to
the JSON protocol moto does.

CloudWatch's service model lists ``smithy-rpc-v2-cbor`` first among its
protocols (``["smithy-rpc-v2-cbor", "json", "query"]``), and the AWS SDK for
Rust speaks it; moto 5.2.5 answers CloudWatch in JSON and query only. The
protocol, as Smithy specifies it
(https://smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html):

* a request is ``POST /service/{ServiceName}/operation/{OperationName}``
  and MUST carry ``smithy-protocol: rpc-v2-cbor``; its body, when there is
  one, is a CBOR map with ``Content-Type: application/cbor``;
* an answer carries ``smithy-protocol: rpc-v2-cbor`` and a CBOR body; an
  error's map names its shape in ``__type``;
* timestamps are tag 1 (epoch seconds, an integer or a float), blobs are
  byte strings, doubles are floats.

This layer turns such a request into the JSON protocol's (``X-Amz-Target:
{ServiceName}.{OperationName}``, ``application/x-amz-json-1.0``) before the
emulator names, logs, checks (conformance.py) and dispatches it, and turns
the JSON answer back into CBOR, member by member as the operation's output
shape types it. A request without the ``smithy-protocol`` header, or one
not to ``POST``, is refused as a server following the specification does.
"""

import base64
import datetime
import json
import re

import botocore.session
import cbor2

PATH = re.compile(r"^/service/([^/]+)/operation/([^/]+)$")
_SESSION = botocore.session.get_session()
# Services whose model lists the CBOR protocol: the service shape's name
# (the URI's ``ServiceName``, the JSON protocol's target prefix) → botocore's name.
SERVICES = {"GraniteServiceVersion20100801": "cloudwatch"}


class Translated:
    """A CBOR request, and the JSON request it became."""

    def __init__(self, service, operation, body):
        self.service, self.operation, self.body = service, operation, body

    def answer(self, status, headers, data):
        """The JSON answer (status, headers, body) as the CBOR protocol's."""
        doc = json.loads(data) if data else {}
        if status < 300:
            model = _SESSION.get_service_model(SERVICES[self.service])
            shape = model.operation_model(self.operation).output_shape
            doc = _to_cbor(doc, shape) if shape is not None else {}
        else:
            doc = {k: v for k, v in doc.items() if k in ("__type", "message", "Message")}
        data = cbor2.dumps(doc)
        keep = [(k, v) for k, v in headers if k.lower() not in ("content-type", "content-length")]
        return keep + [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor"),
                       ("Content-Length", str(len(data)))], data


def request(environ, body):
    """``None`` for a request of another protocol; a refusal ``(status,
    message)`` for a CBOR request the specification does not allow; else the
    :class:`Translated` request, with ``environ`` rewritten to the JSON one."""
    found = PATH.match(environ.get("PATH_INFO", ""))
    if not found or found.group(1) not in SERVICES:
        return None
    if environ.get("REQUEST_METHOD") != "POST":
        return 405, "the rpc-v2-cbor protocol only accepts POST"
    if environ.get("HTTP_SMITHY_PROTOCOL") != "rpc-v2-cbor":
        return 400, "a request must carry the header smithy-protocol: rpc-v2-cbor"
    if body and environ.get("CONTENT_TYPE") != "application/cbor":
        return 400, "a request body must be sent as Content-Type: application/cbor"
    service, operation = found.groups()
    doc = cbor2.loads(body) if body else {}
    data = json.dumps(_to_json(doc)).encode()
    environ.update({"PATH_INFO": "/", "HTTP_X_AMZ_TARGET": f"{service}.{operation}",
                    "CONTENT_TYPE": "application/x-amz-json-1.0", "CONTENT_LENGTH": str(len(data))})
    return Translated(service, operation, data)


def refusal(status, message):
    """A refused request's answer, in CBOR."""
    data = cbor2.dumps({"__type": "SerializationException" if status == 400 else "UnknownOperationException",
                        "message": message})
    return status, [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor"),
                    ("Content-Length", str(len(data)))], data


def _to_json(value):
    """A decoded CBOR value as the JSON protocol writes it: timestamps as
    epoch seconds, blobs as base64."""
    if isinstance(value, dict):
        return {k: _to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_json(v) for v in value]
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, cbor2.CBORTag) and value.tag == 1:
        return value.value
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def _to_cbor(value, shape):
    """A JSON answer's value as CBOR writes the member ``shape`` types."""
    kind = shape.type_name
    if value is None:
        return None
    if kind == "structure":
        return {k: _to_cbor(v, shape.members[k]) for k, v in value.items() if k in shape.members and v is not None}
    if kind == "list":
        return [_to_cbor(v, shape.member) for v in value]
    if kind == "map":
        return {k: _to_cbor(v, shape.value) for k, v in value.items()}
    if kind == "timestamp":
        if isinstance(value, str):
            value = datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        return cbor2.CBORTag(1, float(value))
    if kind == "blob":
        return base64.b64decode(value)
    if kind in ("double", "float"):
        return float(value)
    return value
