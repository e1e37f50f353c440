"""Chaos: crash recovery finishes the work, exactly once, within a minute (issue 24).

40 workflows (``prep`` echo → ``send`` an approved HTTP POST to a receiver on 127.0.0.1 that counts executions →
``done``), no declared retries. All 40 are approved over HTTP by a reviewer key while the worker's pool processes
are SIGKILLed, then the whole stack (web, worker, beat) is SIGKILLed and started again. Promises: every action
executed exactly once, every run COMPLETED, the last one within 60 s of the restart.

What brings the work back (orchestrator/recovery.py): attempts whose message died with a worker or the broker
connection are re-published (queued longer than ``NODE_REDISPATCH_SECONDS``, or held by a worker whose heartbeat
stopped), under the same approval; idempotent steps a dead worker had started are retried on their own budget.

Each kill waits for a moment when no approved action is between its claim and its recorded result (nothing in
flight at the receiver, no IN_PROGRESS claim): a kill inside that window is the case recovery must *not* repeat
(the operator resolves it), which tests/orchestrator/test_recovery.py covers.

Two stacks: PostgreSQL + Redis (the chaos servers of this folder, local executor) and the embedded default
(SQLite + filesystem broker under ``manage.py run``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from tests.chaos.servers import ROOT, PrivatePostgres, PrivateRedis, Stack, TaskController, free_port, poll

pytestmark = [pytest.mark.chaos, pytest.mark.slow, pytest.mark.e2e]

WORKFLOWS = 40
RESTART_BUDGET_S = 60.0


class CountingReceiver:
    """Counts the POSTs per path (``/hit/<i>``) and how many are being answered right now."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.in_flight = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                with receiver.lock:
                    receiver.in_flight += 1
                try:
                    self.rfile.read(int(self.headers.get("Content-Length") or 0))
                    with receiver.lock:
                        receiver.hits[self.path] += 1
                    body = json.dumps({"ok": True}).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                finally:
                    with receiver.lock:
                        receiver.in_flight -= 1

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def executed(self) -> int:
        with self.lock:
            return sum(self.hits.values())

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Target:
    """One stack under test: how to start, kill and observe it."""

    base_url: str
    requester: str
    reviewer: str

    def sql_scalar(self, query: str) -> Any:
        raise NotImplementedError

    def worker_pid(self) -> int:
        raise NotImplementedError

    def kill_all(self) -> None:
        raise NotImplementedError

    def kill_pool_processes(self) -> int:
        pool = _children(self.worker_pid())
        for pid in pool:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return len(pool)

    def start_all(self) -> None:
        raise NotImplementedError

    def logs(self) -> str:
        raise NotImplementedError


def _children(pid: int) -> list[int]:
    with contextlib.suppress(OSError):
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return []


def _manage(env: dict[str, str], *args: str) -> str:
    out = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True,
                         text=True, timeout=300)  # fmt: skip
    return out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""


KEYS_SCRIPT = """
from orchestrator import services
tenant, _ = services.ensure_tenant(slug="recovery", name="recovery")
for name, scopes in (("requester", ["workflows", "approvals:request"]),
                     ("reviewer", ["approvals:decide", "approvals:request"])):
    print(services.create_api_key(tenant=tenant, name=name, scopes=scopes)[1])
"""


