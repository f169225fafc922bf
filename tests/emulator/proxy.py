"""A loopback proxy in front of the emulator: a fixed round-trip time per call,
and a count of the calls by operation.

Used by the benchmark (tests/bench/bench.py). Real AWS answers in tens of
milliseconds; the emulator on loopback in one or two. The proxy holds every
request for ``delay`` seconds before forwarding it, so a run pays what a run
against AWS pays per serial round trip, and records each call as
``(service:Operation, start, upstream seconds)`` so the benchmark can count
calls per operation and the emulator's own service time.

An operation is named as the emulator's request log names it (fdemu.py's
``Layer._describe``); the GitHub OIDC token endpoint is ``github:OIDCToken``.

Fault injection (the fault suite, tests/faults.rs): ``faults`` maps an
operation (``ecs:DescribeTasks``) or ``*`` to a list of faults, used up in
order, one per matching call: ``"throttle"`` (HTTP 400 ThrottlingException,
as AWS JSON services answer), ``"500"`` / ``"503"`` (InternalFailure /
ServiceUnavailable), ``"expired"`` (ExpiredTokenException, as for
credentials that ran out), ``"reset"`` (the connection is closed without an
answer), ``"stall:S"`` (the answer is held S seconds) and ``"denied:TEXT"``
(AccessDeniedException with TEXT as its message). ``injected``
counts what was injected, by kind.
"""

import json
import re
import socket
import struct

import http.client
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from fdemu import Layer  # beside this file: one way to name a request
from github_layer import PREFIX, ROUTES  # noqa: E402

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


def operation(path, headers, body, method="POST"):
    """The request's ``service:Operation``, named as the emulator's request log names it."""
    if path.startswith("/_fd/oidc"):
        return "github:OIDCToken"
    if path.startswith(PREFIX + "/"):
        # The GitHub REST API mock: its operationId (github_layer.ROUTES).
        plain = path[len(PREFIX):].partition("?")[0]
        op = next((op for verb, pattern, op in ROUTES if verb == method and re.fullmatch(pattern, plain)), plain)
        return f"github:{op}"
    environ = {
        "HTTP_AUTHORIZATION": headers.get("Authorization", ""),
        "HTTP_X_AMZ_TARGET": headers.get("X-Amz-Target", ""),
        "QUERY_STRING": path.partition("?")[2],
        "CONTENT_TYPE": headers.get("Content-Type", ""),
        "REQUEST_METHOD": method,
        "PATH_INFO": path.partition("?")[0],
    }
    call = Layer._describe(environ, body)
    return f"{call['service']}:{call['operation'] or path}"


class Proxy:
    def __init__(self, upstream_port, delay=0.0):
        self.upstream_port = upstream_port
        self.delay = delay
        self.lock = threading.Lock()
        self.calls = []  # (operation, start monotonic, upstream seconds)
        self.faults = {}  # operation or "*" → [fault, …]
        self.injected = {}
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # One write per answer and no Nagle: otherwise a header write and a
            # body write meet the client's delayed ACK and add ~40 ms per call.
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                op = operation(self.path, self.headers, body, self.command)
                fault = proxy.take_fault(op)
                if fault and self._inject(fault):
                    return
                start = time.monotonic()
                if proxy.delay:
                    time.sleep(proxy.delay)
                conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                t0 = time.monotonic()
                conn.request(self.command, self.path, body=body, headers=headers)
                answer = conn.getresponse()
                data = answer.read()
                upstream = time.monotonic() - t0
                conn.close()
                with proxy.lock:
                    proxy.calls.append((op, start, upstream))
                head = [f"HTTP/1.1 {answer.status} {answer.reason}"]
                head += [f"{k}: {v}" for k, v in answer.getheaders()
                         if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"]
                head.append(f"Content-Length: {len(data)}")
                self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + data)

            def _inject(self, fault):
                """Answers with the fault; False when the call goes on (a stall)."""
                if fault.startswith("stall:"):
                    time.sleep(float(fault.split(":", 1)[1]))
                    return False
                if fault == "reset":
                    # RST instead of FIN: the client sees a connection reset.
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    self.connection.close()
                    return True
                if fault.startswith("denied:"):
                    # AccessDenied with a message of the test's choosing (AWS
                    # messages quote ARNs, names and policy text).
                    status, kind, message = 400, "AccessDeniedException", fault.split(":", 1)[1]
                    data = json.dumps({"__type": kind, "message": message}).encode()
                    head = (f"HTTP/1.1 {status} {kind}\r\nContent-Type: application/x-amz-json-1.1\r\n"
                            f"x-amzn-ErrorType: {kind}\r\nContent-Length: {len(data)}\r\n\r\n")
                    self.wfile.write(head.encode() + data)
                    return True
                status, kind, message = {
                    "throttle": (400, "ThrottlingException", "Rate exceeded"),
                    "500": (500, "InternalFailure", "We encountered an internal error. Please try again."),
                    "503": (503, "ServiceUnavailable", "Service is unavailable. Please try again."),
                    "expired": (400, "ExpiredTokenException", "The security token included in the request is expired"),
                }[fault]
                data = json.dumps({"__type": kind, "message": message}).encode()
                head = (f"HTTP/1.1 {status} {kind}\r\nContent-Type: application/x-amz-json-1.1\r\n"
                        f"x-amzn-ErrorType: {kind}\r\nContent-Length: {len(data)}\r\n\r\n")
                self.wfile.write(head.encode() + data)
                return True

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def take_fault(self, op):
        with self.lock:
            for key in (op, "*"):
                plan = self.faults.get(key)
                if plan:
                    fault = plan.pop(0)
                    kind = fault.split(":")[0]
                    self.injected[kind] = self.injected.get(kind, 0) + 1
                    return fault
        return None

    def reset(self):
        with self.lock:
            self.calls = []

    def snapshot(self):
        with self.lock:
            return list(self.calls)

    def close(self):
        self.server.shutdown()
