"""Reads of approvals, scoped to the caller. Reads never write: an overdue request is *shown* EXPIRED (``shown_status``)
before a service or the periodic task expires the row (SPEC §6.1)."""

from __future__ import annotations

import copy
import functools
from datetime import datetime, timedelta
from typing import Any, ClassVar

from django.db import DatabaseError, connection
from django.db.models import Case, CharField, Count, F, Min, Prefetch, Q, QuerySet, Value, When
from django.utils import timezone

from orchestrator.lib import rawsql
from orchestrator.lib.auth import Caller
from orchestrator.lib.errors import NotFoundError
from orchestrator.lib.ids import parse_uuid
from orchestrator.models import NodeRunStatus, Role, Scope, WorkflowNode, WorkflowNodeRun

from .models import ApprovalDecision, ApprovalRequest, ApprovalStatus, ExecutionStatus, IdempotencyRecord, RiskLevel
from .services import is_overdue

READ_SCOPES = (Scope.APPROVALS_REQUEST, Scope.APPROVALS_DECIDE)


def approval_tenants(caller: Caller) -> list[Any]:
    """Tenants whose approvals ``caller`` may read: every membership of a person; a key with either scope."""
    if caller.kind == "user":
        return caller.tenant_ids()
    return [t for t, scopes in caller.scopes_by_tenant.items() if scopes.intersection(READ_SCOPES)]


def shown_status(now: datetime | None = None) -> Case:
    """The status a reader sees, as a query expression: an overdue request (PENDING past ``expires_at``, APPROVED
    past ``valid_until``) is EXPIRED even before the periodic task (or a decision) expires the row."""
    now = now or timezone.now()
    return Case(
        When(status=ApprovalStatus.PENDING, expires_at__lte=now, then=Value(ApprovalStatus.EXPIRED.value)),
        When(status=ApprovalStatus.APPROVED, valid_until__lte=now, then=Value(ApprovalStatus.EXPIRED.value)),
        default=F("status"),
        output_field=CharField(),
    )


def status_of(approval: ApprovalRequest, now: datetime | None = None) -> str:
    """``shown_status`` of one loaded request (for a row read without the annotation)."""
    return ApprovalStatus.EXPIRED if is_overdue(approval, now or timezone.now()) else approval.status


def shown_as(*statuses: str) -> Q:
    """A filter on ``shown_status`` (annotated by ``approvals_for`` and ``get_approval_for``)."""
    return Q(("shown_status__in", list(statuses)))


def approvals_for(caller: Caller) -> QuerySet[ApprovalRequest]:
    """The caller's approval requests, newest first, each annotated with ``shown_status`` (filter and count on
    it, not on ``status``). Reads only: overdue rows are expired by services and the periodic task."""
    tenants = approval_tenants(caller)
    return (
        ApprovalRequest.objects.filter(tenant_id__in=tenants)
        .annotate(shown_status=shown_status())
        .select_related("node", "run")
        .order_by("-created_at", "-id")
    )


# What a list row shows (``ApprovalSerializer``): the big columns (params, preview, context, reasoning) stay in the
# database, and of the node only its key is read.
LIST_ROW_FIELDS = (
    "id", "tenant_id", "run_id", "node__key", "node_run_id", "source", "tool", "summary", "risk_level",
    "risk_reasons", "required_approvals", "status", "action_hash", "requested_by", "created_at", "expires_at",
    "decided_at", "decision_reason", "valid_until", "expired_at", "executed_at",
    "assigned_groups", "escalation_groups", "escalated_at",  # issue 20
)  # fmt: skip


def approval_rows_for(caller: Caller) -> QuerySet[ApprovalRequest]:
    """``approvals_for`` reading only the columns of a list row."""
    return approvals_for(caller).select_related(None).select_related("node").only(*LIST_ROW_FIELDS)


# The columns a list row reads, as attribute names (``node__key`` comes from the node, by a scalar subquery).
_ROW_ATTNAMES = (*(name for name in LIST_ROW_FIELDS if "__" not in name), "node_id")
_NODE_KEY = "_raw_node_key"


