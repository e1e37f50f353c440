"""The gauges behind the chart's alerts (issue 23), read from the real stores and from a real scrape."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from orchestrator import ops_metrics
from orchestrator.models import NodeStatus, NodeType, Tenant, WorkflowNode, WorkflowRun
from tests.console.helpers import pending_approval
from tests.polling import poll
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db


def scraped(name: str) -> float | None:
    text = APIClient().get("/api/v1/metrics").content.decode()
    match = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else None


def test_approval_gauges_follow_the_oldest_and_the_soonest_pending_request(tenant: Tenant) -> None:
    assert scraped("approvals_oldest_pending_age_seconds") == 0.0
    assert scraped("approvals_next_expiry_seconds") is None  # no pending request: no sample
    approval = pending_approval(tenant)
    with time_machine.travel(approval.created_at + timedelta(minutes=20), tick=False):
        assert scraped("approvals_oldest_pending_age_seconds") == pytest.approx(20 * 60)
        expected = (approval.expires_at - timezone.now()).total_seconds()
        assert scraped("approvals_next_expiry_seconds") == pytest.approx(expected)


def test_webhook_endpoint_gauges_count_failing_and_auto_disabled_endpoints(tenant: Tenant) -> None:
    make = WebhookEndpoint.objects.create
    make(tenant=tenant, url="https://ok.example/h", events=["*"])
    make(tenant=tenant, url="https://failing.example/h", events=["*"], failing_since=timezone.now())
    make(tenant=tenant, url="https://auto.example/h", events=["*"], enabled=False, disabled_reason="410 Gone",
         disabled_at=timezone.now(), failing_since=timezone.now())  # fmt: skip
    make(tenant=tenant, url="https://by-hand.example/h", events=["*"], enabled=False, disabled_at=timezone.now())
    assert scraped("webhook_endpoints_failing") == 1.0
    assert scraped("webhook_endpoints_disabled") == 1.0


def test_scheduler_lag_is_the_wait_of_the_oldest_claimable_ready_node(tenant: Tenant) -> None:
    assert scraped("scheduler_oldest_ready_age_seconds") == 0.0
    run = WorkflowRun.objects.create(tenant=tenant, name="lag", status="RUNNING")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        WorkflowNode.objects.create(run=run, key="a", type=NodeType.TASK, status=NodeStatus.READY)
        # In backoff until 10 minutes from now: not claimable yet, so not lag.
        WorkflowNode.objects.create(
            run=run, key="b", type=NodeType.TASK, status=NodeStatus.READY, not_before=start + timedelta(minutes=10)
        )
    with time_machine.travel(start + timedelta(minutes=3), tick=False):
        assert scraped("scheduler_oldest_ready_age_seconds") == pytest.approx(180)


def test_worker_heartbeat_is_written_by_a_worker_thread_and_scraped() -> None:
    cache.delete(ops_metrics.HEARTBEAT_KEY)
    assert scraped("worker_last_heartbeat_timestamp_seconds") is None
    before = time.time()
    ops_metrics._start_heartbeat()  # what the worker_ready signal does in a worker
    try:
        beat = poll(lambda: scraped("worker_last_heartbeat_timestamp_seconds"), 10, "a heartbeat in the scrape")
    finally:
        ops_metrics._stop_heartbeat()
    assert beat >= before - 1


def test_audit_verification_outcome_is_kept_for_the_scrape(monkeypatch: Any) -> None:
    cache.delete(ops_metrics.AUDIT_VERIFY_KEY)
    assert scraped("audit_chain_verify_ok") is None
    assert ops_metrics.verify_audit_chains() is True  # an empty, intact audit log
    assert scraped("audit_chain_verify_ok") == 1.0
    assert scraped("audit_chain_verify_timestamp_seconds") == pytest.approx(time.time(), abs=60)

    class Broken:
        ok = False

        def as_dict(self) -> dict[str, Any]:
            return {"ok": False}

    monkeypatch.setattr("audit.verification.verify_chains", lambda: Broken())
    assert ops_metrics.verify_audit_chains() is False
    assert scraped("audit_chain_verify_ok") == 0.0


def test_a_scrape_answers_when_a_gauge_cannot_read_its_store(monkeypatch: Any) -> None:
    def away() -> Any:
        raise ConnectionError("cache away")

    monkeypatch.setattr(cache, "get", lambda *a, **k: away())
    response = APIClient().get("/api/v1/metrics")
    assert response.status_code == 200
    assert "approvals_oldest_pending_age_seconds" in response.content.decode()
