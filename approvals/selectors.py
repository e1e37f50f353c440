"""Reads of approvals, scoped to the caller. Overdue requests are expired before they are returned (SPEC §6.1)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import DatabaseError
from django.db.models import Count, Min, Prefetch, QuerySet
from django.utils import timezone

from orchestrator.lib.auth import Caller
from orchestrator.lib.errors import NotFoundError
from orchestrator.models import NodeRunStatus, Role, Scope, WorkflowNodeRun

from .models import ApprovalDecision, ApprovalRequest, ApprovalStatus, ExecutionStatus, IdempotencyRecord, RiskLevel
from .services import expire_if_overdue, expire_overdue_approvals, is_overdue

READ_SCOPES = (Scope.APPROVALS_REQUEST, Scope.APPROVALS_DECIDE)


def approval_tenants(caller: Caller) -> list[Any]:
    """Tenants whose approvals ``caller`` may read: every membership of a person; a key with either scope."""
    if caller.kind == "user":
        return caller.tenant_ids()
    return [t for t, scopes in caller.scopes_by_tenant.items() if scopes.intersection(READ_SCOPES)]


def approvals_for(caller: Caller, *, expire: bool = True) -> QuerySet[ApprovalRequest]:
    """The caller's approval requests, newest first, after expiring the overdue ones of its tenants."""
    tenants = approval_tenants(caller)
    if expire and tenants:
        expire_overdue_approvals(tenant_ids=tenants)
    return (
        ApprovalRequest.objects.filter(tenant_id__in=tenants)
        .select_related("node", "run")
        .order_by("-created_at", "-id")
    )


# What a list row shows (``ApprovalSerializer``): the big columns (params, preview, context, reasoning) stay in the
# database, and of the node only its key is read.
LIST_ROW_FIELDS = (
    "id", "tenant_id", "run_id", "node__key", "node_run_id", "source", "tool", "summary", "risk_level",
    "risk_reasons", "required_approvals", "status", "action_hash", "requested_by", "created_at", "expires_at",
    "decided_at", "decision_reason", "valid_until", "expired_at", "executed_at",
)  # fmt: skip


def approval_rows_for(caller: Caller, *, expire: bool = True) -> QuerySet[ApprovalRequest]:
    """``approvals_for`` reading only the columns of a list row."""
    return approvals_for(caller, expire=expire).select_related(None).select_related("node").only(*LIST_ROW_FIELDS)


def listing_may_show_expired(statuses: list[str]) -> bool:
    """Whether a list filtered by these ``status`` values (none: the PENDING default) can contain EXPIRED rows,
    in which case every overdue request must be expired *before* the query, or it would be missing."""
    return any(value in (ApprovalStatus.EXPIRED, "ALL") for value in statuses)


def any_overdue(rows: list[ApprovalRequest], now: datetime | None = None) -> bool:
    """Whether a row about to be shown is overdue but not yet expired (the periodic task has not got to it)."""
    now = now or timezone.now()
    return any(is_overdue(row, now) for row in rows)


def expire_overdue_for(caller: Caller) -> int:
    """Expire every overdue request of the caller's tenants now; returns how many."""
    tenants = approval_tenants(caller)
    return expire_overdue_approvals(tenant_ids=tenants) if tenants else 0


def get_approval_for(caller: Caller, approval_id: Any) -> ApprovalRequest:
    """One request the caller may read (404 otherwise, also for another tenant's), expired first if overdue."""
    approval = (
        ApprovalRequest.objects.filter(tenant_id__in=approval_tenants(caller), pk=approval_id)
        .select_related("node", "run", "execution")
        .prefetch_related(Prefetch("decisions", queryset=ApprovalDecision.objects.order_by("created_at")))
        .first()
    )
    if approval is None:
        raise NotFoundError("No such approval request.")
    if expire_if_overdue(approval=approval):
        approval.refresh_from_db()
    return approval


def _percentile(sorted_values: list[float], fraction: float) -> float | None:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


def approval_stats(caller: Caller, *, window: timedelta, now: datetime | None = None) -> dict[str, Any]:
    """Counts by status and risk level, pending count and oldest pending age, decision latency p50/p95 and the
    expiry rate over ``window`` (expired while pending / (decided + expired while pending))."""
    now = now or timezone.now()
    since = now - window
    qs = approvals_for(caller)
    by_status = {s: 0 for s in ApprovalStatus.values}
    by_status.update({row["status"]: row["n"] for row in qs.values("status").annotate(n=Count("id")).order_by()})
    by_risk = {r: 0 for r in RiskLevel.values}
    by_risk.update({row["risk_level"]: row["n"] for row in qs.values("risk_level").annotate(n=Count("id")).order_by()})
    pending = qs.filter(status=ApprovalStatus.PENDING)
    oldest = pending.aggregate(oldest=Min("created_at"))["oldest"]
    decided = list(
        qs.filter(decided_at__gte=since, decided_at__isnull=False)
        .values_list("created_at", "decided_at")
        .order_by()[:100000]
    )
    latencies = sorted((d - c).total_seconds() for c, d in decided if d is not None)
    expired_pending = qs.filter(status=ApprovalStatus.EXPIRED, expired_at__gte=since, decided_at__isnull=True).count()
    outcomes = len(decided) + expired_pending
    return {
        "by_status": by_status,
        "by_risk_level": by_risk,
        "pending": by_status[ApprovalStatus.PENDING],
        "pending_by_risk_level": {
            r: n
            for r, n in (
                (row["risk_level"], row["n"]) for row in pending.values("risk_level").annotate(n=Count("id")).order_by()
            )
        },
        "oldest_pending_age_seconds": (now - oldest).total_seconds() if oldest else None,
        "window_hours": window.total_seconds() / 3600,
        "decisions_in_window": len(decided),
        "decision_latency_seconds": {"p50": _percentile(latencies, 0.5), "p95": _percentile(latencies, 0.95)},
        "expired_in_window": expired_pending,
        "expiry_rate": (expired_pending / outcomes) if outcomes else None,
    }


def pending_by_risk_level() -> list[tuple[tuple[str, ...], float]]:
    """``approvals_pending{risk_level}`` samples, computed at scrape time (not yet expired only)."""
    now = timezone.now()
    counts = {r: 0 for r in RiskLevel.values}
    try:
        rows = list(
            ApprovalRequest.objects.filter(status=ApprovalStatus.PENDING, expires_at__gt=now)
            .values("risk_level")
            .annotate(n=Count("id"))
            .order_by()
        )
    except DatabaseError:  # a scrape must not fail because the database is briefly away
        return []
    counts.update({row["risk_level"]: row["n"] for row in rows})
    return [((level,), float(n)) for level, n in counts.items()]


def stuck_executions_for(caller: Caller) -> QuerySet[IdempotencyRecord]:
    """Claimed executions (IN_PROGRESS) whose attempt is no longer running (its worker died, the attempt was
    reaped), in the tenants where ``caller`` is an operator: whether the action happened is unknown, and only a
    person may say (issue 24). Oldest first."""
    tenants = [tenant for tenant, role in caller.roles_by_tenant.items() if role == Role.OPERATOR]
    live = WorkflowNodeRun.objects.filter(status=NodeRunStatus.RUNNING).values_list("id", flat=True)
    return (
        IdempotencyRecord.objects.filter(tenant_id__in=tenants, status=ExecutionStatus.IN_PROGRESS)
        .exclude(node_run_id__in=[str(i) for i in live.filter(run__tenant_id__in=tenants)])
        .select_related("approval", "approval__run", "approval__node", "tenant")
        .order_by("created_at")
    )