@functools.cache
def _pending_page_sql(vendor: str, tenants: int, ascending: bool, position: str) -> str:
    """The page statement for ``tenants`` tenant ids, in ``ascending`` order or not, after a ``position``
    (``""``, ``"<"`` or ``">"`` on ``created_at``)."""
    col = functools.partial(rawsql.column, ApprovalRequest)
    where = f"{col('tenant')} IN ({rawsql.in_list(tenants)}) AND {col('status')} = %s AND {col('expires_at')} > %s" + (
        f" AND {col('created_at')} {position} %s" if position else ""
    )
    direction = "ASC" if ascending else "DESC"
    order_by = f"{col('created_at')} {direction}, {col('id')} {direction} LIMIT %s OFFSET %s"
    node_key = rawsql.related_value_sql(ApprovalRequest, "key", WorkflowNode, by="node")
    return rawsql.select_sql(ApprovalRequest, where, order_by, extra=node_key, only=_ROW_ATTNAMES)


class PendingPages:
    """The caller's requests shown PENDING, newest first, as the page source of ``GET /approvals`` with no filter
    (the default listing): ``LimitCursorPagination`` (DRF's cursor logic, unchanged) calls ``order_by``, ``filter``
    on ``created_at`` and a slice, as it would on ``approval_rows_for(caller).filter(shown_as(PENDING))``, and gets
    the same rows, read by one statement built once per shape (``orchestrator.lib.rawsql``) instead of a queryset
    compiled per request.

    Shown PENDING is ``status = PENDING AND expires_at > now`` (``shown_status``'s CASE, with ``expires_at`` never
    null), which is also an index range of ``approval_tenant_status_idx``. Rows carry ``shown_status`` and their
    node (id and key only), like the queryset's.
    """

    ORDERINGS: ClassVar[dict[tuple[str, ...], bool]] = {("-created_at", "-id"): False, ("created_at", "id"): True}

    def __init__(self, caller: Caller, now: datetime | None = None) -> None:
        self.tenants = approval_tenants(caller)
        self.now = now or timezone.now()
        self.ascending = False
        self.position: tuple[str, Any] | None = None

    def order_by(self, *fields: str) -> PendingPages:
        clone = copy.copy(self)
        clone.ascending = self.ORDERINGS[fields]  # any other ordering is a programming error (KeyError)
        return clone

    def filter(self, **lookup: Any) -> PendingPages:
        ((name, value),) = lookup.items()
        clone = copy.copy(self)
        clone.position = ({"created_at__lt": "<", "created_at__gt": ">"}[name], value)
        return clone

    def __getitem__(self, window: slice) -> list[ApprovalRequest]:
        start, stop = window.start or 0, window.stop
        if not self.tenants or stop is None or stop <= start:
            return []
        db = functools.partial(rawsql.db_value, ApprovalRequest)
        params = [*(db("tenant", t) for t in self.tenants), ApprovalStatus.PENDING, db("expires_at", self.now)]
        op = ""
        if self.position is not None:
            op = self.position[0]
            # As the ORM prepares a lookup's value: DRF's cursor positions are strings.
            field = ApprovalRequest._meta.get_field("created_at")
            params.append(field.get_db_prep_value(field.to_python(self.position[1]), connection, prepared=False))  # type: ignore[union-attr]
        params += [stop - start, start]
        sql = _pending_page_sql(connection.vendor, len(self.tenants), self.ascending, op)
        rows = rawsql.fetch(ApprovalRequest, sql, params, extra=_NODE_KEY, only=_ROW_ATTNAMES)
        node_field = ApprovalRequest._meta.get_field("node")
        for row in rows:
            row.shown_status = ApprovalStatus.PENDING
            node = WorkflowNode.from_db(connection.alias, ["id", "key"], [row.node_id, getattr(row, _NODE_KEY)])
            node_field.set_cached_value(row, node)  # type: ignore[union-attr]
        return rows


