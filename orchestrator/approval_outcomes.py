"""Applying an approval's outcome to the node waiting on it (the contract in ``approvals.outcomes``).

``approvals`` does not know the engine: it publishes on ``approvals.outcomes.decided``, and
``on_approval_decided`` is subscribed in ``OrchestratorConfig.ready``.
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone

from approvals.outcomes import ApprovalOutcome
from approvals.policy import policy_for_tenant
from orchestrator import metrics, wakeups
from orchestrator.claims import Claim, assess_for_transaction_claim, create_attempts
from orchestrator.lib.errors import NotFoundError
from orchestrator.lib.waiting import run_changed
from orchestrator.models import RunStatus, WorkflowNode
from orchestrator.progress import NodeRef, fail_node, load_node_ref, settle
from orchestrator.transitions import NODE, NodeAction


def on_approval_decided(decided: ApprovalOutcome) -> None:
    """Listener on ``approvals.outcomes.decided`` (subscribed in ``OrchestratorConfig.ready``)."""
    apply_approval_outcome(
        node_id=decided.node_id,
        outcome=decided.outcome,
        reason=decided.reason,
        approval_id=decided.approval_id,
        action_hash=decided.action_hash,
    )


def apply_approval_outcome(
    *,
    node_id: uuid.UUID,
    outcome: str,
    reason: str = "",
    approval_id: uuid.UUID | str | None = None,
    action_hash: str = "",
) -> None:
    """Move a WAITING_APPROVAL node on after its approval is decided (the contract in ``approvals.outcomes``).

    approved → READY holding ``approval_id`` (the scheduler dispatches it, and the gate hands that approval to the
    attempt); rejected → FAILED with ``reason`` (SKIPPED when the node's
    config says ``"on_reject": "skip"``); expired → FAILED with error code ``approval_expired``; withdrawn →
    nothing. Then the run follows SPEC §3.3. Precondition: inside the approvals transaction. A node that is no
    longer WAITING_APPROVAL is left alone (compare-and-set). Raises ``NotFoundError`` for an unknown node and
    ``ValueError`` for an unknown outcome.

    approved with ``action_hash`` (issue 22): when the node is a plain TASK of a running run without a workspace
    and its action still hashes to ``action_hash``, the node is claimed here, READY → RUNNING with its attempt
    holding ``approval_id``, and the executor message is sent on commit: no scheduler tick between the approval
    and the executor. Otherwise (and for any other node) it is left READY for the scheduler's gate as above."""
    if outcome == "withdrawn":
        return
    if outcome == "approved" and action_hash and approval_id:
        _approve(node_id=node_id, approval_id=str(approval_id), action_hash=action_hash)
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


DIRECT_CLAIM_FIELDS = (
    *NodeRef.FIELDS,
    "status",
    "run__id",
    "run__status",
    "run__workspace_id",
    "run__tenant_id",
    "run__tenant__id",
    "run__tenant__risk_policy",
)


def _approve(*, node_id: uuid.UUID, approval_id: str, action_hash: str) -> None:
    """WAITING_APPROVAL → READY (compare-and-set), then, when nothing but the approval held the node, its claim.

    Precondition: inside the approvals transaction that just made ``approval_id`` APPROVED for ``action_hash``
    (so the gate's checks hold: approved, within its validity, for this action). Exactly once: the node row is
    locked from the first UPDATE to COMMIT, the READY state is never visible to a scheduler (which skips locked
    rows anyway), and the attempt still claims the action's single execution (``approvals.gate.claim_execution``)
    before running the tool. If the executor message is lost after COMMIT, crash recovery re-publishes the attempt
    as for any dispatched attempt. Side effects: node row, one attempt row, one executor message on commit (or a
    scheduler wake-up when the node is left READY)."""
    node = WorkflowNode.objects.select_related("run__tenant").only(*DIRECT_CLAIM_FIELDS).filter(pk=node_id).first()
    if node is None:
        raise NotFoundError("No such workflow node.")
    now = timezone.now()
    move = NODE[NodeAction.APPROVE]
    with transaction.atomic(savepoint=False):  # inside the approvals transaction: no savepoint round trips
        if not WorkflowNode.objects.filter(pk=node.pk, **move.where()).update(
            status=move.target, not_before=None, approval_id=approval_id, updated_at=now
        ):
            return  # no longer waiting (cancelled, failed): left alone
        run_changed(node.run_id)
        node.status, node.approval_id, node.not_before = move.target, approval_id, None
        if not _directly_claimable(node, action_hash):
            wakeups.wake()
            return
        claim = Claim(node=node, attempt_id=uuid.uuid4(), approval_id=approval_id)
        create_attempts([claim], now)
        attempt_id = str(claim.attempt_id)
        wakeups.dispatch_on_commit([attempt_id])


def _directly_claimable(node: WorkflowNode, action_hash: str) -> bool:
    """What the scheduler would dispatch at once with this approval: what a transaction may claim itself
    (``claims.assess_for_transaction_claim``), in a RUNNING run, whose action the tenant's policy still sends to
    approval with the approved hash."""
    run = node.run
    if run.status != RunStatus.RUNNING:
        return False
    assessment = assess_for_transaction_claim(
        node_type=node.type,
        config=node.config,
        policy=policy_for_tenant(run.tenant.risk_policy),
        tenant_id=run.tenant_id,
        run_id=run.pk,
        node_key=node.key,
        workspace_id=run.workspace_id,
    )
    return assessment is not None and assessment.requires_approval and assessment.digest == action_hash
