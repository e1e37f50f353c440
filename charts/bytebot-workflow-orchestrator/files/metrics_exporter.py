"""Serves the metrics that Celery processes write to PROMETHEUS_MULTIPROC_DIR on :METRICS_EXPORTER_PORT/metrics.

Runs as a sidecar of each worker pod (sharing the multiprocess folder), so task-side counters such as
workflow_nodes_total and webhooks_total reach Prometheus. The web pods serve their own on /api/v1/metrics.
"""

import os
import signal
import threading

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector

registry = CollectorRegistry()
MultiProcessCollector(registry)
start_http_server(int(os.environ.get("METRICS_EXPORTER_PORT", "9808")), registry=registry)
stopped = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stopped.set())
signal.signal(signal.SIGINT, lambda *_: stopped.set())
stopped.wait()
