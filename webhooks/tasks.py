"""Celery tasks of the webhooks app: thin interfaces over ``webhooks.delivery`` and ``webhooks.services``."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_process_shutdown
from django.core.cache import cache

from . import delivery, sender, services

logger = logging.getLogger(__name__)


@shared_task(name="webhooks.deliver", queue="webhooks", acks_late=True, reject_on_worker_lost=True)
def deliver(delivery_id: str) -> bool:
    """One attempt of one delivery, if it can still be claimed (duplicates of this task are harmless). Kept for
    messages queued before ``send_due`` replaced it (issue 22); nothing sends it any more."""
    return delivery.attempt_delivery(delivery_id=delivery_id) is not None


@shared_task(name="webhooks.send_due", queue="webhooks", ignore_result=True, acks_late=False)
def send_due() -> None:
    """Wake this process's sender (``webhooks.sender``): it claims what is due and sends it on its own threads.

    Returns at once, so a backlog or a slow endpoint never holds a worker slot that the engine's queues need. The
    message is only a nudge (the database is the queue): acked early, since a lost one loses nothing.
    """
    try:
        cache.delete(services.WAKE_PENDING_KEY)  # before waking: a commit from now on sends its own wake-up
    except Exception:  # the key expires by itself
        logger.warning("could not clear the webhook wake-up flag", exc_info=True)
    sender.get_sender().wake()


@worker_process_shutdown.connect
def _stop_sender(**_: object) -> None:
    # Let requests in flight finish and be recorded; whatever is left returns through its lease.
    sender.shutdown(timeout=10.0)


@shared_task(name="webhooks.dispatch_due", queue="maintenance", ignore_result=True)
def dispatch_due() -> int:
    """Beat: re-dispatch due retries and deliveries stranded by a crashed worker or a lost task."""
    return services.dispatch_due_deliveries()


@shared_task(name="webhooks.prune_deliveries", queue="maintenance", ignore_result=True)
def prune_deliveries() -> int:
    """Beat: delete finished deliveries past WEBHOOK_DELIVERY_RETENTION_DAYS and expired secrets."""
    return services.prune_deliveries()
