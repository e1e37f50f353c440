"""End to end: real gunicorn, Celery worker and beat processes; a workflow created over HTTP runs to COMPLETED.

The processes get their own DATA_DIR and a free port, use the test database (PostgreSQL or the SQLite file) and
the Redis db from REDIS_URL (or the embedded filesystem broker under their DATA_DIR), and are stopped by PID.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from django.db import connection

from orchestrator import services
from tests.factories import TenantFactory

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    return f"sqlite:///{Path(str(db['NAME'])).resolve()}"


def start_processes(commands: dict[str, list[str]], env: dict[str, str], log_dir: Path) -> dict[str, Any]:
    """Start each command from the repository root; its output goes to ``log_dir/<name>.log``."""
    processes = {}
    for name, command in commands.items():
        with open(log_dir / f"{name}.log", "wb") as log:
            processes[name] = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    return processes


def stop_processes(processes: dict[str, Any]) -> None:
    """SIGTERM exactly these processes, then SIGKILL any still running after 20 s."""
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes.values():
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def poll(fn: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                return last
        except requests.RequestException as exc:
            last = exc
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}: {last!r}")


@pytest.fixture
def stack(tmp_path: Path):
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "orchestrator.settings",
        "DATABASE_URL": database_url(),
        "DATA_DIR": str(tmp_path / "data"),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "data" / "metrics"),
        "SCHEDULER_ENABLED": "true",
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    python = sys.executable
    commands = {
        "web": [python, "-m", "gunicorn", "orchestrator.wsgi:application",
                "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        "worker": [
            python, "-m", "celery", "-A", "orchestrator", "worker", "--concurrency", "2", "--loglevel", "INFO",
            "-Q", "default,scheduler,executor,webhooks,maintenance", "-n", f"e2e-{os.getpid()}@%h",
            "--without-gossip", "--without-mingle",
        ],
        "beat": [python, "-m", "celery", "-A", "orchestrator", "beat", "--loglevel", "INFO",
                 "--schedule", str(tmp_path / "beat-schedule")],
    }  # fmt: skip
    (tmp_path / "data").mkdir()
    processes = start_processes(commands, env, tmp_path)
    try:
        poll(lambda: requests.get(f"http://127.0.0.1:{port}/api/v1/health/live", timeout=2).ok, 60, "gunicorn")
        yield f"http://127.0.0.1:{port}", tmp_path
    finally:
        stop_processes(processes)


def test_workflow_created_over_http_runs_to_completion(stack: tuple[str, Path]) -> None:
    base, tmp_path = stack
    tenant = TenantFactory()
    _, key = services.create_api_key(tenant=tenant, name="e2e", scopes=["workflows"])
    headers = {"Authorization": f"Bearer {key}"}
    body = {
        "name": "e2e",
        "start": True,
        "nodes": [
            {"key": "fetch", "type": "TASK", "action": {"tool": "echo", "params": {"count": 3}}},
            {
                "key": "check",
                "type": "DECISION",
                "depends_on": ["fetch"],
                "conditions": [{"when": {"path": "fetch.output.count", "op": "gt", "value": 0}, "then": "fan"}],
                "default": "nothing",
            },
            {"key": "nothing", "type": "TASK", "action": {"tool": "noop", "params": {}}},
            {"key": "fan", "type": "PARALLEL", "branches": ["a", "b"]},
            {"key": "a", "type": "TASK", "action": {"tool": "noop", "params": {}}},
            {"key": "b", "type": "TASK", "action": {"tool": "sleep", "params": {"seconds": 0.2}}},
            {"key": "pause", "type": "WAIT", "depends_on": ["a", "b"], "wait": {"seconds": 1}},
            {"key": "done", "type": "TASK", "depends_on": ["pause"], "action": {"tool": "noop", "params": {}}},
        ],
    }
    created = requests.post(f"{base}/api/v1/workflows", json=body, headers=headers, timeout=10)
    assert created.status_code == 201, created.text
    run_id = created.json()["id"]

    def finished() -> dict[str, Any] | None:
        detail = requests.get(f"{base}/api/v1/workflows/{run_id}", headers=headers, timeout=5).json()
        return detail if detail["status"] in ("COMPLETED", "FAILED", "CANCELLED") else None

    try:
        detail = poll(finished, 60, "the run to finish")
    except AssertionError:
        for name in ("worker", "beat", "web"):
            print(name, (tmp_path / f"{name}.log").read_text()[-3000:])
        raise
    statuses = {n["key"]: n["status"] for n in detail["nodes"]}
    assert detail["status"] == "COMPLETED", statuses
    assert statuses == {
        "fetch": "COMPLETED",
        "check": "COMPLETED",
        "nothing": "SKIPPED",
        "fan": "COMPLETED",
        "a": "COMPLETED",
        "b": "COMPLETED",
        "pause": "COMPLETED",
        "done": "COMPLETED",
    }
    metrics = requests.get(f"{base}/api/v1/metrics", timeout=5).text
    assert "scheduler_ready_nodes" in metrics
    assert 'workflow_runs_total{status="COMPLETED"}' in metrics
