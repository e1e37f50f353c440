"""Helpers for the audit tests: writing entries through ``events.emit``, tampering, bulk seeding."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection, transaction

from audit.models import AuditLog
from orchestrator import events
from orchestrator.models import Tenant


def emit(tenant: Tenant | None, action: str = "workflow.created", **overrides: Any) -> AuditLog:
    """Emit one event the way services do (inside a transaction) and return its audit entry."""
    kwargs: dict[str, Any] = {
        "tenant_id": tenant.pk if tenant is not None else None,
        "resource_type": "workflow",
        "resource_id": str(uuid.uuid4()),
        "data": {"n": 1},
    }
    kwargs.update(overrides)
    with transaction.atomic():
        event = events.emit(action, **kwargs)
    return AuditLog.objects.get(event_id=event.id)


@pytest.fixture
def emit_entry() -> Callable[..., AuditLog]:
    return emit


@contextmanager
def triggers_off() -> Iterator[None]:
    """Let the test play attacker: on PostgreSQL, bypass the append-only triggers for this transaction."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = DEFAULT")
    else:
        yield


def seed_rows(tenant: Tenant, count: int, *, chain: str | None = None, start: datetime | None = None) -> str:
    """Insert ``count`` entries for ``tenant`` fast (not a valid chain: for export volume tests only)."""
    chain = chain or f"bulk-{uuid.uuid4().hex[:20]}"
    start = start or datetime(2026, 1, 1, tzinfo=UTC)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO audit_auditlog (id, chain, sequence, created_at, tenant_id, event_id, action, actor_type,
                    actor_id, actor_display, ip, user_agent, request_id, resource_type, resource_id, before, after,
                    reason, metadata, key_id, prev_hash, hash)
                SELECT gen_random_uuid(), %s, g, %s + g * interval '1 millisecond', %s, gen_random_uuid(),
                    'workflow.started', 'api_key', 'key-' || (g %% 7), '=evil (' || g || ')', '10.0.0.1',
                    'bench/1.0', 'req-' || g, 'workflow', 'wf-' || g, '{"status": "READY"}'::jsonb,
                    '{"status": "RUNNING"}'::jsonb, 'reason ' || g, '{"data": {"g": 1}}'::jsonb,
                    'legacy-sha256', repeat('0', 64), md5(g::text) || md5(g::text)
                FROM generate_series(1, %s) AS g
                """,
                [chain, start, tenant.pk, count],
            )
    else:
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO audit_auditlog (id, chain, sequence, created_at, tenant_id, event_id, action, actor_type,
                    actor_id, actor_display, ip, user_agent, request_id, resource_type, resource_id, before, after,
                    reason, metadata, key_id, prev_hash, hash)
                WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < %s)
                SELECT lower(hex(randomblob(16))), %s, n,
                    strftime('%%Y-%%m-%%d %%H:%%M:%%f', %s, '+' || n || ' seconds'), %s,
                    lower(hex(randomblob(16))), 'workflow.started', 'api_key', 'key-' || (n %% 7),
                    '=evil (' || n || ')', '10.0.0.1', 'bench/1.0', 'req-' || n, 'workflow', 'wf-' || n,
                    '{"status": "READY"}', '{"status": "RUNNING"}', 'reason ' || n, '{"data": {"g": 1}}',
                    'legacy-sha256', printf('%%064d', 0), printf('%%064x', n)
                FROM g
                """,
                [count, chain, start.strftime("%Y-%m-%d %H:%M:%S"), tenant.pk.hex],
            )
    return chain
