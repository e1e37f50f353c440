"""Prometheus metrics of SPEC §9, defined once here, and the scrape view.

All processes (gunicorn workers, Celery workers, beat) write to ``PROMETHEUS_MULTIPROC_DIR`` (set in settings
before prometheus_client is imported), and the scrape merges them with ``MultiProcessCollector``. Values that
are a *state* rather than an event count (pending approvals, ready nodes) are computed from the database at
scrape time by collectors registered with ``register_scrape_collector`` so they are right whatever process
changed them. Labels are bounded: no ids, no tenants.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable, Iterable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from orchestrator.lib.problems import problem_response

approvals_total = Counter("approvals_total", "Approval requests by final status", ["status", "risk_level"])
approval_latency_seconds = Histogram(
    "approval_latency_seconds",
    "Time from approval request to decision",
    ["status"],
    buckets=(1, 5, 15, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 86400),
)
webhooks_total = Counter("webhooks_total", "Webhook delivery attempts by outcome", ["event_type", "outcome"])
webhook_delivery_seconds = Histogram("webhook_delivery_seconds", "Webhook delivery attempt duration", ["event_type"])
audit_logs_total = Counter("audit_logs_total", "Audit entries written", ["action"])
idempotency_checks_total = Counter(
    "idempotency_checks_total", "Idempotency checks by result (new, replay, conflict, mismatch)", ["result"]
)
workflow_runs_total = Counter("workflow_runs_total", "Workflow runs reaching a status", ["status"])
workflow_nodes_total = Counter("workflow_nodes_total", "Workflow nodes reaching a status", ["type", "status"])
workflow_node_duration_seconds = Histogram(
    "workflow_node_duration_seconds",
    "Duration of node attempts",
    ["type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900),
)
scheduler_loop_duration_seconds = Histogram(
    "scheduler_loop_duration_seconds",
    "Duration of one scheduler pass",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
workspace_lock_acquisitions_total = Counter(
    "workspace_lock_acquisitions_total", "Workspace lock acquisition attempts", ["result"]
)
# The embedded default (issue 18): messages the filesystem broker moved to rejected/, child restarts by `manage.py run`.
broker_messages_rejected_total = Counter(
    "broker_messages_rejected_total", "Unreadable broker messages moved aside", ["queue"]
)
# Crash recovery (issue 24): attempts re-published because no worker started them (how="redispatched"), started
# attempts of idempotent tools retried after their worker died (how="retried"), approved actions finished from
# their recorded result (how="finished"); reason: queued, dispatch_lease,
# worker_gone.
workflow_attempts_recovered_total = Counter(
    "workflow_attempts_recovered_total", "Attempts recovered after a crash or a lost message", ["how", "reason"]
)
process_restarts_total = Counter(
    "process_restarts_total", "Children of manage.py run restarted after an unexpected exit", ["process"]
)
# Batch jobs (issue 16, ``orchestrator.lib.units``): a unit of work that raised, and one that was quarantined.
unit_failures_total = Counter(
    "orchestrator_unit_failures_total", "Units of work of a batch job that raised (isolated from the others)", ["job"]
)
unit_quarantined_total = Counter(
    "orchestrator_unit_quarantined_total",
    "Units of work moved to their terminal state after repeated failures",
    ["job"],
)

# Gauge-like values computed from the database at scrape time: name -> (help, labels, function).
ScrapeFunction = Callable[[], Iterable[tuple[tuple[str, ...], float]]]
_scrape_collectors: dict[str, tuple[str, tuple[str, ...], ScrapeFunction]] = {}


def register_scrape_collector(name: str, documentation: str, labels: tuple[str, ...], fn: ScrapeFunction) -> None:
    """Register a gauge whose samples ``fn`` yields as ``(label_values, value)`` at each scrape."""
    _scrape_collectors[name] = (documentation, labels, fn)


class _DatabaseGauges(Collector):
    def collect(self) -> Iterable[Metric]:
        for name, (documentation, labels, fn) in _scrape_collectors.items():
            family = GaugeMetricFamily(name, documentation, labels=list(labels))
            for label_values, value in fn():
                family.add_metric(list(label_values), value)
            yield family


def render_metrics() -> bytes:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    registry.register(_DatabaseGauges())
    return generate_latest(registry)


def metrics_view(request: HttpRequest) -> HttpResponse:
    """``GET /api/v1/metrics``; with ``METRICS_TOKEN`` set, a matching Bearer token is required."""
    token = settings.METRICS_TOKEN
    if token:
        supplied = str(request.META.get("HTTP_AUTHORIZATION", "")).removeprefix("Bearer ").strip()
        if not hmac.compare_digest(supplied.encode(), token.encode()):
            return problem_response(
                status=401,
                code="not_authenticated",
                title="Authentication required",
                detail="Metrics require 'Authorization: Bearer <METRICS_TOKEN>'.",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
    return HttpResponse(render_metrics(), content_type=CONTENT_TYPE_LATEST)


__all__ = ["Gauge", "register_scrape_collector"]
