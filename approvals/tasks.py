"""Celery tasks of approvals: interfaces over the services."""

from __future__ import annotations

from celery import shared_task

from . import execution, services


@shared_task(name="approvals.tasks.expire_overdue_approvals", queue="maintenance")
def expire_overdue_approvals() -> int:
    """Expire overdue PENDING requests (and APPROVED ones past their validity); returns how many."""
    return services.expire_overdue_approvals()


@shared_task(name="approvals.tasks.prune_execution_records", queue="maintenance")
def prune_execution_records() -> int:
    """Delete finished execution records past ``IDEMPOTENCY_TTL_HOURS``."""
    return execution.prune_execution_records()
