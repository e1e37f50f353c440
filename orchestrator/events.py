"""One event per state change (SPEC §7): an audit entry and webhook outbox rows, in the caller's transaction.

Services call ``emit`` inside their ``transaction.atomic`` block, so the event exists if and only if the change
it describes was committed; delivery to webhooks is asked for on commit.

This module is part of the ground floor (docs/architecture.md): it does not know audit or webhooks. They
subscribe in their ``AppConfig.ready``: audit to ``recorders`` (every event, with the audit details), webhooks to
``deliverers`` (the subscriber events of SPEC §7, never the audit-only ones).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from orchestrator.lib import context
from orchestrator.lib.listeners import Listeners

EVENT_TYPES: tuple[str, ...] = (
    "workflow.created",
    "workflow.started",
    "workflow.completed",
    "workflow.failed",
    "workflow.cancelled",
    "node.failed",
    "node.recovered",
    "approval.requested",
    "approval.approved",
    "approval.rejected",
    "approval.expired",
    "approval.executed",
    "approval.escalated",  # issue 20: routed reviewers did not decide in time; the escalation groups may now
    # Issue 19: an INPUT node waits for a person's values, got them, or passed its due time (failed or default).
    "input.requested",
    "input.submitted",
    "input.expired",
    "workspace.lock_acquired",
    "workspace.lock_released",
    "workspace.provisioned",
    "workspace.hibernated",
    "workspace.terminated",
    "webhook.created",
    "webhook.updated",
    "webhook.deleted",
    "webhook.secret_rotated",
    "webhook.test",
    "audit.checkpoint",
)
# Operator actions the audit log must record but SPEC §7 does not list as subscriber events: they are audited
# like every event and never delivered to webhooks.
AUDIT_ONLY_EVENT_TYPES: tuple[str, ...] = (
    "api_key.revoked",
    "webhook.redelivered",
    # Governance (issue 15, orchestrator/governance.py): who holds which credential and role, and the risk policy.
    "api_key.created",
    "api_key.scopes_changed",
    "service_account.created",
    "membership.created",
    "membership.role_changed",
    "membership.deleted",
    "tenant.risk_policy_changed",
    "auth.locked_out",
    "approval.execution_resolved",
    # Issue 20 (approvals.routing_config, approvals.delegation).
    "tenant.approval_routing_changed",
    "approval.delegation_created",
    "approval.delegation_revoked",
)


@dataclass(frozen=True)
class Event:
    type: str
    tenant_id: Any
    data: dict[str, Any]
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    created_at: datetime = field(default_factory=timezone.now)

    def payload(self) -> dict[str, Any]:
        """The JSON body subscribers receive (SPEC §7)."""
        return {
            "id": str(self.id),
            "type": self.type,
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
            "tenant_id": str(self.tenant_id) if self.tenant_id is not None else None,
            "data": self.data,
        }


@dataclass(frozen=True)
class Recorded:
    """What a recorder (audit) gets for one event: the event, and who did what to which resource."""

    event: Event
    actor: context.Actor
    resource_type: str
    resource_id: str
    before: Any = None
    after: Any = None
    reason: str = ""
    metadata: dict[str, Any] | None = None


recorders: Listeners[Callable[[Recorded], object]] = Listeners("event recorders")
deliverers: Listeners[Callable[[Event], object]] = Listeners("event deliverers")


def emit(
    event_type: str,
    *,
    tenant_id: Any,
    resource_type: str,
    resource_id: Any,
    data: dict[str, Any],
    actor: context.Actor | None = None,
    before: Any = None,
    after: Any = None,
    reason: str = "",
    metadata: dict[str, Any] | None = None,
) -> Event:
    """Record ``event_type`` for a resource: audit entry + webhook outbox rows, atomically with the caller
    (through the subscribed ``recorders`` and ``deliverers``).

    ``actor`` defaults to the request's authenticated actor, or ``system`` in workers. Raises ``ValueError`` for
    an unknown event type (a programming error, caught by tests).
    """
    if event_type not in EVENT_TYPES and event_type not in AUDIT_ONLY_EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    event = Event(type=event_type, tenant_id=tenant_id, data=data)
    with transaction.atomic():
        recorders.notify(
            Recorded(
                event,
                actor=actor or context.current().actor,
                resource_type=resource_type,
                resource_id=str(resource_id),
                before=before,
                after=after,
                reason=reason,
                metadata=metadata,
            )
        )
        if event_type in EVENT_TYPES:
            deliverers.notify(event)
    return event
