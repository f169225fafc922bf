"""A loopback proxy in front of the emulator: a fixed round-trip time per call,
and a count of the calls by operation.

Used by the benchmark (tests/bench/bench.py). Real AWS answers in tens of
milliseconds; the emulator on loopback in one or two. The proxy holds every
request for ``delay`` seconds before forwarding it, so a run pays what a run
against AWS pays per serial round trip, and records each call as
``(service:Operation, start, upstream seconds)`` so the benchmark can count
calls per operation and the emulator's own service time.

An operation is named as the emulator's request log names it: the service
from the SigV4 credential scope (or ``sts`` for the unsigned
AssumeRoleWithWebIdentity), the operation from ``X-Amz-Target`` or the
``Action`` form parameter; the GitHub OIDC token endpoint is ``github:OIDCToken``.
"""

import http.client
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


def operation(path, headers, body):
    if path.startswith("/_fd/oidc"):
        return "github:OIDCToken"
    auth = headers.get("Authorization", "")
    scope = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", auth)
    service = scope.group(1) if scope else ""
    target = headers.get("X-Amz-Target")
    if target:
        return f"{service or '?'}:{target.split('.')[-1]}"
    if body:
        action = parse_qs(body.decode("utf-8", "replace")).get("Action")
        if action:
            return f"{service or 'sts'}:{action[0]}"
    return f"{service or '?'}:{path}"


class Proxy:
    def __init__(self, upstream_port, delay=0.0):
        self.upstream_port = upstream_port
        self.delay = delay
        self.lock = threading.Lock()
        self.calls = []  # (operation, start monotonic, upstream seconds)
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
                op = operation(self.path, self.headers, body)
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

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def reset(self):
        with self.lock:
            self.calls = []

    def snapshot(self):
        with self.lock:
            return list(self.calls)

    def close(self):
        self.server.shutdown()
