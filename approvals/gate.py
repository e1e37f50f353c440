"""The contract between the workflow scheduler and approvals (SPEC §6).

The scheduler calls these functions; ``approvals.services`` and ``approvals.execution`` implement them.

Engine side of the contract (implemented in ``orchestrator.approval_hooks``):
``apply_approval_decision(*, node_id, outcome, reason)`` with ``outcome`` in ``"approved" | "rejected" |
"expired" | "withdrawn"``: approved → the node goes WAITING_APPROVAL → READY and the scheduler dispatches it;
rejected → FAILED with the reason (SKIPPED when the node says ``"on_reject": "skip"``); expired → FAILED with
error code ``approval_expired``; the run then follows SPEC §3.3. Called inside the approvals transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils import timezone

if TYPE_CHECKING:
    from orchestrator.models import WorkflowNode


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


def check_before_dispatch(*, node: WorkflowNode) -> GateResult:
    """Decide whether ``node`` (a TASK, row locked by the scheduler's transaction) may be dispatched now.

    Low risk → proceed. Otherwise an APPROVED request for this exact action hash, still within
    ``APPROVAL_VALIDITY_MINUTES`` → proceed with its id; anything else → the node waits in WAITING_APPROVAL on
    its (new or live) request and ``approval.requested`` is emitted for a new one.
    """
    from .models import LIVE_STATUSES, ApprovalRequest, ApprovalStatus
    from .services import assess_node, expire_if_overdue, hold_node_for_approval

    assessment, digest = assess_node(node)
    if not assessment.requires_approval:
        return GateResult(proceed=True)
    now = timezone.now()
    live = ApprovalRequest.objects.filter(
        tenant_id=node.run.tenant_id, action_hash=digest, status__in=LIVE_STATUSES
    ).first()
    if live is not None and expire_if_overdue(approval=live, now=now, notify_engine=False):
        live = None
    if live is not None and live.status == ApprovalStatus.APPROVED:
        return GateResult(proceed=True, approval_id=str(live.pk), action_hash=digest)
    hold_node_for_approval(node=node, assessment=assessment, digest=digest, now=now)
    return GateResult(proceed=False)


def claim_execution(*, approval_id: str, node_run_id: str, action: dict[str, Any]) -> bool:
    """Claim the single execution of an approved action right before the executor runs it.

    True exactly once per approved action; False when it already ran (or is running), or when ``action`` no
    longer hashes to the approved action hash: the caller must then not run the tool.
    """
    from .execution import claim_execution as claim

    return claim(approval_id=approval_id, node_run_id=node_run_id, action=action)


def record_execution_result(
    *, approval_id: str, node_run_id: str, succeeded: bool, output: Any = None, error: str = ""
) -> None:
    """Record the outcome of a claimed execution (approval EXECUTED, idempotency record COMPLETED/FAILED).

    The first report wins; a later or unmatched report is ignored (logged), as the task controller's results are.
    """
    import logging

    from orchestrator.lib.errors import DomainError

    from .execution import record_result

    try:
        record_result(approval_id=approval_id, node_run_id=node_run_id, succeeded=succeeded, output=output, error=error)
    except DomainError as exc:
        logging.getLogger(__name__).info("execution result for approval %s ignored: %s", approval_id, exc.detail)


def withdraw_for_run(*, run_id: Any) -> int:
    """Withdraw the run's pending approval requests (run cancelled). Called inside the cancel transaction."""
    from .services import withdraw_run_approvals

    return withdraw_run_approvals(run_id=run_id)
