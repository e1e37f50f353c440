"""Writes audit entries. Only ``events.emit`` calls ``record_event``; nothing updates or deletes entries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestrator import metrics
from orchestrator.lib import context

from .models import AuditLog

if TYPE_CHECKING:
    from orchestrator.events import Event


def record_event(
    event: Event,
    *,
    actor: context.Actor,
    resource_type: str,
    resource_id: str,
    before: Any = None,
    after: Any = None,
    reason: str = "",
    metadata: dict[str, Any] | None = None,
) -> AuditLog:
    """Append one entry for ``event``. Precondition: inside the transaction of the change it records."""
    ctx = context.current()
    entry = AuditLog.objects.create(
        created_at=event.created_at,
        tenant_id=event.tenant_id,
        event_id=event.id,
        action=event.type,
        actor_type=actor.type,
        actor_id=actor.id,
        actor_display=actor.display,
        ip=ctx.ip,
        user_agent=ctx.user_agent,
        request_id=ctx.request_id,
        resource_type=resource_type,
        resource_id=str(resource_id),
        before=before,
        after=after,
        reason=reason or "",
        metadata={**(metadata or {}), "data": event.data},
    )
    metrics.audit_logs_total.labels(action=event.type).inc()
    return entry
