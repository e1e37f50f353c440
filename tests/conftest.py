"""Shared fixtures: tenants, API keys, authenticated clients, and the PostgreSQL/Redis markers.

Tests marked ``postgres`` skip on SQLite with a reason; CI runs the whole suite on PostgreSQL and Redis.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from orchestrator import services
from orchestrator.lib.auth import generate_key, hash_key
from orchestrator.models import ApiKey, Role, Scope, ServiceAccount, Tenant
from tests import lanes
from tests.factories import MembershipFactory, TenantFactory

ALL_SCOPES = list(Scope.values)


def pytest_configure(config: pytest.Config) -> None:
    """In the xdist controller under ``--dist loadgroup``: a folder where the workers leave their test groups."""
    if not hasattr(config, "workerinput") and config.getoption("dist", default="no") == "loadgroup":
        folder = tempfile.mkdtemp(prefix="pytest-lanes-")
        os.environ[lanes.GROUPS_DIR_ENV] = folder
        config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    return lanes.make_scheduler(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    on_postgres = settings.DATABASE_IS_POSTGRES
    has_redis = bool(os.environ.get("REDIS_URL"))
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://…"))
        if "redis" in item.keywords and not has_redis:
            item.add_marker(pytest.mark.skip(reason="needs Redis: set REDIS_URL=redis://…"))
    lanes.write_groups(config, items)  # the serial lane and module groups of `make test` (tests/lanes.py)


@pytest.fixture(scope="session", autouse=True)
def _flush_past_audit_triggers() -> Any:
    """Let Django's test teardown empty the append-only audit tables, in the test process only.

    The audit triggers refuse TRUNCATE with no exception a session could switch on (migration 0006). Between
    transactional tests Django flushes every table with one TRUNCATE; the test connection is a superuser, so the
    flush runs with ``session_replication_role = replica`` (triggers do not fire), a superuser-only power the
    application's role lacks. This wrapper lives in the test suite and never ships.

    The flush also runs as one ``DELETE`` per table instead of the ``TRUNCATE``: after a test the tables hold a few
    rows, and TRUNCATE of every table gives each a new file (0.5–1 s per transactional test, measured) where the
    DELETEs take about 10 ms. Same end state: with the replica role no trigger or foreign-key check fires, so order
    does not matter, and neither form resets sequences (a flush that asks for it, ``RESTART IDENTITY``, or any other
    form is left as Django wrote it).
    """
    from django.db import transaction
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.execute_sql_flush

    def execute_sql_flush(self: DatabaseOperations, sql_list: list[str]) -> None:
        with transaction.atomic(using=self.connection.alias):
            with self.connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
            original(self, _truncate_as_deletes(sql_list))

    DatabaseOperations.execute_sql_flush = execute_sql_flush  # type: ignore[method-assign]
    yield
    DatabaseOperations.execute_sql_flush = original  # type: ignore[method-assign]


_PLAIN_TRUNCATE = re.compile(r'TRUNCATE ("[^"]+"(?:, "[^"]+")*);')


def _truncate_as_deletes(sql_list: list[str]) -> list[str]:
    """Django's PostgreSQL flush ``TRUNCATE "a", "b";`` as ``DELETE FROM "a"``, …; anything else unchanged."""
    match = _PLAIN_TRUNCATE.fullmatch(sql_list[0].strip()) if len(sql_list) == 1 else None
    if match is None:
        return sql_list
    # The names are the quoted table names Django itself put in the TRUNCATE.
    return [f"DELETE FROM {table}" for table in match.group(1).split(", ")]  # noqa: S608


@pytest.fixture(autouse=True)
def _audit_anchor_dir(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Each test gets its own audit anchor store: anchors name chains (``global`` too) that the test DB resets."""
    settings.AUDIT_ANCHOR_DIR = tmp_path_factory.mktemp("audit-anchors")


@pytest.fixture(autouse=True)
def services_may_decide_every_level(settings: Any) -> None:
    """Suites written before issue 15 decide HIGH/CRITICAL requests with service keys to exercise the approval
    state machine; they run under a policy that allows it (as a tenant may choose). The default policy (people only
    at HIGH/CRITICAL) is tested in ``tests/principals``, whose conftest turns this fixture off."""
    policy = dict(settings.APPROVAL_RISK_POLICY)
    policy["deciders"] = {level: "humans_or_services" for level in ("LOW", "MEDIUM", "HIGH", "CRITICAL")}
    settings.APPROVAL_RISK_POLICY = policy


def signed_in(caller: Any) -> Any:
    """``caller`` (a person) as if they had just signed in: a recent authentication, so no step-up is asked."""
    import dataclasses
    import time

    return dataclasses.replace(caller, auth_at=time.time(), auth_method="password")


@pytest.fixture
def tenant(db: Any) -> Tenant:
    return TenantFactory()


@pytest.fixture
def other_tenant(db: Any) -> Tenant:
    return TenantFactory()


@pytest.fixture
def make_api_key(db: Any) -> Callable[..., tuple[Any, str]]:
    """``make_api_key(tenant, scopes=[...])`` → ``(ApiKey, raw_key)``."""

    counter = iter(range(1, 1_000_000))

    def make(tenant: Tenant, scopes: list[str] | None = None, name: str | None = None) -> tuple[Any, str]:
        # Test setup, like the factories: rows written directly, so suites that count audit entries see only the
        # entries of what they test (minting keys through the audited service is tested in tests/principals).
        # Each key has its own service account (named like the key) unless a test shares a name on purpose.
        number = next(counter)
        key_name = name if name is not None else ("test" if number == 1 else f"test-{number}")
        account, _ = ServiceAccount.objects.get_or_create(tenant=tenant, name=key_name)
        raw_key, prefix = generate_key()
        api_key = ApiKey.objects.create(
            tenant=tenant,
            name=key_name,
            prefix=prefix,
            key_hash=hash_key(raw_key),
            scopes=services.validate_scopes(ALL_SCOPES if scopes is None else scopes),
            service_account=account,
        )
        return api_key, raw_key

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
