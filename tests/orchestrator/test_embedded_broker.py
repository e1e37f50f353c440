"""The embedded broker never hands out half-written messages and a bad message never kills a worker (issue 18)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from queue import Empty

import pytest
from kombu import Connection

from tests.polling import poll

ROOT = Path(__file__).resolve().parents[2]
POISON = b'{"body": "eyJ0cnVuY2F0ZWQ'  # what a consumer read mid-write under kombu's own transport


def _connection(folder: Path) -> Connection:
    options = {
        "data_folder_in": str(folder / "in"),
        "data_folder_out": str(folder / "in"),
        "processed_folder": str(folder / "processed"),
        "control_folder": str(folder / "control"),
    }
    for sub in ("in", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return Connection("filesystem://", transport="orchestrator.broker:Transport", transport_options=options)


def test_publish_leaves_no_partial_file_and_bad_messages_are_moved_aside(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with _connection(tmp_path) as conn:
        queue = conn.SimpleQueue("q")
        # Planted before the good message (older names sort first): truncated JSON and JSON of the wrong shape.
        (tmp_path / "in" / "000000000000001_a.q.msg").write_bytes(POISON)
        (tmp_path / "in" / "000000000000002_b.q.msg").write_bytes(b'{"no": "properties"}')
        queue.put({"hello": "world"})
        assert list((tmp_path / "tmp").iterdir()) == []  # renamed into in/, nothing left behind
        with caplog.at_level(logging.ERROR, logger="orchestrator.broker"):
            message = queue.get(timeout=5)
        assert message.payload == {"hello": "world"}
        message.ack()
        with pytest.raises(Empty):
            queue.get(timeout=0.2)
        queue.close()
    assert sorted(p.name for p in (tmp_path / "rejected").iterdir()) == [
        "000000000000001_a.q.msg",
        "000000000000002_b.q.msg",
    ]
    assert "id=000000000000001_a.q.msg" in caplog.text
    assert "id=000000000000002_b.q.msg" in caplog.text
    assert list((tmp_path / "in").iterdir()) == []


def _start_worker(env: dict[str, str], queue: str, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
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
            f"poison-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def _send_ping(env: dict[str, str], queue: str) -> str:
    code = (
        "import django; django.setup()\n"
        f"from orchestrator.tasks import ping\nprint(ping.apply_async(queue={queue!r}).id)"
    )
    sent = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert sent.returncode == 0, sent.stderr
    return sent.stdout.strip().splitlines()[-1]


@pytest.mark.e2e
@pytest.mark.parametrize("broker", ["embedded", "redis"])
def test_a_planted_poison_message_does_not_stop_a_real_worker(broker: str, tmp_path: Path) -> None:
    env = {**os.environ, "DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "orchestrator.settings"}
    env.pop("DATABASE_URL", None)  # the ping task needs no database
    queue = f"poison-{os.getpid()}-{broker}"
    if broker == "embedded":
        env.pop("REDIS_URL", None)
        env.pop("CELERY_BROKER_URL", None)
    elif not os.environ.get("REDIS_URL"):
        pytest.skip("needs Redis: set REDIS_URL")
    else:
        env["CELERY_BROKER_URL"] = os.environ["REDIS_URL"]
    log = tmp_path / "worker.log"
    worker = _start_worker(env, queue, log)
    try:
        poll(lambda: log.exists() and "ready." in log.read_text(), 60, "worker start")
        if broker == "embedded":
            (tmp_path / "broker" / "in" / f"000000000000001_poison.{queue}.msg").write_bytes(POISON)
        else:
            import redis

            client = redis.Redis.from_url(os.environ["REDIS_URL"])
            client.lpush(queue, POISON)
            client.lpush(queue, b'{"json": "but no properties"}')
        task_id = _send_ping(env, queue)
        poll(lambda: f"{task_id}] succeeded" in log.read_text(), 30, "the next task to run")
        assert worker.poll() is None, log.read_text()
        if broker == "embedded":
            assert (tmp_path / "broker" / "rejected" / f"000000000000001_poison.{queue}.msg").exists()
            assert f"id=000000000000001_poison.{queue}.msg" in log.read_text()
        else:
            assert "rejected undecodable message" in log.read_text()
            assert client.llen(queue) == 0
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
