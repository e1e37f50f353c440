"""Celery tasks of the audit app (interfaces: they call a service and return)."""

from __future__ import annotations

from celery import shared_task

from audit import checkpoints, services


@shared_task(name="audit.tasks.purge_expired_audit_logs", queue="maintenance")
def purge_expired_audit_logs() -> int:
    """Apply ``AUDIT_LOG_RETENTION_DAYS`` (SPEC §7.3); returns how many entries were removed."""
    return services.purge_expired_entries()


@shared_task(name="audit.tasks.checkpoint_audit_chains", queue="maintenance")
def checkpoint_audit_chains() -> int:
    """Sign and anchor every chain head that moved (every ``AUDIT_CHECKPOINT_MINUTES``); returns how many."""
    return checkpoints.checkpoint_chains()
