"""Gauges the chart's alerts need (issue 23), computed when ``/api/v1/metrics`` is scraped.

Each is a *state*, so it is read from the shared stores at scrape time (same value on every web pod: aggregate
with ``max``): the database for approvals, webhook endpoints and READY nodes; the shared Django cache (Redis, or
files under ``DATA_DIR``) for what workers report: their heartbeat and the last audit-chain verification.
Registered from ``OrchestratorConfig.ready``; the alerts are in the chart's PrometheusRule, their runbooks in
docs/deploying.md. A scrape never fails because a store is away: the gauge is left out and a warning logged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from celery import shared_task
from celery.signals import worker_ready, worker_shutdown
from django.core.cache import cache
from django.db.models import Max, Min, Q
from django.utils import timezone

from orchestrator import metrics

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "ops:worker-heartbeat"
HEARTBEAT_INTERVAL_S = 15.0
AUDIT_VERIFY_KEY = "ops:audit-verify"
_KEEP_S = 7 * 86400  # cache entries outlive any alert window; a stale value is the point of the alert

Samples = Iterator[tuple[tuple[str, ...], float]]


def _safe(name: str, fn: Callable[[], Iterable[tuple[tuple[str, ...], float]]]) -> Callable[[], Samples]:
    def collect() -> Samples:
        try:
            yield from fn()
        except Exception:  # the scrape must still answer when the database or cache is away
            logger.warning("%s: store unavailable", name, exc_info=True)

    return collect


def oldest_pending_approval_age() -> Iterable[tuple[tuple[str, ...], float]]:
    """Seconds since the oldest PENDING approval was requested (0 when none is pending)."""
    from approvals.models import ApprovalRequest, ApprovalStatus

    oldest = ApprovalRequest.objects.filter(status=ApprovalStatus.PENDING).aggregate(m=Min("created_at"))["m"]
    return [((), (timezone.now() - oldest).total_seconds() if oldest else 0.0)]


def next_approval_expiry() -> Iterable[tuple[tuple[str, ...], float]]:
    """Seconds until the soonest PENDING approval expires (no sample when none is pending; negative when the
    expiry task is behind)."""
    from approvals.models import ApprovalRequest, ApprovalStatus

    soonest = ApprovalRequest.objects.filter(status=ApprovalStatus.PENDING).aggregate(m=Min("expires_at"))["m"]
    return [((), (soonest - timezone.now()).total_seconds())] if soonest else []


def failing_webhook_endpoints() -> Iterable[tuple[tuple[str, ...], float]]:
    """Enabled webhook endpoints whose deliveries have failed since their last success."""
    from webhooks.models import WebhookEndpoint

    return [((), float(WebhookEndpoint.objects.filter(enabled=True, failing_since__isnull=False).count()))]


def disabled_webhook_endpoints() -> Iterable[tuple[tuple[str, ...], float]]:
    """Webhook endpoints the service disabled after repeated failures (it records a reason; disabling one through
    the API leaves the reason empty and is not counted)."""
    from webhooks.models import WebhookEndpoint

    return [((), float(WebhookEndpoint.objects.filter(enabled=False).exclude(disabled_reason="").count()))]


def oldest_ready_node_age() -> Iterable[tuple[tuple[str, ...], float]]:
    """Seconds the longest-waiting claimable READY node has waited since it became claimable (0 when none): since
    its ``not_before`` when that is later than its last change. A growing value means the scheduler lags."""
    from orchestrator.models import NodeStatus, WorkflowNode

    now = timezone.now()
    ready = WorkflowNode.objects.filter(
        Q(status=NodeStatus.READY) & (Q(not_before__isnull=True) | Q(not_before__lte=now))
    )
    oldest = ready.aggregate(changed=Min("updated_at"))["changed"]
    if oldest is None:
        return [((), 0.0)]
    # A node in backoff changed state when it failed and became claimable at not_before: count from the later one.
    backoff_end = ready.filter(updated_at=oldest).aggregate(nb=Max("not_before"))["nb"]
    became_ready = max(oldest, backoff_end) if backoff_end else oldest
    return [((), max(0.0, (now - became_ready).total_seconds()))]


def worker_heartbeat() -> Iterable[tuple[tuple[str, ...], float]]:
    """Unix time of the last heartbeat from any Celery worker (no sample before the first one)."""
    beat = cache.get(HEARTBEAT_KEY)
    return [((), float(beat))] if beat else []


def audit_verification() -> Iterable[tuple[tuple[str, ...], float]]:
    """1 when the last periodic audit-chain verification passed, 0 when it found a break (none before the first)."""
    result = cache.get(AUDIT_VERIFY_KEY)
    return [((), 1.0 if result["ok"] else 0.0)] if result else []


def audit_verification_time() -> Iterable[tuple[tuple[str, ...], float]]:
    result = cache.get(AUDIT_VERIFY_KEY)
    return [((), float(result["at"]))] if result else []


GAUGES: tuple[tuple[str, str, Callable[[], Iterable[tuple[tuple[str, ...], float]]]], ...] = (
    ("approvals_oldest_pending_age_seconds", "Age of the oldest pending approval request", oldest_pending_approval_age),
    ("approvals_next_expiry_seconds", "Seconds until the soonest pending approval expires", next_approval_expiry),
    ("webhook_endpoints_failing", "Enabled webhook endpoints failing since last success", failing_webhook_endpoints),
    ("webhook_endpoints_disabled", "Webhook endpoints that are disabled", disabled_webhook_endpoints),
    (
        "scheduler_oldest_ready_age_seconds",
        "How long the oldest claimable READY node has waited",
        oldest_ready_node_age,
    ),
    ("worker_last_heartbeat_timestamp_seconds", "Unix time of the last Celery worker heartbeat", worker_heartbeat),
    ("audit_chain_verify_ok", "1 if the last periodic audit-chain verification passed, else 0", audit_verification),
    ("audit_chain_verify_timestamp_seconds", "Unix time of the last audit-chain verification", audit_verification_time),
)


def register() -> None:
    """Register every gauge with the scrape view. Called once from ``OrchestratorConfig.ready``."""
    for name, documentation, fn in GAUGES:
        metrics.register_scrape_collector(name, documentation, (), _safe(name, fn))


# --- what workers report ------------------------------------------------------------------------------------------
_stop = threading.Event()


def beat_once() -> None:
    """Record a worker heartbeat now (every worker writes the same key: the newest beat wins)."""
    cache.set(HEARTBEAT_KEY, time.time(), _KEEP_S)


def _heartbeat_loop() -> None:
    while not _stop.is_set():
        try:
            beat_once()
        except Exception:  # the cache may be away for a while; the alert is what reports a long gap
            logger.warning("worker heartbeat: cache unavailable", exc_info=True)
        _stop.wait(HEARTBEAT_INTERVAL_S)


@worker_ready.connect
def _start_heartbeat(**_: Any) -> None:
    """In the worker's main process once it consumes: beat every HEARTBEAT_INTERVAL_S in a daemon thread."""
    _stop.clear()
    threading.Thread(target=_heartbeat_loop, name="ops-heartbeat", daemon=True).start()


@worker_shutdown.connect
def _stop_heartbeat(**_: Any) -> None:
    _stop.set()


@shared_task(name="orchestrator.ops_metrics.verify_audit_chains", queue="maintenance")
def verify_audit_chains() -> bool:
    """Periodic (beat): verify every audit chain and keep the outcome for ``audit_chain_verify_ok``."""
    from audit.verification import verify_chains

    report = verify_chains()
    cache.set(AUDIT_VERIFY_KEY, {"ok": report.ok, "at": time.time()}, _KEEP_S)
    if not report.ok:
        logger.error("audit chain verification failed: %s", report.as_dict())
    return report.ok
