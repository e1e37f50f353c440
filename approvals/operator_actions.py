"""Operator actions on approvals that need their own audit entry (issue 15).

Closing a stuck execution is a judgement call by a person ("the action did / did not happen"): it is recorded with
the operator's identity (the request's actor) and their note, in the same transaction as the change.
"""

from __future__ import annotations

from django.db import transaction

from orchestrator import events
from orchestrator.lib.errors import InvalidInput

from . import execution
from .models import IdempotencyRecord


def close_stuck_execution(*, record: IdempotencyRecord, succeeded: bool, note: str) -> IdempotencyRecord:
    """Resolve an IN_PROGRESS execution record as done (``succeeded``) or not done, with the operator's note.

    Raises ``InvalidInput`` without a note and ``InvalidStateError`` unless IN_PROGRESS. Side effect:
    ``approval.execution_resolved`` audit entry (actor: the operator) with the note and the outcome.
    """
    note = (note or "").strip()
    if not note:
        raise InvalidInput("Say what you checked: the note is kept in the audit log.", field="note")
    with transaction.atomic():
        before = record.status
        resolved = execution.resolve_stuck_execution(record=record, succeeded=succeeded, note=note[:2000])
        events.emit(
            "approval.execution_resolved",
            tenant_id=resolved.tenant_id,
            resource_type="approval",
            resource_id=resolved.approval_id,
            data={
                "approval_id": str(resolved.approval_id),
                "execution_id": resolved.pk,
                "action_happened": succeeded,
                "note": note[:2000],
            },
            before={"status": before},
            after={"status": resolved.status},
            reason=note[:2000],
        )
    return resolved
