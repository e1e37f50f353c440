"""Celery tasks of approvals: interfaces over the services."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from . import execution, notifications, reminders, services

logger = logging.getLogger(__name__)


@shared_task(name="approvals.tasks.expire_overdue_approvals", queue="maintenance")
def expire_overdue_approvals() -> int:
    """Expire overdue PENDING requests (and APPROVED ones past their validity); returns how many."""
    return services.expire_overdue_approvals()


@shared_task(name="approvals.tasks.prune_execution_records", queue="maintenance")
def prune_execution_records() -> int:
    """Delete finished execution records past ``IDEMPOTENCY_TTL_HOURS``."""
    return execution.prune_execution_records()


# --- issue 20: notifications, reminders, escalation (additive: the expiry task above is unchanged) ---
@shared_task(bind=True, name="approvals.tasks.send_notification", queue="maintenance", max_retries=8)
def send_notification(self: Any, outbox_id: str) -> str:
    """Send one outbox row (at most once); a failure is retried with exponential backoff."""
    result = notifications.send(outbox_id)
    if result == "retry":
        raise self.retry(countdown=min(600, 10 * 2**self.request.retries))
    return result


@shared_task(name="approvals.tasks.send_pending_notifications", queue="maintenance")
def send_pending_notifications() -> int:
    """The sweep: send outbox rows whose task was lost."""
    return notifications.send_pending()


@shared_task(name="approvals.tasks.remind_and_escalate", queue="maintenance")
def remind_and_escalate() -> dict[str, int]:
    """Reminders and escalations that are due, each exactly once."""
    return reminders.remind_and_escalate()


@shared_task(name="approvals.tasks.update_slack_outcome", queue="maintenance")
def update_slack_outcome(approval_id: str, by: str) -> int:
    """Show a decision (taken anywhere) on the request's Slack messages; a failure is only logged."""
    try:
        return notifications.update_slack_messages(approval_id, by=by)
    except Exception:
        logger.exception("could not update the Slack messages of approval %s", approval_id)
        return 0
