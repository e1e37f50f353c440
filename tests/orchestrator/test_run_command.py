"""``manage.py run`` with real processes: a killed worker comes back, the web keeps serving, links use the served
address, and SIGTERM stops everything (issue 18)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.polling import poll

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pids(log: Path, name: str) -> list[int]:
    return [int(pid) for pid in re.findall(rf"run: started {name} pid=(\d+)", log.read_text())]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.e2e
@pytest.mark.slow
def test_run_restarts_a_killed_worker_keeps_serving_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "orchestrator.settings"}
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CONSOLE_BASE_URL", "METRICS_TOKEN"):
        env.pop(name, None)  # the embedded default, links left to `run`
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True, timeout=300)
    key_file = tmp_path / "key"
    subprocess.run(
        [*manage, "bootstrap_demo", "--key-file", str(key_file)],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
    )
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "run.log"
    run = subprocess.Popen(
        [*manage, "run", "--port", str(port), "--web-workers", "1", "--concurrency", "1"],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        poll(lambda: requests.get(f"{base}/api/v1/health/ready", timeout=5).ok, 90, "ready", tolerate=(OSError,))
        poll(lambda: _pids(log, "worker") and _pids(log, "beat"), 30, "worker and beat pids")
        [worker_pid] = _pids(log, "worker")
        poll(lambda: "ready." in log.read_text(), 60, "the worker to be ready")

        os.kill(worker_pid, signal.SIGKILL)
        poll(lambda: f"worker pid={worker_pid} exited unexpectedly" in log.read_text(), 30, "the exit log line")
        assert requests.get(f"{base}/api/v1/health/ready", timeout=5).ok  # the web server did not go down
        poll(lambda: len(_pids(log, "worker")) == 2, 30, "the worker to be restarted")
        new_pid = _pids(log, "worker")[1]
        assert new_pid != worker_pid and _alive(new_pid)
        metrics = requests.get(f"{base}/api/v1/metrics", timeout=10).text
        assert 'process_restarts_total{process="worker"} 1.0' in metrics

        # The demo's pending approval links to the address served here, with or without the trailing slash.
        key = key_file.read_text().strip()
        auth = {"Authorization": f"Bearer {key}"}
        approvals = poll(  # the restarted worker takes the demo run to its approval step
            lambda: requests.get(f"{base}/api/v1/approvals", headers=auth, timeout=10).json()["results"],
            60,
            "the demo approval",
        )
        link = approvals[0]["console_url"]
        assert link.startswith(f"{base}/console/approvals/") and link.endswith("/")
        for url in (link, link.rstrip("/")):
            page = requests.get(url, timeout=10)  # follows to the sign-in page: not signed in here
            assert page.status_code == 200 and "/console/login/" in page.url, url
    finally:
        run.send_signal(signal.SIGTERM)
        code = run.wait(timeout=60)
    assert code == 0, log.read_text()
    children = [pid for name in ("web", "worker", "beat") for pid in _pids(log, name)]
    assert len(children) == 4 and not any(_alive(pid) for pid in children), log.read_text()
    assert "run: stopped" in log.read_text()
