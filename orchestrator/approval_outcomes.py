"""Applying an approval's outcome to the node waiting on it (the contract in ``approvals.outcomes``).

``approvals`` does not know the engine: it publishes on ``approvals.outcomes.decided``, and
``on_approval_decided`` is subscribed in ``OrchestratorConfig.ready``.
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone

from approvals.outcomes import ApprovalOutcome
from orchestrator import metrics, wakeups
from orchestrator.lib.errors import NotFoundError
from orchestrator.lib.waiting import run_changed
from orchestrator.models import WorkflowNode
from orchestrator.progress import fail_node, load_node_ref, settle
from orchestrator.transitions import NODE, NodeAction


def on_approval_decided(decided: ApprovalOutcome) -> None:
    """Listener on ``approvals.outcomes.decided`` (subscribed in ``OrchestratorConfig.ready``)."""
    apply_approval_outcome(
        node_id=decided.node_id, outcome=decided.outcome, reason=decided.reason, approval_id=decided.approval_id
    )


def apply_approval_outcome(
    *, node_id: uuid.UUID, outcome: str, reason: str = "", approval_id: uuid.UUID | str | None = None
) -> None:
    """Move a WAITING_APPROVAL node on after its approval is decided (the contract in ``approvals.outcomes``).

    approved → READY holding ``approval_id`` (the scheduler dispatches it, and the gate hands that approval to the
    attempt); rejected → FAILED with ``reason`` (SKIPPED when the node's
    config says ``"on_reject": "skip"``); expired → FAILED with error code ``approval_expired``; withdrawn →
    nothing. Then the run follows SPEC §3.3. Precondition: inside the approvals transaction. A node that is no
    longer WAITING_APPROVAL is left alone (compare-and-set). Raises ``NotFoundError`` for an unknown node and
    ``ValueError`` for an unknown outcome."""
    if outcome == "withdrawn":
        return
    node = load_node_ref(node_id=node_id)
    if node is None:
        raise NotFoundError("No such workflow node.")
    now = timezone.now()
    with transaction.atomic():
        if outcome == "approved":
            move = NODE[NodeAction.APPROVE]
            if WorkflowNode.objects.filter(pk=node.id, **move.where()).update(
                status=move.target, not_before=None, approval_id=str(approval_id or ""), updated_at=now
            ):
                run_changed(node.run_id)
                wakeups.wake()
        elif outcome == "rejected":
            message = "approval rejected" + (f": {reason}" if reason else "")
            if node.config.get("on_reject") == "skip":
                move = NODE[NodeAction.REJECT_AND_SKIP]
                if WorkflowNode.objects.filter(pk=node.id, **move.where()).update(
                    status=move.target, error=message, finished_at=now, updated_at=now
                ):
                    run_changed(node.run_id)
                    metrics.workflow_nodes_total.labels(type=node.type, status=move.target).inc()
                    settle(node, now, succeeded=False)
            else:
                fail_node(node=node, error=message, action=NodeAction.FAIL_APPROVAL, now=now)
        elif outcome == "expired":
            fail_node(
                node=node,
                error="approval_expired: the approval request expired before the action ran"
                + (f" ({reason})" if reason else ""),
                action=NodeAction.FAIL_APPROVAL,
                now=now,
            )
        else:
            raise ValueError(f"unknown approval outcome {outcome!r}")
