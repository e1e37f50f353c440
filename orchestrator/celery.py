"""The Celery application, configured from Django settings (``CELERY_`` namespace).

Queues: ``scheduler`` (claim ready work), ``executor`` (run tools), ``webhooks`` (deliveries), ``maintenance``
(periodic housekeeping) and ``default``. The broker is Redis with ``REDIS_URL`` and kombu's filesystem transport
under ``DATA_DIR`` otherwise; the same tasks run in a real worker process either way.
"""

from __future__ import annotations

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestrator.settings")

app = Celery("orchestrator")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [Queue(name) for name in ("default", "scheduler", "executor", "webhooks", "maintenance")]
app.autodiscover_tasks()
