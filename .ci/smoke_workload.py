"""Mixed workload against a running `manage.py run` stack, for `.ci/smoke` (issue 18).

For ``SMOKE_SECONDS`` it keeps starting workflows of two shapes — a PARALLEL fan-out with a join and a WAIT,
and a high-risk e-mail step that needs approval — while a second API key (a reviewer, not the requester) decides
every pending approval (approve, or reject with ``on_reject: skip``), a webhook endpoint on 127.0.0.1 receives
every event, and the audit log is exported now and then. Afterwards every run must reach COMPLETED, every
``workflow.completed`` event must reach the receiver, and the export must be non-empty. Exit code 0 only then.

The load is closed-loop: at most ``SMOKE_INFLIGHT`` runs (default 6) are unfinished at a time, and no new run
starts while more than that many finished runs still wait for their ``workflow.completed`` webhook. So the stack
stays busy without a backlog that only grows on a slow machine, and the end-state check stays meaningful.

Usage: python .ci/smoke_workload.py BASE_URL REQUESTER_KEY REVIEWER_KEY (env SMOKE_SECONDS, default 180).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

DURATION = float(os.environ.get("SMOKE_SECONDS", "180"))
SETTLE = float(os.environ.get("SMOKE_SETTLE_SECONDS", "180"))
INFLIGHT = int(os.environ.get("SMOKE_INFLIGHT", "6"))
TERMINAL = {"COMPLETED", "FAILED", "CANCELLED"}


class Receiver(BaseHTTPRequestHandler):
    """Webhook endpoint: records each message's type by its ``webhook-id`` (retries carry the same id)."""

    seen: dict[str, str] = {}
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        with self.lock:
            self.seen[self.headers.get("webhook-id", "")] = json.loads(body).get("type", "")
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Api:
    """A tiny client that retries on 429/503 (throttling, a busy SQLite) and fails loudly on anything else."""

    def __init__(self, base: str, key: str) -> None:
        self.base = base.rstrip("/") + "/api/v1"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {key}"

    def call(self, method: str, path: str, expect: tuple[int, ...] = (200, 201), **kwargs: Any) -> Any:
        for _ in range(50):
            response = self.session.request(method, self.base + path, timeout=30, **kwargs)
            if response.status_code in (429, 503):
                time.sleep(float(response.headers.get("Retry-After") or 0.5))  # the server's own back-off
                continue
            if response.status_code not in expect:
                raise AssertionError(f"{method} {path}: {response.status_code} {response.text[:500]}")
            return response
        raise AssertionError(f"{method} {path}: still throttled after 50 tries")


def parallel_workflow(n: int) -> dict[str, Any]:
    return {
        "name": f"smoke parallel {n}",
        "start": True,
        "nodes": [
            {"key": "fetch", "type": "TASK", "action": {"tool": "echo", "params": {"n": n}}},
            {"key": "fanout", "type": "PARALLEL", "depends_on": ["fetch"], "branches": ["a", "b", "c"]},
            {"key": "a", "type": "TASK", "depends_on": ["fanout"], "action": {"tool": "noop", "params": {}}},
            {"key": "b", "type": "TASK", "depends_on": ["fanout"], "action": {"tool": "echo", "params": {"b": 1}}},
            {"key": "c", "type": "WAIT", "depends_on": ["fanout"], "wait": {"seconds": 2}},
            {"key": "join", "type": "TASK", "depends_on": ["a", "b", "c"], "action": {"tool": "noop", "params": {}}},
        ],
    }


def approval_workflow(n: int) -> dict[str, Any]:
    return {
        "name": f"smoke approval {n}",
        "start": True,
        "nodes": [
            {"key": "prepare", "type": "TASK", "action": {"tool": "noop", "params": {}}},
            {
                "key": "send",
                "type": "TASK",
                "depends_on": ["prepare"],
                "on_reject": "skip",
                "action": {
                    "tool": "email.send",
                    "params": {"to": f"smoke{n}@example.com", "subject": f"smoke {n}", "body": "hello"},
                },
            },
            {"key": "after", "type": "TASK", "depends_on": ["prepare"], "action": {"tool": "noop", "params": {}}},
        ],
    }


def decide_forever(reviewer: Api, stop: threading.Event, decided: Counter[str]) -> None:
    """The scripted reviewer: approve two of three pending approvals, reject the third (with a reason)."""
    while not stop.is_set():
        for approval in reviewer.call("GET", "/approvals?status=PENDING").json()["results"]:
            verb = "reject" if decided["total"] % 3 == 2 else "approve"
            response = reviewer.call(
                "POST", f"/approvals/{approval['id']}/{verb}", expect=(200, 409), json={"reason": "smoke"}
            )
            if response.status_code == 200:
                decided[verb] += 1
                decided["total"] += 1
        stop.wait(0.5)  # the reviewer's polling interval


def main() -> int:
    base, requester_key, reviewer_key = sys.argv[1:4]
    api, reviewer = Api(base, requester_key), Api(base, reviewer_key)
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    api.call("POST", "/webhooks", json={"url": f"http://127.0.0.1:{receiver.server_port}/hook", "events": ["*"]})

    stop = threading.Event()
    decided: Counter[str] = Counter()
    decider = threading.Thread(target=decide_forever, args=(reviewer, stop, decided), daemon=True)
    decider.start()
    runs: list[str] = []
    finished: dict[str, str] = {}
    exports = 0
    started = time.monotonic()
    n = 0

    def completed_events() -> int:
        with Receiver.lock:
            return sum(1 for kind in Receiver.seen.values() if kind == "workflow.completed")

    def refresh() -> int:
        """Record newly finished runs; return how many are still unfinished."""
        for run in runs:
            if run not in finished:
                status = api.call("GET", f"/workflows/{run}").json()["status"]
                if status in TERMINAL:
                    finished[run] = status
        return len(runs) - len(finished)

    while time.monotonic() - started < DURATION:
        if refresh() >= INFLIGHT or len(finished) - completed_events() > INFLIGHT:
            time.sleep(0.5)  # closed loop: wait for the stack to catch up (bounded by DURATION)
            continue
        for body in (parallel_workflow(n), parallel_workflow(n + 1), approval_workflow(n)):
            runs.append(api.call("POST", "/workflows", json=body).json()["id"])
        n += 2
        if n % 20 == 0:
            export = api.call("GET", "/audit/export?format=csv")
            assert export.text.count("\n") > 1, "audit export is empty"
            exports += 1

    deadline = time.monotonic() + SETTLE
    while refresh() and time.monotonic() < deadline:
        time.sleep(2)  # polling interval, bounded by the deadline
    statuses = Counter(finished.values())
    stop.set()
    decider.join(timeout=30)
    while completed_events() < len(runs) and time.monotonic() < deadline:
        time.sleep(1)  # polling interval, bounded by the deadline
    export = api.call("GET", "/audit/export?format=csv")
    exports += 1
    figures = {
        "seconds": round(time.monotonic() - started),
        "runs": len(runs),
        "statuses": dict(statuses),
        "decisions": {k: v for k, v in decided.items() if k != "total"},
        "webhook_messages": len(Receiver.seen),
        "workflow_completed_events": completed_events(),
        "audit_exports": exports,
        "audit_rows_last_export": export.text.count("\n") - 1,
    }
    print("smoke workload:", json.dumps(figures))
    ok = statuses["COMPLETED"] == len(runs) and completed_events() >= len(runs) and decided["total"] > 0
    if not ok:
        print("smoke workload: FAILED (runs not all COMPLETED, events missing, or no decisions)", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
