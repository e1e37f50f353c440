"""Reminders and escalation (issue 20), run by the periodic task ``approvals.tasks.remind_and_escalate``.

Each routed request is reminded once (at ``reminder_fraction`` of its time, default 50%) and, when its rule names
escalation groups, escalated once (at ``escalation_fraction``, default 75%): a compare-and-set on ``reminded_at`` /
``escalated_at`` under a SKIP LOCKED row lock, so concurrent runs of the task do it exactly once. Escalation adds
the escalation groups to those who may decide, tells them, and is recorded and announced (``approval.escalated``).
Additive: the expiry sweep (``services.expire_overdue_approvals``) is untouched.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from orchestrator.lib.context import SYSTEM_ACTOR

from . import notifications
from .events import emit_approval_event
from .models import ApprovalRequest, ApprovalStatus, NotificationKind


def _due(field_name: str, done_field: str, now: datetime, limit: int) -> list[Any]:
    return list(
        ApprovalRequest.objects.filter(
            status=ApprovalStatus.PENDING,
            expires_at__gt=now,
            **{f"{field_name}__lte": now, f"{done_field}__isnull": True},
        )
        .order_by(field_name)
        .values_list("pk", flat=True)[:limit]
    )


def _lock(pk: Any) -> ApprovalRequest | None:
    return (
        ApprovalRequest.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("node")
        .filter(pk=pk, status=ApprovalStatus.PENDING)
        .first()
    )


def send_due_reminders(*, now: datetime | None = None, limit: int = 500) -> int:
    """Remind the routed reviewers of every request past its reminder time; returns how many were reminded.

    Side effects per request, in one transaction: ``reminded_at`` and the reminder's outbox rows (sent on commit).
    """
    now = now or timezone.now()
    done = 0
    for pk in _due("remind_at", "reminded_at", now, limit):
        with transaction.atomic():
            approval = _lock(pk)
            if approval is None or approval.reminded_at is not None:
                continue
            if not ApprovalRequest.objects.filter(pk=pk, reminded_at__isnull=True).update(reminded_at=now):
                continue  # pragma: no cover - impossible under the row lock; kept as the compare-and-set
            approval.reminded_at = now
            notifications.enqueue(approval, kind=NotificationKind.REMINDER, now=now)
            done += 1
    return done


def escalate_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Escalate every request past its escalation time to its escalation groups; returns how many.

    Side effects per request, in one transaction: ``escalated_at`` (the escalation groups may decide from now
    on), ``approval.escalated`` (audit and webhooks), the escalation groups' outbox rows (sent on commit).
    """
    now = now or timezone.now()
    done = 0
    for pk in _due("escalate_at", "escalated_at", now, limit):
        with transaction.atomic():
            approval = _lock(pk)
            if approval is None or approval.escalated_at is not None:
                continue
            if not ApprovalRequest.objects.filter(pk=pk, escalated_at__isnull=True).update(escalated_at=now):
                continue  # pragma: no cover - impossible under the row lock; kept as the compare-and-set
            approval.escalated_at = now
            groups = list(approval.escalation_groups or [])
            emit_approval_event(
                "approval.escalated",
                approval,
                actor=SYSTEM_ACTOR,
                before=None,
                reason="not decided by the routed reviewers in time",
                escalated_to=groups,
                assigned_groups=list(approval.assigned_groups or []),
                escalated_at=now.isoformat().replace("+00:00", "Z"),
            )
            notifications.enqueue(approval, kind=NotificationKind.ESCALATED, now=now, groups=groups)
            done += 1
    return done


def remind_and_escalate(*, now: datetime | None = None) -> dict[str, int]:
    """Both passes, reminders first (a request due for both gets both, each once)."""
    now = now or timezone.now()
    return {"reminded": send_due_reminders(now=now), "escalated": escalate_due(now=now)}
