"""Exactly once (SPEC §6.1): the single execution of an approved action, guarded by an ``IdempotencyRecord``.

A claim is one transaction under the approval's row lock: check the action hashes to the approved hash, move
APPROVED → EXECUTED by compare-and-set, and insert the record (one-to-one with the approval, unique on
(action hash, node run)). Whatever asks a second time (a duplicate Celery delivery, a retried node, another
scheduler, a process restarted after a crash) finds the approval EXECUTED and the record present, and is refused.
A worker killed after claiming leaves the record IN_PROGRESS: the action is never run again automatically; an
operator finds out whether it happened and records the outcome (admin) or asks for a new approval.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from orchestrator import events, metrics
from orchestrator.lib import waiting
from orchestrator.lib.context import SYSTEM_ACTOR, Actor
from orchestrator.lib.errors import InvalidInput, InvalidStateError, NotFoundError
from orchestrator.models import RunStatus, WorkflowNodeRun

from . import outcomes
from .errors import (
    ActionMismatch,
    AlreadyExecuted,
    ApprovalExpired,
    ApprovalNotApproved,
    ResultAlreadyRecorded,
)
from .events import count_outcome, emit_approval_event
from .hashing import action_hash
from .models import ApprovalRequest, ApprovalStatus, ExecutionStatus, IdempotencyRecord
from .services import expire_if_overdue


def _check(result: str) -> None:
    transaction.on_commit(lambda: metrics.idempotency_checks_total.labels(result=result).inc())


def _count_now(result: str) -> None:
    metrics.idempotency_checks_total.labels(result=result).inc()


def _action_digest(approval: ApprovalRequest, action: Any) -> str:
    if not isinstance(action, dict):
        raise InvalidInput("action must be an object with 'tool' and 'params'.", field="action")
    return action_hash(
        tenant_id=approval.tenant_id,
        run_id=approval.run_id,
        node_key=approval.node.key,
        tool=action.get("tool"),
        params=action.get("params", {}),
    )


def execute_approval(
    *,
    approval_id: Any,
    node_run_id: str | None = None,
    action: dict[str, Any] | None = None,
    actor: Actor | None = None,
    tenant_ids: list[Any] | None = None,
) -> IdempotencyRecord:
    """Claim the single execution of an approved action; the caller runs the tool only if this returns.

    ``action`` (``{"tool", "params"}``), when given, must hash to the approved hash (409 ``action_mismatch``).
    ``node_run_id`` defaults to the request's node run. ``tenant_ids`` restricts which approvals are visible
    (404 otherwise). Errors: 410 ``approval_expired`` (overdue, committed first), 409 ``already_executed`` with the
    recorded execution, 409 ``approval_not_approved`` (PENDING, REJECTED, WITHDRAWN), 409 ``invalid_state`` when the
    run is no longer RUNNING. Side effects: APPROVED → EXECUTED, the record IN_PROGRESS, ``approval.executed``.
    """
    now = timezone.now()
    expired = False
    with transaction.atomic():
        query = ApprovalRequest.objects.select_for_update(of=("self",)).select_related("node", "run")
        if tenant_ids is not None:
            query = query.filter(tenant_id__in=tenant_ids)
        approval = query.filter(pk=approval_id).first()
        if approval is None:
            raise NotFoundError("No such approval request.")
        if action is not None and _action_digest(approval, action) != approval.action_hash:
            _count_now("mismatch")
            raise ActionMismatch("The action does not hash to the approved action; it was not executed.")
        claim_node_run = str(node_run_id) if node_run_id else str(approval.node_run_id or "")
        if expire_if_overdue(approval=approval, now=now):
            expired = True
        else:
            existing = IdempotencyRecord.objects.filter(approval=approval).first()
            if approval.status == ApprovalStatus.EXECUTED or existing is not None:
                replay = existing is not None and existing.node_run_id == claim_node_run
                _count_now("replay" if replay else "conflict")
                raise AlreadyExecuted(
                    "This approved action was already executed.",
                    execution=existing.as_dict() if existing else None,
                )
            if approval.status == ApprovalStatus.EXPIRED:
                raise ApprovalExpired("This approval request has expired.")
            if approval.status != ApprovalStatus.APPROVED:
                raise ApprovalNotApproved(f"This approval request is {approval.status}, not APPROVED.")
            if approval.run.status != RunStatus.RUNNING:
                raise InvalidStateError(f"The workflow run is {approval.run.status}; the action may not run.")
            if claim_node_run:
                owner = WorkflowNodeRun.objects.filter(pk=claim_node_run).values_list("node_id", flat=True).first()
                if owner is not None and owner != approval.node_id:
                    _count_now("mismatch")
                    raise ActionMismatch("That node run belongs to another node.")
            try:
                with transaction.atomic():
                    record = IdempotencyRecord.objects.create(
                        tenant_id=approval.tenant_id,
                        approval=approval,
                        action_hash=approval.action_hash,
                        node_run_id=claim_node_run,
                        claimed_by=(actor or SYSTEM_ACTOR).as_dict(),
                        created_at=now,
                        expires_at=now + timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS),
                    )
            except IntegrityError as exc:
                _count_now("conflict")
                raise AlreadyExecuted("This action already ran in this node run.") from exc
            updated = ApprovalRequest.objects.filter(pk=approval.pk, status=ApprovalStatus.APPROVED).update(
                status=ApprovalStatus.EXECUTED, executed_at=now, updated_at=now
            )
            if not updated:  # pragma: no cover - impossible under the row lock; the compare-and-set stays
                raise AlreadyExecuted("This approved action was claimed concurrently.")
            approval.status = ApprovalStatus.EXECUTED
            approval.executed_at = now
            emit_approval_event(
                "approval.executed",
                approval,
                actor=actor,
                before=ApprovalStatus.APPROVED,
                execution=record.as_dict(),
            )
            count_outcome(approval, ApprovalStatus.EXECUTED, latency_from=None, at=now)
            _check("new")
    if expired:
        raise ApprovalExpired("This approval request has expired.")
    return record


def claim_execution(*, approval_id: Any, node_run_id: str, action: dict[str, Any]) -> bool:
    """Gate contract: True exactly once per approved action (see ``approvals.gate.claim_execution``)."""
    try:
        execute_approval(approval_id=approval_id, node_run_id=node_run_id, action=action)
    except (ActionMismatch, AlreadyExecuted, ApprovalExpired, ApprovalNotApproved, InvalidStateError):
        return False
    except (NotFoundError, InvalidInput):
        return False
    return True


def record_result(
    *,
    approval_id: Any,
    succeeded: bool,
    output: Any = None,
    error: str = "",
    node_run_id: str | None = None,
    tenant_ids: list[Any] | None = None,
) -> IdempotencyRecord:
    """Record the outcome of a claimed execution: IN_PROGRESS → COMPLETED | FAILED; the first report wins.

    Errors: 404 unknown approval; 409 ``approval_not_approved`` when nothing was claimed; 409
    ``result_already_recorded`` (with the recorded execution) for a later report or another node run's report.
    """
    query = ApprovalRequest.objects.all()
    if tenant_ids is not None:
        query = query.filter(tenant_id__in=tenant_ids)
    if not query.filter(pk=approval_id).exists():
        raise NotFoundError("No such approval request.")
    now = timezone.now()
    records = IdempotencyRecord.objects.filter(approval_id=approval_id, status=ExecutionStatus.IN_PROGRESS)
    if node_run_id:
        records = records.filter(node_run_id=str(node_run_id))
    updated = records.update(
        status=ExecutionStatus.COMPLETED if succeeded else ExecutionStatus.FAILED,
        output=output,
        error=str(error or "")[:10000],
        completed_at=now,
    )
    if updated:
        waiting.changed("approval", approval_id)  # its ``execution`` shows the result
    record = IdempotencyRecord.objects.filter(approval_id=approval_id).first()
    if record is None:
        raise ApprovalNotApproved("Nothing was executed for this approval request.")
    if not updated:
        raise ResultAlreadyRecorded("The result of this execution was already recorded.", execution=record.as_dict())
    return record


def prune_execution_records(*, now: Any = None) -> int:
    """Delete finished records past ``IDEMPOTENCY_TTL_HOURS``; IN_PROGRESS ones stay until an operator resolves
    them. The approval itself stays EXECUTED, so pruning never re-enables an execution."""
    now = now or timezone.now()
    deleted, _ = (
        IdempotencyRecord.objects.filter(expires_at__lt=now).exclude(status=ExecutionStatus.IN_PROGRESS).delete()
    )
    return deleted


def resolve_stuck_execution(
    *,
    record: IdempotencyRecord,
    succeeded: bool,
    note: str,
    output: Any = None,
    fresh_approval: bool = False,
) -> IdempotencyRecord:
    """Operators: close an IN_PROGRESS record whose worker died, after checking whether the action happened.

    Closing it is a person's judgement ("the action did / did not happen"), so it needs a note. ``succeeded``:
    the action happened (``output``, if given, is kept as the execution's output: "mark done"). ``fresh_approval``
    (only with ``succeeded=False``): the action did not happen, or nobody can tell, and should run again only after
    a person approves it anew: the engine is told (``outcomes.fresh_approval_wanted``) and brings the node back to
    the gate, which asks for a new approval (this one stays EXECUTED, so it can never run twice). Raises
    ``InvalidInput`` without a note or for ``fresh_approval`` with ``succeeded``, and ``InvalidStateError`` unless
    IN_PROGRESS. Side effect, in the same transaction: an ``approval.execution_resolved`` audit entry (actor: the
    operator) with the note and the resolution.
    """
    note = (note or "").strip()[:2000]
    if not note:
        raise InvalidInput("Say what you checked: the note is kept in the audit log.", field="note")
    if fresh_approval and succeeded:
        raise InvalidInput("A fresh approval is for an action that did not happen.", field="resolution")
    resolution = "fresh_approval" if fresh_approval else "done" if succeeded else "not_done"
    with transaction.atomic():
        changes: dict[str, Any] = {
            "status": ExecutionStatus.COMPLETED if succeeded else ExecutionStatus.FAILED,
            "error": "" if succeeded else f"resolved by an operator: {note}",
            "completed_at": timezone.now(),
        }
        if succeeded and output is not None:
            changes["output"] = output
        updated = IdempotencyRecord.objects.filter(pk=record.pk, status=ExecutionStatus.IN_PROGRESS).update(**changes)
        if not updated:
            raise InvalidStateError("Only IN_PROGRESS records can be resolved.")
        record.refresh_from_db()
        events.emit(
            "approval.execution_resolved",
            tenant_id=record.tenant_id,
            resource_type="approval",
            resource_id=record.approval_id,
            data={
                "approval_id": str(record.approval_id),
                "execution_id": record.pk,
                "action_happened": succeeded,
                "resolution": resolution,
                "note": note,
            },
            before={"status": ExecutionStatus.IN_PROGRESS},
            after={"status": record.status},
            reason=note,
        )
        if fresh_approval:
            node_id = ApprovalRequest.objects.filter(pk=record.approval_id).values_list("node_id", flat=True).first()
            if node_id is not None:
                outcomes.fresh_approval_wanted.notify(
                    outcomes.FreshApproval(approval_id=record.approval_id, node_id=node_id, note=note)
                )
    return record
