"""Shared fixtures: tenants, API keys, authenticated clients, and the PostgreSQL/Redis markers.

Tests marked ``postgres`` skip on SQLite with a reason; CI runs the whole suite on PostgreSQL and Redis.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from orchestrator import services
from orchestrator.models import Role, Scope, Tenant
from tests.factories import MembershipFactory, TenantFactory

ALL_SCOPES = list(Scope.values)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    on_postgres = settings.DATABASE_IS_POSTGRES
    has_redis = bool(os.environ.get("REDIS_URL"))
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://…"))
        if "redis" in item.keywords and not has_redis:
            item.add_marker(pytest.mark.skip(reason="needs Redis: set REDIS_URL=redis://…"))


@pytest.fixture(scope="session", autouse=True)
def _flush_past_audit_triggers() -> Any:
    """Let Django's test teardown empty the append-only audit tables, in the test process only.

    The audit triggers refuse TRUNCATE with no exception a session could switch on (migration 0006). Between
    transactional tests Django flushes every table with one TRUNCATE; the test connection is a superuser, so the
    flush runs with ``session_replication_role = replica`` (triggers do not fire), a superuser-only power the
    application's role lacks. This wrapper lives in the test suite and never ships.
    """
    from django.db import transaction
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.execute_sql_flush

    def execute_sql_flush(self: DatabaseOperations, sql_list: list[str]) -> None:
        with transaction.atomic(using=self.connection.alias):
            with self.connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
            original(self, sql_list)

    DatabaseOperations.execute_sql_flush = execute_sql_flush  # type: ignore[method-assign]
    yield
    DatabaseOperations.execute_sql_flush = original  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _audit_anchor_dir(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Each test gets its own audit anchor store: anchors name chains (``global`` too) that the test DB resets."""
    settings.AUDIT_ANCHOR_DIR = tmp_path_factory.mktemp("audit-anchors")


@pytest.fixture
def tenant(db: Any) -> Tenant:
    return TenantFactory()


@pytest.fixture
def other_tenant(db: Any) -> Tenant:
    return TenantFactory()


@pytest.fixture
def make_api_key(db: Any) -> Callable[..., tuple[Any, str]]:
    """``make_api_key(tenant, scopes=[...])`` → ``(ApiKey, raw_key)``."""

    def make(tenant: Tenant, scopes: list[str] | None = None, name: str = "test") -> tuple[Any, str]:
        return services.create_api_key(tenant=tenant, name=name, scopes=ALL_SCOPES if scopes is None else scopes)

    return make


@pytest.fixture
def key_client(make_api_key: Callable[..., tuple[Any, str]]) -> Callable[..., APIClient]:
    """``key_client(tenant, scopes=None)`` → an APIClient authenticated with a fresh key of that tenant."""

    def make(tenant: Tenant, scopes: list[str] | None = None) -> APIClient:
        _, raw = make_api_key(tenant, scopes)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client

    return make


@pytest.fixture
def api(tenant: Tenant, key_client: Callable[..., APIClient]) -> APIClient:
    """A client with an all-scopes key of ``tenant``."""
    return key_client(tenant)


@pytest.fixture
def member_client(db: Any) -> Callable[..., APIClient]:
    """``member_client(tenant, role)`` → an APIClient signed in (session) as a new member with ``role``."""

    def make(tenant: Tenant, role: str = Role.VIEWER) -> APIClient:
        membership = MembershipFactory(tenant=tenant, role=role)
        client = APIClient(enforce_csrf_checks=False)
        client.force_login(membership.user)
        client.user = membership.user  # type: ignore[attr-defined]
        return client

    return make


def assert_problem(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert ``response`` is an RFC 9457 problem document with ``status`` (and ``code``); return its body."""
    assert response.status_code == status, (response.status_code, getattr(response, "content", b"")[:500])
    assert response["Content-Type"].startswith("application/problem+json"), response["Content-Type"]
    body = response.json()
    for field in ("type", "title", "status", "detail", "code", "errors"):
        assert field in body, f"problem document lacks {field!r}: {body}"
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code, body
    return body
