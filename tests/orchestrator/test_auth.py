"""Authentication, scopes, roles and tenant isolation (SPEC §2)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from orchestrator import services
from orchestrator.models import Role, Scope
from tests.conftest import assert_problem

pytestmark = pytest.mark.django_db


def test_request_without_credentials_is_401_problem() -> None:
    body = assert_problem(APIClient().get("/api/v1/me"), 401, "not_authenticated")
    assert body["detail"]


def test_invalid_key_is_401(api: APIClient) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer wfo_deadbeef_not-a-real-key")
    assert_problem(client.get("/api/v1/me"), 401, "authentication_failed")


def test_non_bearer_authorization_header_is_401() -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")
    response = client.get("/api/v1/me")
    assert_problem(response, 401, "authentication_failed")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_revoked_key_is_401(tenant, make_api_key) -> None:
    api_key, raw = make_api_key(tenant)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/me").status_code == 200
    services.revoke_api_key(api_key=api_key)
    assert_problem(client.get("/api/v1/me"), 401, "authentication_failed")


def test_key_is_stored_only_as_hash_and_touches_last_used(tenant, make_api_key) -> None:
    api_key, raw = make_api_key(tenant)
    assert raw not in (api_key.key_hash, api_key.prefix)
    assert raw.startswith(f"wfo_{api_key.prefix}_")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    client.get("/api/v1/me")
    api_key.refresh_from_db()
    assert api_key.last_used_at is not None


def test_me_lists_key_tenant_and_scopes(tenant, key_client) -> None:
    body = key_client(tenant, [Scope.WORKFLOWS]).get("/api/v1/me").json()
    assert body["type"] == "api_key"
    assert body["tenants"] == [
        {
            "id": str(tenant.pk),
            "slug": tenant.slug,
            "name": tenant.name,
            "role": None,
            "scopes": ["workflows"],
        }
    ]


def test_viewer_cannot_create_api_keys_403(tenant, member_client) -> None:
    client = member_client(tenant, Role.VIEWER)
    assert_problem(
        client.post("/api/v1/api-keys", {"name": "x", "scopes": ["workflows"]}, format="json"),
        403,
        "permission_denied",
    )


def test_api_key_cannot_manage_keys(tenant, key_client) -> None:
    assert_problem(
        key_client(tenant).post("/api/v1/api-keys", {"name": "x", "scopes": ["audit"]}, format="json"),
        403,
        "permission_denied",
    )


def test_operator_creates_key_shown_once_then_revokes(tenant, member_client) -> None:
    client = member_client(tenant, Role.OPERATOR)
    created = client.post("/api/v1/api-keys", {"name": "ci", "scopes": ["workflows"]}, format="json")
    assert created.status_code == 201, created.content
    raw = created.json()["key"]
    shown = client.get(f"/api/v1/api-keys/{created.json()['id']}").json()
    assert "key" not in shown
    assert raw not in str(client.get("/api/v1/api-keys").json())
    assert client.post(f"/api/v1/api-keys/{shown['id']}/revoke").status_code == 200
    assert_problem(client.post(f"/api/v1/api-keys/{shown['id']}/revoke"), 409, "invalid_state")


def test_other_tenants_object_is_404_not_403(tenant, other_tenant, member_client, make_api_key) -> None:
    foreign_key, _ = make_api_key(other_tenant)
    client = member_client(tenant, Role.OPERATOR)
    assert_problem(client.get(f"/api/v1/api-keys/{foreign_key.pk}"), 404, "not_found")
    assert_problem(client.post(f"/api/v1/api-keys/{foreign_key.pk}/revoke"), 404, "not_found")
    assert client.get("/api/v1/api-keys").json()["results"] == []


def test_unknown_scope_is_validation_error_with_field(tenant, member_client) -> None:
    client = member_client(tenant, Role.OPERATOR)
    body = assert_problem(
        client.post("/api/v1/api-keys", {"name": "x", "scopes": ["root"]}, format="json"),
        400,
        "validation_error",
    )
    assert body["errors"][0]["field"] == "scopes[0]"


def test_revoking_a_key_over_the_api_is_audited_with_the_operator_as_actor(tenant, member_client, make_api_key) -> None:
    from audit.models import AuditLog

    api_key, _ = make_api_key(tenant)
    client = member_client(tenant, Role.OPERATOR)
    assert client.post(f"/api/v1/api-keys/{api_key.pk}/revoke").status_code == 200
    entry = AuditLog.objects.get(action="api_key.revoked", resource_id=str(api_key.pk))
    assert entry.actor_type == "user" and entry.actor_id == str(client.user.pk)
    assert entry.before == {"revoked_at": None} and entry.after["revoked_at"]
