"""gunicorn settings shared by ``manage.py run`` and the container image."""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import multiprocess

# Threads, not one request per process: a ``GET …?wait=30`` (issue 19) parks its thread on an Event with its
# database connection closed, so a worker with GUNICORN_THREADS threads admits that many waiters while it keeps
# serving. Workers × threads bounds concurrent requests; busy threads hold at most one database connection each.
# The kernel does not spread connections evenly over the workers (bench/README.md measured 147/53 of 200 parked
# waiters over two workers), and a request finding all of its worker's threads parked queues until one answers:
# size the threads for ~1.5 × (a pod's waiters / workers) plus the ordinary concurrent requests.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "64"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 20
keepalive = 5
accesslog = "-"
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR") or None


def child_exit(server: Any, worker: Any) -> None:
    """Tell prometheus_client the worker is gone so its live gauges stop counting (counters are kept)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)


def on_starting(server: Any) -> None:
    """Before any socket is bound: refuse a non-loopback bind with the development SECRET_KEY (bindguard)."""
    from orchestrator.lib.bindguard import check_binds

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestrator.settings")
    check_binds([str(bind) for bind in server.cfg.bind])
