"""``GET /approvals/{id}?wait=N`` and ``GET /workflows/{id}?wait=N`` (issue 19): they answer as soon as the state
changes (announced on commit; Redis pub/sub when REDIS_URL is set, in-process otherwise) or after N seconds, and
hold no database connection while they wait."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from orchestrator import scheduler
from orchestrator.lib import waiting
from tests.conftest import assert_problem
from tests.polling import poll

pytestmark = pytest.mark.django_db(transaction=True)


def pending_approval(api: APIClient) -> tuple[str, str]:
    body = {
        "name": "needs a yes",
        "start": True,
        "nodes": [{"key": "a", "type": "TASK", "action": {"tool": "echo", "params": {}}, "requires_approval": True}],
    }
    created = api.post("/api/v1/workflows", body, format="json")
    assert created.status_code == 201, created.json()
    run_id = created.json()["id"]
    scheduler.tick(dispatch=lambda ids: None)
    listed = api.get("/api/v1/approvals").json()["results"]
    [approval] = [a for a in listed if a["workflow_id"] == run_id]
    return run_id, approval["id"]


class Waiter(threading.Thread):
    """One waiting GET in its own thread (its own DB connection), timed."""

    def __init__(self, client: APIClient, url: str, **headers: str) -> None:
        super().__init__(daemon=True)
        self.client, self.url, self.headers = client, url, headers
        self.response: Any = None
        self.elapsed = 0.0

    def run(self) -> None:
        began = time.monotonic()
        try:
            self.response = self.client.get(self.url, **self.headers)
        finally:
            self.elapsed = time.monotonic() - began
            connection.close()


def _our_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return int(cursor.fetchone()[0])


def test_wait_is_bounded_and_validated(api: APIClient, tenant: Any) -> None:
    run_id, approval_id = pending_approval(api)
    for bad in ("31", "-1", "soon"):
        problem = assert_problem(api.get(f"/api/v1/approvals/{approval_id}?wait={bad}"), 400, "validation_error")
        assert "wait" in str(problem)
        assert_problem(api.get(f"/api/v1/workflows/{run_id}?wait={bad}"), 400, "validation_error")
    began = time.monotonic()
    unchanged = api.get(f"/api/v1/approvals/{approval_id}?wait=0.5")
    assert unchanged.status_code == 200 and unchanged.json()["status"] == "PENDING"
    assert time.monotonic() - began >= 0.5
    assert unchanged["ETag"]
    # A client whose last answer is already out of date gets the current state at once.
    began = time.monotonic()
    stale = api.get(f"/api/v1/approvals/{approval_id}?wait=20", HTTP_IF_NONE_MATCH='"not-the-current-state"')
    assert stale.status_code == 200 and time.monotonic() - began < 5
    assert stale["ETag"] == unchanged["ETag"]


def test_a_decision_wakes_the_approval_and_workflow_waiters(
    api: APIClient, tenant: Any, key_client: Any, settings: Any
) -> None:
    run_id, approval_id = pending_approval(api)
    approval_waiter = Waiter(key_client(tenant), f"/api/v1/approvals/{approval_id}?wait=25")
    workflow_waiter = Waiter(key_client(tenant), f"/api/v1/workflows/{run_id}?wait=25")
    approval_waiter.start()
    workflow_waiter.start()
    poll(lambda: waiting.hub.waiting() == 2, 10, "both requests waiting")
    if connection.vendor == "postgresql":
        # The two waiting requests hold no database connection: only this test's own is open.
        poll(lambda: _our_connections() == 1, 10, "waiters to give their connections back")
    if settings.REDIS_URL:
        poll(waiting.hub.live.is_set, 10, "the Redis subscription")
    rejected = key_client(tenant).post(f"/api/v1/approvals/{approval_id}/reject", {"reason": "no"}, format="json")
    assert rejected.status_code == 200, rejected.json()
    approval_waiter.join(30)
    workflow_waiter.join(30)
    assert approval_waiter.response.json()["status"] == "REJECTED"
    assert workflow_waiter.response.json()["status"] == "FAILED"
    # Woken by the announcement, well before the 25 s (or the 5 s re-check).
    assert approval_waiter.elapsed < 4, approval_waiter.elapsed
    assert workflow_waiter.elapsed < 4, workflow_waiter.elapsed
    assert waiting.hub.waiting() == 0


def test_cancelling_a_run_wakes_its_waiter(api: APIClient, tenant: Any, key_client: Any) -> None:
    run_id, _ = pending_approval(api)
    waiter = Waiter(key_client(tenant), f"/api/v1/workflows/{run_id}?wait=25")
    waiter.start()
    poll(lambda: waiting.hub.waiting() == 1, 10, "the request waiting")
    assert api.post(f"/api/v1/workflows/{run_id}/cancel", {"reason": "enough"}, format="json").status_code == 200
    waiter.join(30)
    assert waiter.response.json()["status"] == "CANCELLED"
    assert waiter.elapsed < 4, waiter.elapsed
