"""Expiry as readers see it (SPEC §6.1): an overdue request is never listed or shown as live, whether the list
shows live requests or expired ones, although reads do not write (the status shown is computed by the query)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from approvals.models import ApprovalRequest, ApprovalStatus
from orchestrator.models import Scope

pytestmark = pytest.mark.django_db


def _ask(client: Any, run: Any, tool: str, params: dict[str, Any]) -> str:
    body = {"workflow_id": str(run.pk), "node_key": "send", "tool": tool, "params": params}
    response = client.post("/api/v1/approvals/request", body, format="json")
    assert response.status_code == 201, response.content
    return str(response.json()["id"])


@pytest.fixture
def two_requests(tenant, make_run, key_client) -> tuple[Any, str, str]:
    """A reader (both approval scopes) and two PENDING requests; the first becomes overdue 61 minutes later."""
    run, _, _ = make_run(tenant)
    reader = key_client(tenant, [Scope.APPROVALS_REQUEST, Scope.APPROVALS_DECIDE])
    old = _ask(reader, run, "email.send", {"to": "a@example.com"})
    with time_machine.travel(timezone.now() + timedelta(minutes=30)):
        new = _ask(reader, run, "sms.send", {"to": "+1"})
    return reader, old, new


def test_default_list_leaves_an_overdue_row_out_without_writing_it(two_requests) -> None:
    reader, old, new = two_requests
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        rows = reader.get("/api/v1/approvals").json()["results"]
        shown = reader.get(f"/api/v1/approvals/{old}").json()
    assert [r["id"] for r in rows] == [new]
    assert shown["status"] == "EXPIRED" and shown["expired_at"] is not None
    # Reads never write: the row is expired by a service or the periodic task, not by a GET.
    assert ApprovalRequest.objects.get(pk=old).status == ApprovalStatus.PENDING


def test_expired_listing_shows_overdue_requests_before_the_periodic_task_ran(two_requests) -> None:
    reader, old, new = two_requests
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        expired = reader.get("/api/v1/approvals?status=EXPIRED").json()["results"]
        every = reader.get("/api/v1/approvals?status=ALL").json()["results"]
    assert [r["id"] for r in expired] == [old]
    assert {r["id"]: r["status"] for r in every} == {old: "EXPIRED", new: "PENDING"}


def test_a_page_without_overdue_rows_costs_one_statement(two_requests, django_assert_num_queries) -> None:
    reader, _, new = two_requests
    reader.get("/api/v1/approvals")  # warm: the API key is cached from here on
    with django_assert_num_queries(1):
        rows = reader.get("/api/v1/approvals").json()["results"]
    assert len(rows) == 2 and rows[0]["id"] == new
