"""The same Celery task runs in a real worker process on the embedded broker and on Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.polling import poll as wait_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.e2e
@pytest.mark.parametrize("broker", ["embedded", "redis"])
def test_worker_process_runs_a_task(broker: str, tmp_path: Path) -> None:
    env = {**os.environ, "DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "orchestrator.settings"}
    env.pop("DATABASE_URL", None)  # the ping task needs no database
    if broker == "embedded":
        env.pop("REDIS_URL", None)
        env.pop("CELERY_BROKER_URL", None)
    elif not os.environ.get("REDIS_URL"):
        pytest.skip("needs Redis: set REDIS_URL")
    else:
        # A private queue name so parallel test runs on the same Redis never take each other's messages.
        env["CELERY_BROKER_URL"] = os.environ["REDIS_URL"]
    queue = f"default-{os.getpid()}-{broker}"
    log = tmp_path / "worker.log"
    log_handle = log.open("wb")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "orchestrator",
            "worker",
            "--pool",
            "solo",
            "-Q",
            queue,
            "--loglevel",
            "INFO",
            "--hostname",
            f"test-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log_handle,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: log.exists() and "ready." in log.read_text(), 60, "worker start")
        send = subprocess.run(
            [
                sys.executable,
                "-c",
                "import django; django.setup()\n"
                "from orchestrator.tasks import ping\n"
                f"print(ping.apply_async(queue={queue!r}).id)",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert send.returncode == 0, send.stderr
        task_id = send.stdout.strip().splitlines()[-1]
        wait_for(lambda: f"{task_id}] succeeded" in log.read_text(), 30, "task to run")
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        log_handle.close()
