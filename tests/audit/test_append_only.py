"""Append-only on PostgreSQL: the application's connection cannot UPDATE, DELETE or TRUNCATE (SPEC §7.2)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from audit import services
from audit.models import AuditCheckpoint, AuditLog
from tests.audit.conftest import emit

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _execute(sql: str, params=None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_update_of_an_entry_is_rejected(tenant) -> None:
    entry = emit(tenant)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditLog.objects.filter(pk=entry.pk).update(reason="rewritten")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        entry.reason = "rewritten"
        entry.save()
    entry.refresh_from_db()
    assert entry.reason == ""


def test_delete_of_an_entry_is_rejected(tenant) -> None:
    entry = emit(tenant)
    with pytest.raises(DatabaseError, match="covered by a checkpoint"), transaction.atomic():
        AuditLog.objects.filter(pk=entry.pk).delete()
    with pytest.raises(DatabaseError, match="covered by a checkpoint"), transaction.atomic():
        _execute("DELETE FROM audit_auditlog")
    assert AuditLog.objects.filter(pk=entry.pk).exists()


@pytest.mark.parametrize("table", ["audit_auditlog", "audit_auditcheckpoint", "audit_auditchainhead"])
def test_truncate_is_rejected_whatever_the_session_sets(tenant, table) -> None:
    emit(tenant)
    for setting in ("audit.allow_truncate", "audit.allow_purge", "audit.bypass"):
        with pytest.raises(DatabaseError, match="TRUNCATE"), transaction.atomic():
            _execute(f"SET LOCAL {setting} = 'on'")
            _execute(f"TRUNCATE {table} CASCADE")
    assert AuditLog.objects.filter(tenant=tenant).exists()


def test_checkpoints_are_append_only_too(tenant, settings) -> None:
    settings.AUDIT_LOG_RETENTION_DAYS = 1
    emit(tenant)
    assert services.purge_expired_entries(now=timezone.now() + timedelta(days=2)) == 1
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditCheckpoint.objects.update(sequence=0)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditCheckpoint.objects.all().delete()


@pytest.mark.django_db(transaction=True)
def test_retention_purge_deletes_through_the_allowed_path(tenant, settings) -> None:
    settings.AUDIT_LOG_RETENTION_DAYS = 30
    for _ in range(3):
        emit(tenant)
    assert services.purge_expired_entries(now=timezone.now() + timedelta(days=31)) == 3
    assert not AuditLog.objects.filter(tenant=tenant).exclude(action="audit.checkpoint").exists()
    # entries past the checkpoint stay protected
    emit(tenant)
    with pytest.raises(DatabaseError, match="covered by a checkpoint"), transaction.atomic():
        AuditLog.objects.filter(tenant=tenant).delete()
