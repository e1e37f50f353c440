"""Workspace endpoints (SPEC §4) through the HTTP API: shapes, tenancy, scopes, problems, lock, schema."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from orchestrator.models import Role, Scope
from tests.conftest import assert_problem
from workspaces import operations, services
from workspaces.models import Workspace, WorkspaceStatus

pytestmark = pytest.mark.django_db


def ready(tenant, name: str = "ws") -> Workspace:
    workspace = services.create_workspace(tenant_id=tenant.pk, name=name, provision=True)
    operations.perform_due_operation(workspace_id=workspace.pk)
    workspace.refresh_from_db()
    return workspace


def lock_url(workspace: Workspace, suffix: str = "") -> str:
    return f"/api/v1/workspaces/{workspace.pk}/lock{suffix}"


def test_create_returns_201_with_a_pending_workspace(api, tenant) -> None:
    response = api.post("/api/v1/workspaces", {"name": "books", "metadata": {"team": "finance"}}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "books" and body["status"] == "PENDING" and body["provider"] == "local"
    assert body["tenant_id"] == str(tenant.pk) and body["metadata"] == {"team": "finance"}
    assert body["lock"] == {"locked": False, "owner": None, "expires_at": None, "fencing_token": 0}


def test_create_with_provision_starts_provisioning(api) -> None:
    body = api.post("/api/v1/workspaces", {"name": "x", "provision": True}, format="json").json()
    assert body["status"] == "PROVISIONING"


def test_create_validates_input(api) -> None:
    body = assert_problem(api.post("/api/v1/workspaces", {"name": "x" * 201}, format="json"), 400, "validation_error")
    assert body["errors"][0]["field"] == "name"
    assert_problem(api.post("/api/v1/workspaces", {"metadata": [1]}, format="json"), 400, "validation_error")


def test_list_filters_by_status_and_name(api, tenant, other_tenant) -> None:
    ready(tenant, "alpha books")
    services.create_workspace(tenant_id=tenant.pk, name="beta")
    services.create_workspace(tenant_id=other_tenant.pk, name="alpha elsewhere")
    names = lambda query: sorted(w["name"] for w in api.get(f"/api/v1/workspaces{query}").json()["results"])  # noqa: E731
    assert names("") == ["alpha books", "beta"]
    assert names("?status=READY") == ["alpha books"]
    assert names("?name=ALPHA") == ["alpha books"]
    assert_problem(api.get("/api/v1/workspaces?status=SLEEPY"), 400, "validation_error")


def test_list_is_paginated(api, tenant) -> None:
    for i in range(3):
        services.create_workspace(tenant_id=tenant.pk, name=f"w{i}")
    page = api.get("/api/v1/workspaces?limit=2").json()
    assert len(page["results"]) == 2 and page["next"]


def test_another_tenants_workspace_is_404_everywhere(api, other_tenant) -> None:
    foreign = ready(other_tenant)
    base = f"/api/v1/workspaces/{foreign.pk}"
    assert_problem(api.get(base), 404, "not_found")
    assert_problem(api.get(f"{base}/status"), 404, "not_found")
    assert_problem(api.get(f"{base}/lock"), 404, "not_found")
    assert_problem(api.post(f"{base}/lock", {"owner": "x"}, format="json"), 404, "not_found")
    assert_problem(api.delete(f"{base}/lock", {"owner": "x"}, format="json"), 404, "not_found")
    assert_problem(api.post(f"{base}/terminate"), 404, "not_found")
    assert_problem(api.get("/api/v1/workspaces/not-a-uuid"), 404, "not_found")
    foreign.refresh_from_db()
    assert foreign.status == WorkspaceStatus.READY and foreign.lock_owner is None


def test_key_without_the_workspaces_scope_is_refused(key_client, tenant) -> None:
    client = key_client(tenant, [Scope.WORKFLOWS])
    workspace = ready(tenant)
    assert_problem(client.get("/api/v1/workspaces"), 403, "permission_denied")
    assert_problem(client.post(lock_url(workspace), {"owner": "x"}, format="json"), 403, "permission_denied")


def test_viewer_reads_but_cannot_lock_or_transition(member_client, tenant) -> None:
    client = member_client(tenant, Role.VIEWER)
    workspace = ready(tenant)
    assert client.get(f"/api/v1/workspaces/{workspace.pk}").status_code == 200
    assert client.get(lock_url(workspace)).status_code == 200
    assert_problem(client.post(lock_url(workspace), {"owner": "x"}, format="json"), 403, "permission_denied")
    assert_problem(client.post(f"/api/v1/workspaces/{workspace.pk}/hibernate"), 403, "permission_denied")


def test_operator_may_lock(member_client, tenant) -> None:
    client = member_client(tenant, Role.OPERATOR)
    workspace = ready(tenant)
    assert client.post(lock_url(workspace), {"owner": "ops"}, format="json").status_code == 200


def test_status_endpoint_shows_provisioning_progress(api, tenant) -> None:
    workspace = services.create_workspace(tenant_id=tenant.pk, provision=True)
    body = api.get(f"/api/v1/workspaces/{workspace.pk}/status").json()
    assert body["status"] == "PROVISIONING" and body["operation"] == "provision"
    assert body["operation_attempts"] == 0 and body["next_attempt_at"] and body["last_error"] == ""


def test_hibernate_wake_terminate_and_invalid_state(api, tenant) -> None:
    workspace = ready(tenant)
    base = f"/api/v1/workspaces/{workspace.pk}"
    body = assert_problem(api.post(f"{base}/wake"), 409, "invalid_state")
    assert body["current_status"] == "READY"
    assert api.post(f"{base}/hibernate").json()["status"] == "HIBERNATED"
    assert_problem(api.post(f"{base}/hibernate"), 409, "invalid_state")
    assert api.post(f"{base}/wake").json()["status"] == "PROVISIONING"
    assert_problem(api.post(f"{base}/hibernate"), 409, "invalid_state")
    assert api.post(f"{base}/terminate").json()["status"] == "TERMINATED"
    assert_problem(api.post(f"{base}/terminate"), 409, "invalid_state")
    assert_problem(api.post(f"{base}/wake"), 409, "invalid_state")
    assert_problem(api.post(lock_url(workspace), {"owner": "a"}, format="json"), 409, "invalid_state")


def test_hibernate_while_locked_is_lock_held(api, tenant) -> None:
    workspace = ready(tenant)
    api.post(lock_url(workspace), {"owner": "agent"}, format="json")
    body = assert_problem(api.post(f"/api/v1/workspaces/{workspace.pk}/hibernate"), 409, "lock_held")
    assert body["owner"] == "agent"


def test_lock_acquire_reenter_conflict_renew_release(api, tenant) -> None:
    workspace = ready(tenant)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        first = api.post(lock_url(workspace), {"owner": "agent-1", "lease_seconds": 30}, format="json")
        assert first.status_code == 200, first.content
        grant = first.json()
        assert set(grant) == {"owner", "fencing_token", "expires_at"}
        assert grant["owner"] == "agent-1" and grant["fencing_token"] == 1

        clock.shift(timedelta(seconds=10))
        again = api.post(lock_url(workspace), {"owner": "agent-1"}, format="json").json()
        assert again["fencing_token"] == 1 and again["expires_at"] > grant["expires_at"]

        conflict = api.post(lock_url(workspace), {"owner": "agent-2"}, format="json")
        body = assert_problem(conflict, 409, "lock_held")
        assert body["owner"] == "agent-1" and body["retry_after_ms"] == 30_000
        assert body["expires_at"].endswith("Z")
        assert conflict["Retry-After"] == "30"

        state = api.get(lock_url(workspace)).json()
        assert state["locked"] is True and state["owner"] == "agent-1" and state["fencing_token"] == 1

        renewed = api.post(lock_url(workspace, "/renew"), {"owner": "agent-1", "lease_seconds": 120}, format="json")
        assert renewed.status_code == 200 and renewed.json()["fencing_token"] == 1
        assert_problem(
            api.post(lock_url(workspace, "/renew"), {"owner": "agent-2", "lease_seconds": 5}, format="json"),
            409,
            "lock_held",
        )
        assert_problem(api.delete(lock_url(workspace), {"owner": "agent-2"}, format="json"), 409, "lock_held")
        released = api.delete(lock_url(workspace), {"owner": "agent-1"}, format="json")
        assert released.status_code == 200 and released.json() == {"released": True}
        assert api.get(lock_url(workspace)).json() == {
            "locked": False,
            "owner": None,
            "expires_at": None,
            "fencing_token": 1,
        }
        assert api.delete(lock_url(workspace), {"owner": "agent-1"}, format="json").json() == {"released": False}
        assert_problem(
            api.post(lock_url(workspace, "/renew"), {"owner": "agent-1"}, format="json"), 409, "lock_not_held"
        )


def test_expired_lease_reads_as_free_and_is_taken_over_with_a_higher_token(api, tenant) -> None:
    workspace = ready(tenant)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        old = api.post(lock_url(workspace), {"owner": "a", "lease_seconds": 1}, format="json").json()
        clock.shift(timedelta(seconds=2))
        assert api.get(lock_url(workspace)).json()["locked"] is False
        new = api.post(lock_url(workspace), {"owner": "b"}, format="json").json()
        assert new["fencing_token"] > old["fencing_token"]
        assert_problem(api.post(lock_url(workspace, "/renew"), {"owner": "a"}, format="json"), 409, "lock_held")
        assert_problem(api.delete(lock_url(workspace), {"owner": "a"}, format="json"), 409, "lock_held")


@pytest.mark.parametrize(
    "payload",
    [
        {"owner": "a", "lease_seconds": 0},
        {"owner": "a", "lease_seconds": 3601},
        {"owner": "a", "lease_seconds": "soon"},
        {"owner": ""},
        {},
    ],
)
def test_lock_input_is_validated(api, tenant, payload) -> None:
    workspace = ready(tenant)
    assert_problem(api.post(lock_url(workspace), payload, format="json"), 400, "validation_error")


def test_release_needs_an_owner(api, tenant) -> None:
    workspace = ready(tenant)
    body = assert_problem(api.delete(lock_url(workspace), {}, format="json"), 400, "validation_error")
    assert body["errors"][0]["field"] == "owner"


def test_lock_post_honours_idempotency_key(api, tenant) -> None:
    workspace = ready(tenant)
    first = api.post(lock_url(workspace), {"owner": "a"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    replay = api.post(lock_url(workspace), {"owner": "a"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert replay.json() == first.json() and replay["Idempotency-Replayed"] == "true"


def test_workspace_endpoints_are_in_the_openapi_schema(api) -> None:
    schema = api.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    for path, methods in {
        "/api/v1/workspaces": {"get", "post"},
        "/api/v1/workspaces/{id}": {"get"},
        "/api/v1/workspaces/{id}/status": {"get"},
        "/api/v1/workspaces/{id}/hibernate": {"post"},
        "/api/v1/workspaces/{id}/wake": {"post"},
        "/api/v1/workspaces/{id}/terminate": {"post"},
        "/api/v1/workspaces/{id}/lock": {"get", "post", "delete"},
        "/api/v1/workspaces/{id}/lock/renew": {"post"},
    }.items():
        assert methods <= set(paths[path]), (path, set(paths[path]))
    assert "requestBody" in paths["/api/v1/workspaces/{id}/lock"]["delete"]
    assert "409" in paths["/api/v1/workspaces/{id}/lock"]["post"]["responses"]
