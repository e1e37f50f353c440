"""The contract between the workflow scheduler and approvals (SPEC §6).

The scheduler calls these functions; ``approvals.services`` and ``approvals.execution`` implement them.

The engine's side of the contract is a listener on ``approvals.outcomes.decided`` (approvals never import the
engine): it is told inside the approvals transaction when a request a node waits on is decided.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from orchestrator.lib.errors import DomainError
from orchestrator.models import WorkflowNode

from .execution import claim_execution as claim
from .execution import record_result
from .models import ApprovalRequest, ApprovalStatus, ExecutionStatus, IdempotencyRecord
from .policy import ActionAssessment
from .services import assess_node, expire_if_overdue, hold_node_for_approval, withdraw_run_approvals

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GateResult:
    """What the scheduler does with a TASK node about to be dispatched.

    ``proceed=False``: the gate has moved the node to WAITING_APPROVAL (creating or reusing the request) in the
    caller's transaction; the scheduler must not dispatch. ``proceed=True``: dispatch; when ``approval_id`` is set
    the attempt executes that approved action and must call ``claim_execution`` right before running the tool.
    """

    proceed: bool
    approval_id: str | None = None
    action_hash: str | None = None


def check_before_dispatch(*, node: WorkflowNode, assessment: ActionAssessment | None = None) -> GateResult:
    """Decide whether ``node`` (a TASK, row locked by the scheduler's transaction) may be dispatched now.

    ``assessment`` is the node's action as the scheduler assessed it when claiming (assessed here when omitted).
    Low risk → proceed. Otherwise the request granted to this node (``node.approval_id``, set by the engine when
    the request was approved), if it is still APPROVED, within ``APPROVAL_VALIDITY_MINUTES`` and for this exact
    action hash → proceed with its id; anything else → the node waits in WAITING_APPROVAL on its (new or live)
    request and ``approval.requested`` is emitted for a new one.
    """
    assessment = assessment or assess_node(node)
    if not assessment.requires_approval:
        return GateResult(proceed=True)
    now = timezone.now()
    granted = _granted_approval(node, assessment.digest, now)
    if granted is not None:
        return GateResult(proceed=True, approval_id=str(granted.pk), action_hash=assessment.digest)
    hold_node_for_approval(node=node, assessment=assessment, now=now)
    return GateResult(proceed=False)


def _granted_approval(node: WorkflowNode, digest: str, now: datetime) -> ApprovalRequest | None:
    """The APPROVED request handed to ``node`` by id, if it still allows this action (an overdue one is expired
    now, and the node then asks afresh)."""
    if not node.approval_id:
        return None
    approval = ApprovalRequest.objects.filter(pk=node.approval_id, tenant_id=node.run.tenant_id).first()
    if approval is None or approval.status != ApprovalStatus.APPROVED or approval.action_hash != digest:
        return None
    if expire_if_overdue(approval=approval, now=now, notify_engine=False):
        return None
    return approval


def claim_execution(*, approval_id: str, node_run_id: str, action: dict[str, Any]) -> bool:
    """Claim the single execution of an approved action right before the executor runs it.

    True exactly once per approved action; False when it already ran (or is running), or when ``action`` no
    longer hashes to the approved action hash: the caller must then not run the tool.
    """
    return claim(approval_id=approval_id, node_run_id=node_run_id, action=action)


def unclaimed_approval(*, approval_id: str) -> bool:
    """True when the approved action was never claimed (no attempt began executing it) and the request is still
    APPROVED: an attempt that crashed before its claim may be dispatched again under the same approval and action
    hash (crash recovery; the claim stays the exactly-once guard)."""
    try:
        uuid.UUID(str(approval_id))
    except ValueError:
        return False  # not an approval id at all ('' for an attempt without one)
    return (
        ApprovalRequest.objects.filter(pk=approval_id, status=ApprovalStatus.APPROVED).exists()
        and not IdempotencyRecord.objects.filter(approval__pk=approval_id).exists()
    )


def recorded_execution(*, approval_id: str, node_run_id: str) -> IdempotencyRecord | None:
    """The finished execution record (COMPLETED or FAILED) of this approval by this node run, or None (none, or
    still IN_PROGRESS): a worker that died after recording the result but before finishing its attempt left the
    outcome here, so crash recovery can finish the attempt from it instead of leaving it for an operator."""
    try:
        uuid.UUID(str(approval_id))
    except ValueError:
        return None
    return (
        IdempotencyRecord.objects.filter(approval__pk=approval_id, node_run_id=str(node_run_id))
        .exclude(status=ExecutionStatus.IN_PROGRESS)
        .first()
    )


def record_execution_result(
    *, approval_id: str, node_run_id: str, succeeded: bool, output: Any = None, error: str = ""
) -> None:
    """Record the outcome of a claimed execution (approval EXECUTED, idempotency record COMPLETED/FAILED).

    The first report wins; a later or unmatched report is ignored (logged), as the task controller's results are.
    """
    try:
        record_result(approval_id=approval_id, node_run_id=node_run_id, succeeded=succeeded, output=output, error=error)
    except DomainError as exc:
        logger.info("execution result for approval %s ignored: %s", approval_id, exc.detail)


def withdraw_for_run(*, run_id: Any) -> int:
    """Withdraw the run's pending approval requests (run cancelled). Called inside the cancel transaction."""
    return withdraw_run_approvals(run_id=run_id)
