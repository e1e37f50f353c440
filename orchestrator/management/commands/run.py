"""``manage.py run``: web server, Celery worker and beat in one foreground command, for local use.

Each part is a real child process (gunicorn, ``celery worker``, ``celery beat``), so the embedded default
behaves like production, only smaller. Ctrl-C or SIGTERM stops all three; if one dies, the others are stopped
too and the command exits non-zero so a supervisor notices.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run web + worker + beat in the foreground (stop with Ctrl-C)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--web-workers", type=int, default=2)
        parser.add_argument("--concurrency", type=int, default=2, help="Celery worker processes")
        parser.add_argument("--no-beat", action="store_true")

    def handle(
        self,
        *args: Any,
        port: int,
        host: str,
        web_workers: int,
        concurrency: int,
        no_beat: bool,
        **options: Any,
    ) -> None:
        metrics_dir = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
        # Multiprocess metric files belong to processes that no longer exist: start from zero.
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True, exist_ok=True)
        python = sys.executable
        commands = {
            "web": [
                python,
                "-m",
                "gunicorn",
                "orchestrator.wsgi:application",
                "--bind",
                f"{host}:{port}",
                "--workers",
                str(web_workers),
                "--config",
                "python:orchestrator.gunicorn_conf",
            ],
            "worker": [
                python,
                "-m",
                "celery",
                "-A",
                "orchestrator",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                str(concurrency),
                "-Q",
                ",".join(settings.CELERY_TASK_QUEUES_NAMES),
                "--hostname",
                f"worker-{os.getpid()}@%h",
            ],
        }
        if not no_beat:
            commands["beat"] = [
                python,
                "-m",
                "celery",
                "-A",
                "orchestrator",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                settings.CELERY_BEAT_SCHEDULE_FILENAME,
            ]
        children: dict[str, subprocess.Popen[bytes]] = {}
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        for name, command in commands.items():
            children[name] = subprocess.Popen(command)
        self.stdout.write(f"Serving on http://{host}:{port}/ (console /console/, API /api/v1/, docs /api/v1/docs/)")
        self.stdout.flush()
        exit_code = 0
        try:
            while not stopping:
                for name, child in children.items():
                    if child.poll() is not None:
                        self.stderr.write(f"{name} exited with {child.returncode}; stopping the others")
                        exit_code = 1
                        stopping = True
                        break
                time.sleep(0.2)
        finally:
            for child in children.values():
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 20
            for child in children.values():
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
        self.stdout.write("Stopped.")
        if exit_code:
            sys.exit(exit_code)
