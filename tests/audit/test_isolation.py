"""Issue 16: retention purges every other chain when one chain's purge is refused by the database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from audit import services
from audit.models import AuditCheckpoint, AuditLog
from orchestrator.lib import units
from tests.audit.conftest import emit
from tests.poison import poison

pytestmark = pytest.mark.django_db


def test_one_chain_that_cannot_be_purged_does_not_stop_the_others(
    tenant: Any, other_tenant: Any, settings: Any
) -> None:
    settings.AUDIT_LOG_RETENTION_DAYS = 30
    with time_machine.travel(timezone.now() - timedelta(days=40), tick=True):
        for owner in (tenant, other_tenant):
            emit(owner)
            emit(owner)
    with poison(AuditCheckpoint, str(tenant.pk), column="chain", event="INSERT"):
        assert services.purge_expired_entries() == 2
    kept = AuditLog.objects.exclude(action="audit.checkpoint")
    assert kept.filter(tenant=tenant).count() == 2 and not kept.filter(tenant=other_tenant).exists()
    assert units.failure_count(services.RETENTION_JOB, f"chain:{tenant.pk}") == 1
