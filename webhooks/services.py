"""Webhook outbox. ``enqueue_event`` is the hook ``events.emit`` calls in the event's transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from orchestrator.events import Event


def enqueue_event(event: Event) -> int:
    """Write one outbox row per subscribed endpoint and ask for delivery on commit; returns how many.

    Endpoints and their outbox arrive with the webhooks issue; until then no tenant can subscribe, so there is
    nothing to write.
    """
    return 0
