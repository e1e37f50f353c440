"""Celery tasks of the webhooks app: thin interfaces over ``webhooks.delivery`` and ``webhooks.services``."""

from __future__ import annotations

from celery import shared_task

from . import delivery, services


@shared_task(name="webhooks.deliver", queue="webhooks", acks_late=True, reject_on_worker_lost=True)
def deliver(delivery_id: str) -> bool:
    """One attempt of one delivery, if it can still be claimed (duplicates of this task are harmless)."""
    return delivery.attempt_delivery(delivery_id=delivery_id) is not None


@shared_task(name="webhooks.dispatch_due", queue="maintenance", ignore_result=True)
def dispatch_due() -> int:
    """Beat: re-dispatch due retries and deliveries stranded by a crashed worker or a lost task."""
    return services.dispatch_due_deliveries()


@shared_task(name="webhooks.prune_deliveries", queue="maintenance", ignore_result=True)
def prune_deliveries() -> int:
    """Beat: delete finished deliveries past WEBHOOK_DELIVERY_RETENTION_DAYS and expired secrets."""
    return services.prune_deliveries()