def _keys(env: dict[str, str]) -> tuple[str, str]:
    """A tenant with a requester and a reviewer key (one Django start-up: the machine is small)."""
    out = subprocess.run([sys.executable, "manage.py", "shell", "-c", KEYS_SCRIPT], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    requester, reviewer = out.stdout.strip().splitlines()[-2:]
    return requester, reviewer


class PostgresRedis(Target):
    """The chaos servers of this folder: private PostgreSQL and Redis, gunicorn, one Celery worker, beat."""

    def __init__(self, workdir: Path) -> None:
        self.pg = PrivatePostgres()
        self.redis = PrivateRedis(workdir)
        self.controller = TaskController()  # unused (local executor); the Stack wants one
        self.pg.start()
        self.pg.psql("CREATE DATABASE orchestrator")
        self.redis.start()
        self.stack = Stack(workdir, self.pg, self.redis, self.controller)
        self.stack.env.update({"EXECUTOR_BACKEND": "local", "NODE_LEASE_SECONDS": "30",
                               "NODE_DISPATCH_TIMEOUT_SECONDS": "600"})  # fmt: skip
        self.stack.env.pop("TASK_CONTROLLER_URL", None)
        del self.stack.commands["worker-b"]  # one worker (2 pool processes): the machine is small
        self.base_url = self.stack.base_url
        self.stack.manage("migrate", "--noinput", "-v0")
        self.requester, self.reviewer = _keys(self.stack.env)

    def sql_scalar(self, query: str) -> Any:
        with psycopg.connect(self.pg.url, connect_timeout=5) as conn:
            row = conn.execute(query).fetchone()
            return row[0] if row else None

    def worker_pid(self) -> int:
        return self.stack.processes["worker-a"].pid

    def kill_all(self) -> None:
        processes = list(self.stack.processes.values())
        for process in processes:  # all at once: nothing goes on working while the others die
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        for process in processes:
            process.wait(timeout=30)
        self.stack.processes.clear()

    def start_all(self) -> None:
        self.stack.start_all()

    def logs(self) -> str:
        return self.stack.logs()

    def close(self) -> None:
        self.stack.stop_all()
        self.controller.close()
        self.redis.kill()
        self.pg.destroy()


class Embedded(Target):
    """``manage.py run`` on the embedded default: SQLite and the filesystem broker under its own DATA_DIR."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER",
                                 "CONSOLE_BASE_URL", "PROMETHEUS_MULTIPROC_DIR")}  # fmt: skip
        self.env.update({"DATA_DIR": str(workdir), "DJANGO_SETTINGS_MODULE": "orchestrator.settings",
                         "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true", "LOG_LEVEL": "WARNING"})  # fmt: skip
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "run.log"
        self.process: subprocess.Popen[bytes] | None = None
        _manage(self.env, "migrate", "--noinput", "-v0")
        self.requester, self.reviewer = _keys(self.env)

    def sql_scalar(self, query: str) -> Any:
        with contextlib.closing(sqlite3.connect(self.workdir / "orchestrator.sqlite3", timeout=10)) as conn:
            row = conn.execute(query).fetchone()
            return row[0] if row else None

    def worker_pid(self) -> int:
        return int(re.findall(r"run: started worker pid=(\d+)", self.log.read_text())[-1])

    def kill_all(self) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # the supervisor and every child: no clean exit anywhere
        self.process.wait(timeout=30)
        self.process = None

    def start_all(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "run", "--port", str(self.port), "--web-workers", "1",
                 "--concurrency", "2"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        poll(lambda: requests.get(f"{self.base_url}/api/v1/health/live", timeout=2).ok, 90, "manage.py run")

    def logs(self) -> str:
        return self.log.read_text()[-6000:]

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture(params=["postgres_redis", "embedded"])
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    workdir = Path(tempfile.mkdtemp(prefix="recovery-chaos-"))
    made: PostgresRedis | Embedded | None = None
    try:
        if request.param == "postgres_redis":
            if shutil.which("redis-server") is None:
                pytest.skip("needs redis-server")
            made = PostgresRedis(workdir)
        else:
            made = Embedded(workdir)
        made.start_all()
        yield made
    finally:
        if made is not None:
            made.close()
        shutil.rmtree(workdir, ignore_errors=True)


def _workflow(index: int, receiver: CountingReceiver) -> dict[str, Any]:
    send = {"tool": "http.request", "params": {"method": "POST", "url": f"{receiver.url}/hit/{index}",
                                               "json": {"i": index}}}  # fmt: skip
    return {
        "name": f"recovery-{index}",
        "start": True,
        "nodes": [
            {"key": "prep", "type": "TASK", "action": {"tool": "echo", "params": {"i": index}}},
            {"key": "send", "type": "TASK", "depends_on": ["prep"], "action": send},
            {"key": "done", "type": "TASK", "depends_on": ["send"], "action": {"tool": "noop", "params": {}}},
        ],
    }


def _approve_pending(target: Target, limit: int | None = None) -> int:
    """Approve up to ``limit`` pending approvals over HTTP as the reviewer; returns how many were approved."""
    headers = {"Authorization": f"Bearer {target.reviewer}"}
    listed = requests.get(f"{target.base_url}/api/v1/approvals", params={"status": "PENDING", "limit": 200},
                          headers=headers, timeout=15)  # fmt: skip
    if listed.status_code != 200:
        return 0
    pending = [a["id"] for a in listed.json()["results"]][:limit]

    def approve(approval_id: str) -> bool:
        with contextlib.suppress(requests.RequestException):
            answer = requests.post(f"{target.base_url}/api/v1/approvals/{approval_id}/approve",
                                   json={"reason": "ok"}, timeout=15,
                                   headers={**headers, "Idempotency-Key": approval_id})  # fmt: skip
            return answer.status_code == 200
        return False

    with ThreadPoolExecutor(max_workers=4) as pool:
        return sum(pool.map(approve, pending))


def _quiet(target: Target, receiver: CountingReceiver) -> bool:
    """No approved action between its claim and its recorded result right now."""
    claimed = target.sql_scalar("SELECT count(*) FROM approvals_idempotencyrecord WHERE status = 'IN_PROGRESS'")
    return receiver.in_flight == 0 and claimed == 0


def _signal(pids: list[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def _kill_when_quiet(target: Target, receiver: CountingReceiver, kill: Callable[[], Any], what: str) -> Any:
    """Freeze the worker (SIGSTOP, its pool too) so the check cannot race it; kill if no approved action is
    between its claim and its result (a claim not yet committed dies with the process), else thaw and retry."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        worker = target.worker_pid()
        frozen = [worker, *_children(worker)]
        _signal(frozen, signal.SIGSTOP)
        try:
            if _quiet(target, receiver):
                return kill()
        finally:
            _signal(frozen, signal.SIGCONT)  # the survivors (the worker's main process after a pool kill)
        time.sleep(0.05)  # let the worker move on before the next look (bounded by the deadline)
    raise AssertionError(f"no quiet moment to {what} in 30 s")


def _runs(target: Target) -> dict[str, int]:
    rows = target.sql_scalar(
        "SELECT count(*) FILTER (WHERE status = 'COMPLETED') FROM orchestrator_workflowrun"
        if isinstance(target, PostgresRedis)
        else "SELECT sum(status = 'COMPLETED') FROM orchestrator_workflowrun"
    )
    total = target.sql_scalar("SELECT count(*) FROM orchestrator_workflowrun")
    return {"completed": int(rows or 0), "total": int(total or 0)}


def _stuck(target: Target) -> str:
    """What the runs that did not complete are waiting on (for the failure message)."""
    lines = []
    query = (
        "SELECT r.name || ' ' || n.key || ' ' || n.status || ' attempts=' || n.attempts || ' crash=' || n.crash_retries"
        " || ' not_before=' || coalesce(n.not_before::text, '-') FROM orchestrator_workflownode n JOIN "
        "orchestrator_workflowrun r ON r.id = n.run_id WHERE r.status <> 'COMPLETED' AND n.status <> 'COMPLETED'"
    )
    attempts = (
        "SELECT string_agg(a.status || ' owner=' || a.lease_owner || ' redispatches=' || a.redispatches || "
        "' started=' || a.started_at::text || ' lease=' || coalesce(a.lease_expires_at::text, '-') || ' ' || a.error,"
        " ' | ') FROM orchestrator_workflownoderun a JOIN orchestrator_workflowrun r ON r.id = a.run_id "
        "WHERE r.status <> 'COMPLETED'"
    )
    if isinstance(target, PostgresRedis):
        with psycopg.connect(target.pg.url, connect_timeout=5) as conn:
            lines += [str(row[0]) for row in conn.execute(query).fetchall()]
            lines.append(str(conn.execute(attempts).fetchone()))
            lines.append(str(conn.execute("SELECT identity, booted_at, seen_at FROM orchestrator_workerheartbeat")
                             .fetchall()))  # fmt: skip
        lines.append(f"executor queue: {target.redis.queued(('executor',))}, now {time.time()}")
    return "\n".join(lines)


def test_every_approved_action_runs_exactly_once_after_sigkills(target: Target) -> None:
    receiver = CountingReceiver()
    began = time.monotonic()

    def stamp(what: str) -> None:
        print(f"[{time.monotonic() - began:6.1f}s] {what}: {_runs(target)}, {receiver.executed()} executed")

    try:
        headers = {"Authorization": f"Bearer {target.requester}"}
        for index in range(WORKFLOWS):
            created = requests.post(f"{target.base_url}/api/v1/workflows", json=_workflow(index, receiver),
                                    headers=headers, timeout=30)  # fmt: skip
            assert created.status_code == 201, created.text
        poll(lambda: target.sql_scalar("SELECT count(*) FROM approvals_approvalrequest WHERE status = 'PENDING'")
             == WORKFLOWS, 120, "every run to wait for its approval", interval=0.5)  # fmt: skip
        stamp("all waiting for approval")

        # First half approved; the worker's pool processes SIGKILLed while those actions run.
        assert _approve_pending(target, limit=WORKFLOWS // 2) == WORKFLOWS // 2
        poll(lambda: receiver.executed() >= 3, 60, "some actions to execute", interval=0.05)
        killed = _kill_when_quiet(target, receiver, target.kill_pool_processes, "SIGKILL the pool processes")
        print(f"SIGKILLed the pool processes with {receiver.executed()} of {WORKFLOWS} actions executed: {killed}")

        # Second half approved; then, while work is outstanding, the whole stack is SIGKILLed and restarted.
        approved = WORKFLOWS // 2
        deadline = time.monotonic() + 60
        while approved < WORKFLOWS and time.monotonic() < deadline:
            approved += _approve_pending(target)
        assert approved == WORKFLOWS, approved
        _kill_when_quiet(target, receiver, target.kill_all, "SIGKILL the whole stack")
        outstanding = WORKFLOWS - _runs(target)["completed"]
        print(f"SIGKILLed the whole stack with {receiver.executed()} actions executed, {outstanding} runs open")
        assert outstanding > 0, "every run had finished before the stack was killed: nothing was proven"
        restarted = time.monotonic()
        target.start_all()
        stamp("restarted")

        def progress() -> bool:
            stamp("after the restart")
            return _runs(target)["completed"] == WORKFLOWS

        try:
            poll(progress, RESTART_BUDGET_S + 30, "every run to complete",
                 interval=1)  # fmt: skip
        except AssertionError:
            print(_runs(target), target.logs())
            print(_stuck(target))
            raise
        took = time.monotonic() - restarted
        print(f"every run COMPLETED {took:.1f}s after the restart")
        assert _runs(target) == {"completed": WORKFLOWS, "total": WORKFLOWS}
        assert took <= RESTART_BUDGET_S, f"the last run finished {took:.1f}s after the restart"
        counts = {f"/hit/{i}": receiver.hits[f"/hit/{i}"] for i in range(WORKFLOWS)}
        assert set(counts.values()) == {1}, {path: n for path, n in counts.items() if n != 1}
        # Exactly once on the server's side too: one claim per approval, none left open, no second approval.
        assert target.sql_scalar("SELECT count(*) FROM approvals_approvalrequest") == WORKFLOWS
        assert target.sql_scalar("SELECT count(*) FROM approvals_approvalrequest WHERE status = 'EXECUTED'") == (
            WORKFLOWS
        )
        assert target.sql_scalar("SELECT count(*) FROM approvals_idempotencyrecord WHERE status = 'COMPLETED'") == (
            WORKFLOWS
        )
        recovered = target.sql_scalar("SELECT count(*) FROM audit_auditlog WHERE action = 'node.recovered'")
        print(f"{recovered} node.recovered events")
        # The pool processes announced themselves (the killed ones and their successors).
        assert target.sql_scalar("SELECT count(*) FROM orchestrator_workerheartbeat") >= 4
    finally:
        receiver.close()
