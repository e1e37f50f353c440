"""Celery tasks of the orchestrator app. Tasks are interfaces: they take ids, call a service, return."""

from __future__ import annotations

from celery import shared_task

from orchestrator.lib import idempotency


@shared_task(name="orchestrator.tasks.prune_idempotency_keys", queue="maintenance")
def prune_idempotency_keys() -> int:
    """Remove Idempotency-Key records older than ``IDEMPOTENCY_TTL_HOURS``."""
    return idempotency.prune_expired()


@shared_task(name="orchestrator.tasks.ping", queue="default")
def ping() -> str:
    """A no-op round trip, used by health checks of the worker and by benchmarks as a baseline."""
    return "pong"
