"""The Celery application, configured from Django settings (``CELERY_`` namespace).

Queues: ``scheduler`` (claim ready work), ``executor`` (run tools), ``webhooks`` (deliveries), ``maintenance``
(periodic housekeeping) and ``default``. The broker is Redis with ``REDIS_URL`` and kombu's filesystem transport
under ``DATA_DIR`` otherwise; the same tasks run in a real worker process either way.
"""

from __future__ import annotations

import os

from celery import Celery, signals
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestrator.settings")

app = Celery("orchestrator")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [Queue(name) for name in ("default", "scheduler", "executor", "webhooks", "maintenance")]
app.autodiscover_tasks()


# OpenTelemetry (orchestrator.telemetry) when OTEL_* ask for it: in the worker's and beat's main process, inherited
# by the pool's children; each child exports what it buffered before it exits.
@signals.worker_init.connect
@signals.beat_init.connect
def _start_tracing(**_: object) -> None:
    from orchestrator import telemetry

    telemetry.setup()


@signals.worker_process_shutdown.connect
def _flush_traces(**_: object) -> None:
    from orchestrator import telemetry

    telemetry.flush()
