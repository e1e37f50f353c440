"""Reads of the audit log, scoped to the caller's tenants (another tenant's entries are never visible)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate

from orchestrator.lib.auth import Caller
from orchestrator.models import Scope

from .models import AuditLog


def audit_tenants_for(caller: Caller) -> list[Any]:
    """Tenants whose audit the caller reads: every membership for people (viewers included), ``audit`` for keys."""
    return caller.readable_tenants(Scope.AUDIT)


def audit_entries_for(caller: Caller) -> QuerySet[AuditLog]:
    return AuditLog.objects.filter(tenant_id__in=audit_tenants_for(caller))


def approval_trail_for(caller: Caller, approval_id: str) -> QuerySet[AuditLog]:
    """Every entry about one approval, oldest first (per chain order; an approval lives in one tenant's chain)."""
    return (
        audit_entries_for(caller)
        .filter(resource_type="approval", resource_id=str(approval_id))
        .order_by("created_at", "sequence")
    )


def audit_stats(entries: QuerySet[AuditLog]) -> dict[str, Any]:
    """Counts by action, by resource type and by UTC day over ``entries`` (already filtered and scoped)."""
    base = entries.order_by()
    by_action = base.values("action").annotate(count=Count("id")).order_by("action")
    by_resource = base.values("resource_type").annotate(count=Count("id")).order_by("resource_type")
    by_day = base.annotate(day=TruncDate("created_at")).values("day").annotate(count=Count("id")).order_by("day")
    return {
        "total": base.count(),
        "by_action": {row["action"]: row["count"] for row in by_action},
        "by_resource_type": {row["resource_type"]: row["count"] for row in by_resource},
        "by_day": [{"day": row["day"].isoformat(), "count": row["count"]} for row in by_day],
    }
