"""Retention (SPEC §7.3): a periodic task removes old entries by the only allowed path and checkpoints the chain."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.utils import timezone

from audit import services, tasks, verification
from audit.models import AuditCheckpoint, AuditLog
from tests.audit.conftest import emit

pytestmark = pytest.mark.django_db


def _write_at(tenant, when, count: int = 1) -> list[AuditLog]:
    with time_machine.travel(when, tick=True):
        return [emit(tenant) for _ in range(count)]


def test_purge_removes_only_entries_past_retention_and_checkpoints(tenant, other_tenant, settings) -> None:
    settings.AUDIT_LOG_RETENTION_DAYS = 90
    now = timezone.now()
    old = _write_at(tenant, now - timedelta(days=100), 3)
    recent = _write_at(tenant, now - timedelta(days=10), 2)
    theirs_old = _write_at(other_tenant, now - timedelta(days=91), 1)

    assert tasks.purge_expired_audit_logs.run() == 4

    kept = AuditLog.objects.exclude(action="audit.checkpoint")
    assert list(kept.filter(tenant=tenant).order_by("sequence")) == recent
    assert not kept.filter(tenant=other_tenant).exists()
    checkpoint = AuditCheckpoint.objects.get(chain=str(tenant.pk))
    assert (checkpoint.sequence, checkpoint.hash, checkpoint.removed) == (3, old[-1].hash, 3)
    assert AuditCheckpoint.objects.get(chain=str(other_tenant.pk)).hash == theirs_old[0].hash
    assert verification.verify_chains().ok
    # nothing more is due: a second run is a no-op and writes no checkpoint
    assert services.purge_expired_entries() == 0
    assert AuditCheckpoint.objects.count() == 2


def test_purge_keeps_the_chain_contiguous_when_clocks_disagree(tenant, settings) -> None:
    settings.AUDIT_LOG_RETENTION_DAYS = 30
    now = timezone.now()
    _write_at(tenant, now - timedelta(days=40), 1)
    _write_at(tenant, now - timedelta(days=1), 1)  # sequence 2 is recent…
    _write_at(tenant, now - timedelta(days=50), 1)  # …so sequence 3 waits, though older
    assert services.purge_expired_entries() == 1
    kept = AuditLog.objects.filter(tenant=tenant).exclude(action="audit.checkpoint")
    assert list(kept.values_list("sequence", flat=True).order_by("sequence")) == [2, 3]
    assert verification.verify_chains([tenant.pk]).ok


def test_purge_works_in_batches(tenant, settings) -> None:
    settings.AUDIT_LOG_RETENTION_DAYS = 1
    _write_at(tenant, timezone.now() - timedelta(days=3), 7)
    assert services.purge_expired_entries(batch_size=3) == 7
    assert list(AuditCheckpoint.objects.order_by("sequence").values_list("sequence", "removed")) == [
        (3, 3),
        (6, 3),
        (7, 1),
    ]
    assert verification.verify_chains([tenant.pk]).ok


def test_zero_retention_keeps_everything(tenant, settings) -> None:
    settings.AUDIT_LOG_RETENTION_DAYS = 0
    _write_at(tenant, timezone.now() - timedelta(days=3650), 2)
    assert tasks.purge_expired_audit_logs.run() == 0
    assert AuditLog.objects.filter(tenant=tenant).count() == 2
    assert not AuditCheckpoint.objects.exists()


def test_retention_runs_from_celery_beat() -> None:
    entries = [
        e for e in django_settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == tasks.purge_expired_audit_logs.name
    ]
    assert len(entries) == 1
    assert entries[0]["options"]["queue"] == "maintenance"
