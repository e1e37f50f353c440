"""Notifications to routed reviewers (issue 20): an outbox row per (request, channel, kind, recipient), written in
the transaction that makes the news, and sent once by a Celery task after commit.

"Never twice": the unique key refuses a second row for the same message, and a row is sent only after a
compare-and-set PENDING → SENDING. A failure puts it back to PENDING (retried with backoff up to
``NOTIFICATION_MAX_ATTEMPTS``, then FAILED). A worker dying mid-send leaves the row SENDING, and nothing resends
it: a lost reminder is better than a duplicate one (docs/decisions.md).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from celery.exceptions import NotRegistered
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import make_msgid
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone

from orchestrator.celery import app as celery_app
from orchestrator.principals import principals_for_actor, user_principal

from . import links, routing, slack
from .events import console_url
from .models import (
    ApprovalRequest,
    Delegation,
    NotificationChannel,
    NotificationKind,
    NotificationOutbox,
    OutboxStatus,
)

logger = logging.getLogger(__name__)

SEND_TASK = "approvals.tasks.send_notification"
OUTCOME_TASK = "approvals.tasks.update_slack_outcome"
SUBJECTS: dict[str, str] = {
    NotificationKind.REQUESTED: "Approval needed",
    NotificationKind.REMINDER: "Reminder: approval needed",
    NotificationKind.ESCALATED: "Escalated: approval needed",
}


def recipients(approval: ApprovalRequest, groups: Iterable[str], now: datetime) -> list[Any]:
    """People to tell: members of ``groups`` who may decide in the tenant, and whoever they delegate to now,
    except anyone who counts as the requester (they cannot decide it)."""
    members = list(routing.members_of(approval.tenant_id, groups))
    delegates = [
        d.delegate
        for d in Delegation.objects.filter(
            tenant_id=approval.tenant_id,
            delegator__in=members,
            starts_at__lte=now,
            ends_at__gt=now,
            revoked_at__isnull=True,
        ).select_related("delegate")
    ]
    requester = principals_for_actor(approval.requested_by or {})
    seen: dict[Any, Any] = {}
    for person in [*members, *delegates]:
        if person.pk not in seen and user_principal(person.pk) not in requester and person.email:
            seen[person.pk] = person
    return list(seen.values())


def enqueue(approval: ApprovalRequest, *, kind: str, now: datetime, groups: Iterable[str] | None = None) -> list[str]:
    """Write the outbox rows of one piece of news and send them after commit; returns the row ids written.

    Precondition: inside the transaction that records the news. Unrouted requests notify nobody. ``groups``
    defaults to the request's assigned groups. Rows that already exist (same key) are left alone.
    """
    groups = list(groups if groups is not None else approval.assigned_groups or [])
    if not groups:
        return []
    rows = [
        NotificationOutbox(
            tenant_id=approval.tenant_id,
            approval=approval,
            channel=NotificationChannel.EMAIL,
            kind=kind,
            recipient=person.email.lower(),
            user=person,
            created_at=now,
        )
        for person in recipients(approval, groups, now)
    ]
    if approval.slack_channel and settings.SLACK_BOT_TOKEN and kind == NotificationKind.REQUESTED:
        rows.append(
            NotificationOutbox(
                tenant_id=approval.tenant_id,
                approval=approval,
                channel=NotificationChannel.SLACK,
                kind=kind,
                recipient=approval.slack_channel,
                created_at=now,
            )
        )
    if not rows:
        return []
    NotificationOutbox.objects.bulk_create(rows, ignore_conflicts=True)
    ids = list(
        NotificationOutbox.objects.filter(
            approval=approval, kind=kind, status=OutboxStatus.PENDING, pk__in=[r.pk for r in rows]
        ).values_list("pk", flat=True)
    )
    transaction.on_commit(lambda: send_tasks([str(pk) for pk in ids]), robust=True)
    return [str(pk) for pk in ids]


def _task(name: str) -> Any:
    """The registered task ``name`` (the task module stands above this one; a web process imports the apps' task
    modules on the first lookup, as ``orchestrator.wakeups`` does)."""
    try:
        return celery_app.tasks[name]
    except NotRegistered:
        celery_app.loader.import_default_modules()
        return celery_app.tasks[name]


def send_tasks(outbox_ids: list[str]) -> None:
    """Hand rows to the broker; a broker failure is logged (the periodic sweep sends PENDING rows later)."""
    for outbox_id in outbox_ids:
        try:  # by name, as the engine sends its tasks: the task module stands above this one
            _task(SEND_TASK).apply_async(args=(outbox_id,), queue="maintenance")
        except Exception:
            logger.exception("could not enqueue notification %s; the sweep will send it", outbox_id)


def send(outbox_id: Any, *, now: datetime | None = None) -> str:
    """Send one outbox row if it is still PENDING; returns its status afterwards (``"retry"`` to retry later).

    Side effects: the message (SMTP or Slack), the row's status. Never raises for a delivery failure.
    """
    claimed = NotificationOutbox.objects.filter(pk=outbox_id, status=OutboxStatus.PENDING).update(
        status=OutboxStatus.SENDING, attempts=F("attempts") + 1
    )
    if not claimed:
        return "skipped"
    row = NotificationOutbox.objects.select_related("approval__node", "approval__run", "user").get(pk=outbox_id)
    try:
        ref = _deliver(row)
    except Exception as exc:
        logger.warning("notification %s failed (attempt %s): %s", row.pk, row.attempts, exc)
        final = row.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS
        NotificationOutbox.objects.filter(pk=row.pk, status=OutboxStatus.SENDING).update(
            status=OutboxStatus.FAILED if final else OutboxStatus.PENDING, last_error=str(exc)[:2000]
        )
        return OutboxStatus.FAILED if final else "retry"
    NotificationOutbox.objects.filter(pk=row.pk, status=OutboxStatus.SENDING).update(
        status=OutboxStatus.SENT, sent_at=now or timezone.now(), external_ref=ref or {}, last_error=""
    )
    return OutboxStatus.SENT


def send_pending(*, older_than_seconds: int = 60, limit: int = 200, now: datetime | None = None) -> int:
    """The sweep: send PENDING rows whose task was lost (older than ``older_than_seconds``); returns how many."""
    now = now or timezone.now()
    ids = list(
        NotificationOutbox.objects.filter(
            status=OutboxStatus.PENDING, created_at__lte=now - timedelta(seconds=older_than_seconds)
        ).values_list("pk", flat=True)[:limit]
    )
    return sum(1 for pk in ids if send(pk) == OutboxStatus.SENT)


def _deliver(row: NotificationOutbox) -> dict[str, Any] | None:
    if row.channel == NotificationChannel.SLACK:
        return slack.post_request(row.approval, channel=row.recipient)
    _send_email(row)
    return None


def email_context(approval: ApprovalRequest, *, kind: str, user: Any) -> dict[str, Any]:
    """What the e-mail templates show: the summary, risk, expiry, the context, the console and decision links."""
    return {
        "approval": approval,
        "kind": kind,
        "subject_prefix": SUBJECTS.get(kind, "Approval needed"),
        "risk_reasons": list(approval.risk_reasons or []),
        "context_json": json.dumps(approval.context, indent=2, sort_keys=True, ensure_ascii=False)
        if approval.context
        else "",
        "console_url": console_url(approval.pk),
        "approve_url": links.link_url(approval, "approve", user.pk) if user is not None else "",
        "reject_url": links.link_url(approval, "reject", user.pk) if user is not None else "",
        "user": user,
    }


def _send_email(row: NotificationOutbox) -> None:
    approval = row.approval
    context = email_context(approval, kind=row.kind, user=row.user)
    subject = f"[{approval.risk_level}] {context['subject_prefix']}: {approval.summary}"[:250]
    text = render_to_string("approvals/email/approval_notification.txt", context)
    html = render_to_string("approvals/email/approval_notification.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[row.recipient],
        # One Message-ID per outbox row: a mail system that sees it twice can tell it is the same message.
        headers={"Message-ID": make_msgid(idstring=str(row.pk)), "X-Approval-Id": str(approval.pk)},
    )
    message.attach_alternative(html, "text/html")
    message.send(fail_silently=False)


def announce_outcome(approval: ApprovalRequest, *, by: str) -> None:
    """After commit, have a task update the request's Slack messages with its outcome (decided anywhere).

    No query and nothing scheduled unless the request was routed to a Slack channel and Slack is configured.
    """
    if not approval.slack_channel or not settings.SLACK_BOT_TOKEN:
        return
    approval_id = str(approval.pk)

    def enqueue_update() -> None:
        try:
            _task(OUTCOME_TASK).apply_async(args=(approval_id, by), queue="maintenance")
        except Exception:  # cosmetic: the decision stands and the console shows it
            logger.exception("could not enqueue the Slack update of approval %s", approval_id)

    transaction.on_commit(enqueue_update, robust=True)


def update_slack_messages(approval_id: Any, *, by: str) -> int:
    """Replace the buttons of every Slack message posted about the request with its outcome; returns how many.
    Raises on Slack API errors (the task logs them)."""
    approval = ApprovalRequest.objects.select_related("run", "node").get(pk=approval_id)
    updated = 0
    rows = NotificationOutbox.objects.filter(
        approval=approval, channel=NotificationChannel.SLACK, status=OutboxStatus.SENT
    )
    for row in rows:
        if isinstance(row.external_ref, dict) and row.external_ref.get("ts"):
            slack.update_outcome(approval, row.external_ref, slack.outcome_text(approval, by))
            updated += 1
    return updated
