"""``/api/v1/audit``: scoped reads, filters, cursor pagination, trail, stats; no way to change an entry."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditLog
from orchestrator.lib import context
from orchestrator.models import Role
from tests.audit.conftest import emit
from tests.conftest import assert_problem

pytestmark = pytest.mark.django_db


@pytest.fixture
def audit_client(tenant, key_client) -> APIClient:
    return key_client(tenant, ["audit"])


def test_list_shows_the_callers_tenant_only_newest_first(tenant, other_tenant, audit_client) -> None:
    mine = [emit(tenant) for _ in range(3)]
    emit(other_tenant)
    body = audit_client.get("/api/v1/audit").json()
    assert [r["id"] for r in body["results"]] == [str(e.pk) for e in reversed(mine)]
    assert body["next"] is None
    first = body["results"][0]
    assert set(first) >= {
        "id",
        "sequence",
        "created_at",
        "tenant_id",
        "action",
        "actor",
        "ip",
        "user_agent",
        "request_id",
        "resource_type",
        "resource_id",
        "before",
        "after",
        "reason",
        "metadata",
        "prev_hash",
        "hash",
    }
    assert first["actor"] == {"type": "system", "id": "system", "display": "system"}
    assert first["created_at"].endswith("Z")


def test_another_tenants_entry_is_404(other_tenant, audit_client) -> None:
    theirs = emit(other_tenant)
    assert_problem(audit_client.get(f"/api/v1/audit/{theirs.pk}"), 404, "not_found")
    assert_problem(audit_client.get("/api/v1/audit/not-a-uuid"), 404, "not_found")


def test_single_entry(tenant, audit_client) -> None:
    entry = emit(tenant, reason="because")
    body = audit_client.get(f"/api/v1/audit/{entry.pk}").json()
    assert (body["id"], body["reason"], body["hash"]) == (str(entry.pk), "because", entry.hash)


def test_key_without_audit_scope_is_403(tenant, key_client) -> None:
    client = key_client(tenant, ["workflows"])
    assert_problem(client.get("/api/v1/audit"), 403, "permission_denied")
    assert_problem(client.get("/api/v1/audit/export"), 403, "permission_denied")
    assert_problem(client.get("/api/v1/audit/verify"), 403, "permission_denied")


def test_anonymous_is_401() -> None:
    assert_problem(APIClient().get("/api/v1/audit"), 401, "not_authenticated")


@pytest.mark.parametrize("role", [Role.VIEWER, Role.REVIEWER, Role.OPERATOR])
def test_every_member_reads_their_tenants_audit(tenant, other_tenant, member_client, role) -> None:
    emit(tenant)
    emit(other_tenant)
    body = member_client(tenant, role).get("/api/v1/audit").json()
    assert [r["tenant_id"] for r in body["results"]] == [str(tenant.pk)]


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_entries_cannot_be_changed_through_the_api(tenant, audit_client, method) -> None:
    entry = emit(tenant)
    response = getattr(audit_client, method)(f"/api/v1/audit/{entry.pk}", {"reason": "x"}, format="json")
    assert_problem(response, 405, "method_not_allowed")
    assert_problem(getattr(audit_client, method)("/api/v1/audit", {}, format="json"), 405, "method_not_allowed")
    assert AuditLog.objects.get(pk=entry.pk).reason == ""


def test_filters(tenant, audit_client) -> None:
    alice = context.Actor("user", "u-alice", "alice")
    a = emit(tenant, "approval.requested", resource_type="approval", resource_id="ap-1", actor=alice)
    b = emit(tenant, "approval.approved", resource_type="approval", resource_id="ap-1")
    c = emit(tenant, "workflow.created", resource_type="workflow", resource_id="wf-9")

    def ids(query: str) -> list[str]:
        response = audit_client.get(f"/api/v1/audit?{query}")
        assert response.status_code == 200, response.content
        return sorted(r["id"] for r in response.json()["results"])

    assert ids("action=approval.approved") == [str(b.pk)]
    assert ids("actor_id=u-alice") == [str(a.pk)]
    assert ids("resource_type=approval") == sorted([str(a.pk), str(b.pk)])
    assert ids("resource_type=workflow&resource_id=wf-9") == [str(c.pk)]
    since = b.created_at.isoformat().replace("+00:00", "Z")
    assert ids(f"since={since}") == sorted([str(b.pk), str(c.pk)])
    assert ids(f"until={since}") == [str(a.pk)]
    tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()
    assert len(ids(f"until={tomorrow}")) == 3
    assert ids(f"since={tomorrow}") == []


def test_bad_filter_values_are_400(audit_client) -> None:
    body = assert_problem(audit_client.get("/api/v1/audit?since=yesterday"), 400, "validation_error")
    assert body["errors"][0]["field"] == "since"
    assert_problem(audit_client.get("/api/v1/audit?limit=0"), 400, "validation_error")
    assert_problem(audit_client.get("/api/v1/audit?cursor=garbage"), 400, "invalid_cursor")


def test_cursor_pagination_walks_every_entry_once(tenant, audit_client) -> None:
    entries = [emit(tenant) for _ in range(7)]
    seen: list[str] = []
    url: str | None = "/api/v1/audit?limit=3"
    pages = 0
    while url:
        body = audit_client.get(url).json()
        seen.extend(r["id"] for r in body["results"])
        url = body["next"]
        pages += 1
        # entries written while paging do not shift the pages
        if pages == 1:
            emit(tenant)
    assert pages == 3
    assert seen == [str(e.pk) for e in reversed(entries)]


def test_approval_trail_is_oldest_first_and_scoped(tenant, other_tenant, audit_client) -> None:
    approval_id = str(uuid.uuid4())
    requested = emit(tenant, "approval.requested", resource_type="approval", resource_id=approval_id)
    emit(tenant, "workflow.started", resource_type="workflow", resource_id=approval_id)
    approved = emit(tenant, "approval.approved", resource_type="approval", resource_id=approval_id)
    executed = emit(tenant, "approval.executed", resource_type="approval", resource_id=approval_id)
    body = audit_client.get(f"/api/v1/audit/approvals/{approval_id}").json()
    assert body["approval_id"] == approval_id
    assert [r["id"] for r in body["results"]] == [str(requested.pk), str(approved.pk), str(executed.pk)]

    theirs = str(uuid.uuid4())
    emit(other_tenant, "approval.requested", resource_type="approval", resource_id=theirs)
    assert_problem(audit_client.get(f"/api/v1/audit/approvals/{theirs}"), 404, "not_found")


def test_stats_count_by_action_resource_type_and_day(tenant, other_tenant, audit_client) -> None:
    emit(tenant, "approval.requested", resource_type="approval")
    emit(tenant, "approval.requested", resource_type="approval")
    emit(tenant, "workflow.created", resource_type="workflow")
    emit(other_tenant, "workflow.created", resource_type="workflow")
    body = audit_client.get("/api/v1/audit/stats").json()
    assert body["total"] == 3
    assert body["by_action"] == {"approval.requested": 2, "workflow.created": 1}
    assert body["by_resource_type"] == {"approval": 2, "workflow": 1}
    assert body["by_day"] == [{"day": timezone.now().date().isoformat(), "count": 3}]
    assert audit_client.get("/api/v1/audit/stats?action=workflow.created").json()["total"] == 1


def test_schema_documents_the_audit_endpoints(api) -> None:
    response = api.get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    import yaml  # drf-spectacular depends on PyYAML

    paths = yaml.safe_load(response.content)["paths"]
    for path in (
        "/api/v1/audit",
        "/api/v1/audit/{id}",
        "/api/v1/audit/approvals/{approval_id}",
        "/api/v1/audit/stats",
        "/api/v1/audit/verify",
        "/api/v1/audit/export",
    ):
        assert set(paths[path]) == {"get"}, path
    export = paths["/api/v1/audit/export"]["get"]
    assert {"text/csv", "application/x-ndjson"} <= set(export["responses"]["200"]["content"])
    params = {p["name"] for p in export["parameters"]}
    assert {"format", "since", "until", "action", "actor_id", "resource_type", "resource_id"} <= params