def get_approval_for(caller: Caller, approval_id: Any) -> ApprovalRequest:
    """One request the caller may read (404 otherwise, also for another tenant's), with ``shown_status``."""
    approval = (
        ApprovalRequest.objects.filter(tenant_id__in=approval_tenants(caller), pk=approval_id)
        .annotate(shown_status=shown_status())
        .select_related("node", "run", "execution")
        .prefetch_related(Prefetch("decisions", queryset=ApprovalDecision.objects.order_by("created_at")))
        .first()
    )
    if approval is None:
        raise NotFoundError("No such approval request.")
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
    by_status.update({row["s"]: row["n"] for row in qs.values(s=F("shown_status")).annotate(n=Count("id")).order_by()})
    by_risk = {r: 0 for r in RiskLevel.values}
    by_risk.update({row["risk_level"]: row["n"] for row in qs.values("risk_level").annotate(n=Count("id")).order_by()})
    pending = qs.filter(shown_as(ApprovalStatus.PENDING))
    oldest = pending.aggregate(oldest=Min("created_at"))["oldest"]
    decided = list(
        qs.filter(decided_at__gte=since, decided_at__isnull=False)
        .values_list("created_at", "decided_at")
        .order_by()[:100000]
    )
    latencies = sorted((d - c).total_seconds() for c, d in decided if d is not None)
    # Expired while pending: by the expiry (``expired_at``) or shown EXPIRED before it (its deadline passed).
    expired_pending = (
        qs.filter(shown_as(ApprovalStatus.EXPIRED), decided_at__isnull=True)
        .filter(Q(expired_at__gte=since) | Q(expired_at__isnull=True, expires_at__gte=since))
        .count()
    )
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


def superseded_request(approval: ApprovalRequest) -> ApprovalRequest | None:
    """The request this one supersedes: the most recent earlier request for the same step of the same run with a
    different action (another action hash), or None. Same tenant by construction (the step is the tenant's)."""
    return (
        ApprovalRequest.objects.filter(node_id=approval.node_id, created_at__lt=approval.created_at)
        .exclude(action_hash=approval.action_hash)
        .order_by("-created_at")
        .only("id", "status", "created_at", "preview", "tool", "params")
        .first()
    )


def stuck_executions_for(caller: Caller) -> QuerySet[IdempotencyRecord]:
    """Claimed executions (IN_PROGRESS) whose attempt is no longer running (its worker died, the attempt was
    reaped), in the tenants where ``caller`` is an operator: whether the action happened is unknown, and only a
    person may say (issue 24). Oldest first."""
    tenants = [tenant for tenant, role in caller.roles_by_tenant.items() if role == Role.OPERATOR]
    in_progress = IdempotencyRecord.objects.filter(tenant_id__in=tenants, status=ExecutionStatus.IN_PROGRESS)
    # ``node_run_id`` is text (a UUID, or '' before a claim), and UUIDs are stored differently per vendor, so no
    # portable join: look up only the attempts these few in-flight executions name (not every running attempt).
    parsed = (parse_uuid(value) for value in in_progress.values_list("node_run_id", flat=True))
    claimed = {attempt for attempt in parsed if attempt is not None}
    live = WorkflowNodeRun.objects.filter(id__in=claimed, status=NodeRunStatus.RUNNING).values_list("id", flat=True)
    return (
        in_progress.exclude(node_run_id__in=[str(attempt) for attempt in live])
        .select_related("approval", "approval__run", "approval__node", "tenant")
        .order_by("created_at")
    )


def approval_ref_for(caller: Caller, approval_id: Any) -> ApprovalRequest:
    """Only the id and tenant of one request the caller may read (404 otherwise), for a service that reads the
    row itself under its lock (deciding, issue 22): one narrow statement instead of the detail read."""
    approval = (
        ApprovalRequest.objects.filter(tenant_id__in=approval_tenants(caller), pk=approval_id)
        .only("id", "tenant_id")
        .first()
    )
    if approval is None:
        raise NotFoundError("No such approval request.")
    return approval
