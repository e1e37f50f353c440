"""Celery tasks of the audit app (interfaces: they call a service and return)."""

from __future__ import annotations

from celery import shared_task

from audit import services


@shared_task(name="audit.tasks.purge_expired_audit_logs", queue="maintenance")
def purge_expired_audit_logs() -> int:
    """Apply ``AUDIT_LOG_RETENTION_DAYS`` (SPEC §7.3); returns how many entries were removed."""
    return services.purge_expired_entries()
