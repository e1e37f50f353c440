"""``manage.py run``: web server, Celery worker and beat in one foreground command, for local use.

Each part is a real child process (gunicorn, ``celery worker``, ``celery beat``), so the embedded default
behaves like production, only smaller. A child that exits unexpectedly is restarted with backoff while the
others go on (orchestrator/supervisor.py); Ctrl-C or SIGTERM stops all three.
"""

from __future__ import annotations

import os
import shutil
import sys
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
        # Links in API answers, events and e-mails point at the address served here unless configured otherwise;
        # the children read it from the environment (settings.CONSOLE_BASE_URL).
        shown_host = "localhost" if host in ("0.0.0.0", "::") else host  # noqa: S104 - a comparison, not a bind
        os.environ.setdefault("CONSOLE_BASE_URL", f"http://{shown_host}:{port}")
        # Imported only now: the metric files must be created after the folder above was emptied.
        from orchestrator.metrics import process_restarts_total
        from orchestrator.supervisor import Supervisor

        def log(line: str) -> None:
            self.stderr.write(line)
            self.stderr.flush()

        self.stdout.write(f"Serving on http://{host}:{port}/ (console /console/, API /api/v1/, docs /api/v1/docs/)")
        self.stdout.flush()
        Supervisor(commands, log, lambda name: process_restarts_total.labels(process=name).inc()).run()
        self.stdout.write("Stopped.")
