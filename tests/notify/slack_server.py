"""A local HTTP server standing in for the Slack Web API (``SLACK_API_URL`` points here): records every call and
answers like Slack (``chat.postMessage``, ``chat.update``, ``users.info``)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Call:
    method: str
    authorization: str
    body: dict[str, Any]


@dataclass
class FakeSlack:
    url: str = ""
    calls: list[Call] = field(default_factory=list)
    emails: dict[str, str] = field(default_factory=dict)  # Slack user id → verified e-mail

    def named(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]


@contextmanager
def fake_slack() -> Iterator[FakeSlack]:
    state = FakeSlack()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _record(self, body: dict[str, Any]) -> str:
            method = urlsplit(self.path).path.rsplit("/", 1)[-1]
            with lock:
                state.calls.append(Call(method, self.headers.get("Authorization", ""), body))
            return method

        def do_GET(self) -> None:
            self._users_info({k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()})

        def _users_info(self, query: dict[str, Any]) -> None:
            method = self._record(query)
            if method == "users.info":
                email = state.emails.get(query.get("user", ""))
                if email is None:
                    self._answer({"ok": False, "error": "user_not_found"})
                else:
                    self._answer({"ok": True, "user": {"id": query["user"], "profile": {"email": email}}})
                return
            self._answer({"ok": False, "error": "unknown_method"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode()
            try:
                body = json.loads(raw)
            except ValueError:
                body = {k: v[0] for k, v in parse_qs(raw).items()}
            if self.path.endswith("/users.info"):
                self._users_info({**body, **{k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}})
                return
            method = self._record(body)
            if method in ("chat.postMessage", "chat.update"):
                self._answer({"ok": True, "channel": "C0APPROVALS", "ts": body.get("ts") or "1700000000.000100"})
                return
            self._answer({"ok": False, "error": "unknown_method"})

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/api/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
