"""Audit entries for operator actions whose service has no SPEC §7 event (revoking an API key, redelivering a
webhook). The entry joins the audit chain in the same transaction as the change; no webhook is sent for it (the
event list subscribers see is SPEC §7's, unchanged)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from audit.models import AuditLog
from audit.services import record_event
from orchestrator.events import Event
from orchestrator.lib import context
from orchestrator.lib.context import user_actor


def record_admin_action(
    request: HttpRequest,
    *,
    action: str,
    tenant_id: Any,
    resource_type: str,
    resource_id: Any,
    data: dict[str, Any],
    before: Any = None,
    after: Any = None,
) -> AuditLog:
    """Append ``action`` (e.g. ``api_key.revoked``) by the signed-in operator to ``tenant_id``'s audit chain.

    Precondition: inside the transaction of the change it records. Side effect: one audit entry.
    """
    actor = context.current().actor
    if actor.type != "user":
        actor = user_actor(request.user)
    return record_event(
        Event(type=action, tenant_id=tenant_id, data=data),
        actor=actor,
        resource_type=resource_type,
        resource_id=str(resource_id),
        before=before,
        after=after,
        reason="admin action",
    )
