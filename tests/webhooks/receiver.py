"""A real HTTP webhook receiver on 127.0.0.1 for tests, and an independent Standard Webhooks verifier.

The verifier deliberately does not import ``webhooks.signing``: it checks what the receiver actually got against
the specification, so a bug shared by signer and verifier cannot hide.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class InvalidSignature(Exception):
    pass


def verify(
    headers: dict[str, str], body: bytes, secret: str, *, now: float | None = None, tolerance: int = 300
) -> None:
    """Raise ``InvalidSignature`` unless one ``v1`` signature in ``webhook-signature`` matches ``secret``."""
    try:
        msg_id = headers["webhook-id"]
        timestamp = headers["webhook-timestamp"]
        signatures = headers["webhook-signature"]
    except KeyError as exc:
        raise InvalidSignature(f"missing header {exc}") from exc
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        raise InvalidSignature("timestamp outside tolerance")
    key = base64.b64decode(secret[len("whsec_") :] if secret.startswith("whsec_") else secret)
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for candidate in signatures.split(" "):
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected.encode()):
            return
    raise InvalidSignature("no matching signature")


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    hang: bool = False  # wait (up to 30 s) until Receiver.release() before answering


class Receiver:
    """``with Receiver() as r``: ``r.url``, ``r.replies`` (answered in order, then ``r.default``), ``r.received``."""

    def __init__(self, default: Reply | None = None, on_request: Callable[[Received], None] | None = None) -> None:
        self.default = default or Reply()
        self.replies: list[Reply] = []
        self.routes: dict[str, Reply] = {}  # path → the reply every request to it gets (before ``replies``)
        self.connections = 0  # TCP connections accepted (keep-alive reuse shows as fewer than requests)
        self.received: list[Received] = []
        self.on_request = on_request
        self._lock = threading.Condition()
        self._release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                with receiver._lock:
                    receiver.connections += 1
                super().setup()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                item = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.time())
                with receiver._lock:
                    receiver.received.append(item)
                    reply = receiver.routes.get(self.path) or (
                        receiver.replies.pop(0) if receiver.replies else receiver.default
                    )
                    receiver._lock.notify_all()
                if receiver.on_request:
                    receiver.on_request(item)
                if reply.hang:
                    receiver._release.wait(30)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:
                    pass  # the client gave up (timeout) or died

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()

    def release(self) -> None:
        self._release.set()

    def wait_until(self, predicate: Callable[[list[Received]], bool], timeout: float = 10.0) -> list[Received]:
        """Poll (with a deadline) until ``predicate(received)`` holds."""
        with self._lock:
            if not self._lock.wait_for(lambda: predicate(self.received), timeout):
                raise AssertionError(f"condition not met; received {len(self.received)} request(s)")
            return list(self.received)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Poll (with a deadline) until ``count`` requests arrived."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self.received) >= count, timeout):
                raise AssertionError(f"expected {count} request(s), got {len(self.received)}")
            return list(self.received)
