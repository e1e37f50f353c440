"""Finishing attempts (node runs): complete, fail (with retry backoff), and a task controller's report.

The first report wins: each finish is a compare-and-set on the RUNNING attempt (optionally on its lease owner), and
a completed node's successors are advanced by ``orchestrator.progress``. A successor made READY by a completion is
claimed inside that completion's transaction when it can be (``orchestrator.claims``).
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from approvals import gate
from orchestrator import claims, metrics, retries, statements, wakeups
from orchestrator.lib.errors import NotFoundError
from orchestrator.lib.waiting import run_changed
from orchestrator.models import NodeRunStatus, NodeStatus, WorkflowNode, WorkflowNodeRun
from orchestrator.progress import (
    MAX_ERROR_CHARS,
    NodeRef,
    fail_node,
    maybe_finish_run,
    node_of_attempt,
    release_workspace,
    settle,
)
from orchestrator.transitions import ATTEMPT, NODE, AttemptAction, NodeAction


def complete_node_run(
    *, node_run_id: uuid.UUID | str, output: Any, owner: str | None = None, node: NodeRef | None = None
) -> bool:
    """RUNNING attempt → COMPLETED, its node → COMPLETED, successors advanced (set-based), run ended when it was
    the last active node. Returns False when the attempt was no longer RUNNING (cancelled, reaped, or already
    reported): the first report wins. ``owner``, when given, must still hold the lease. The attempt's workspace
    lease (if any) is released in the same transaction.

    On PostgreSQL the attempt, the node and the successors move in **one** statement (a data-modifying CTE); the
    run row is only read when no successor was still PENDING (the node may have been the last active one)."""
    now = timezone.now()
    with transaction.atomic():
        if statements.complete_attempt.specialised():
            done = statements.complete_attempt(node_run_id, output, owner, now)
            if done is None:
                return False
            if done.fencing_token is not None:
                release_workspace(node_run_id=node_run_id, run_id=done.run_id, now=now)
            if done.node_id is None:  # the node was no longer RUNNING (cancelled meanwhile): only the attempt moved
                return True
            run_changed(done.run_id)  # one publish after commit, whatever else this transaction announces
            metrics.workflow_nodes_total.labels(type=done.node_type, status=NodeStatus.COMPLETED).inc()
            # Successors it made READY are claimed right here (their rows are locked by this transaction); what
            # cannot be claimed this way (control nodes, approvals, workspaces) is left to a scheduler tick.
            if done.ready and claims.claim_ready_successors(
                rows=done.ready_rows, run=done.run_info, run_id=done.run_id, now=now
            ):
                wakeups.wake()
            if not done.still_pending:
                maybe_finish_run(done.run_id, now)
            return True
        node = _close_attempt(
            node_run_id, AttemptAction.COMPLETE, now, node=node, output=output, owner=owner, expired_before=None
        )
        if node is None:
            return False
        complete = NODE[NodeAction.COMPLETE]
        moved = WorkflowNode.objects.filter(pk=node.id, **complete.where()).update(
            status=complete.target, output=output, error="", finished_at=now, updated_at=now
        )
        if moved:
            run_changed(node.run_id)
            metrics.workflow_nodes_total.labels(type=node.type, status=NodeStatus.COMPLETED).inc()
            settle(node, now, succeeded=True, output=output)
    return True


def _close_attempt(
    node_run_id: uuid.UUID | str, action: AttemptAction, now: datetime, *, node: NodeRef | None, **finish: Any
) -> NodeRef | None:
    """Finish the RUNNING attempt (``statements.finish_attempt``) and release its workspace lease if it held one.
    Returns the attempt's node, or None when the attempt was no longer RUNNING."""
    finished = statements.finish_attempt(node_run_id, ATTEMPT[action], now, **finish)
    if finished is None:
        return None
    node = node or node_of_attempt(node_run_id)
    if finished[1] is not None:
        release_workspace(node_run_id=node_run_id, run_id=node.run_id, now=now)
    return node


def fail_node_run(
    *,
    node_run_id: uuid.UUID | str,
    error: str,
    owner: str | None = None,
    retryable: bool = True,
    expired_before: datetime | None = None,
    node: NodeRef | None = None,
) -> bool:
    """RUNNING attempt → FAILED. With attempts left (``retry.max_attempts``) the node goes back to READY after an
    exponential backoff with jitter; otherwise it FAILS for good (SPEC §3.3: the run fails and its remaining nodes
    are cancelled, unless ``on_failure: continue``). Returns False when the attempt was no longer RUNNING.
    ``expired_before`` (the reaper) only fails an attempt whose lease is still expired. The attempt's workspace
    lease (if any) is released in the same transaction."""
    now = timezone.now()
    error = (error or "failed")[:MAX_ERROR_CHARS]
    with transaction.atomic():
        node = _close_attempt(
            node_run_id, AttemptAction.FAIL, now, node=node, error=error, owner=owner, expired_before=expired_before
        )
        if node is None:
            return False
        retry = node.config.get("retry") or retries.DEFAULT_RETRY
        made = node.attempts - node.retry_base
        if retryable and retries.attempts_left(made, retry):
            delay = retries.retry_delay(made, retry, random.random)
            back_off = NODE[NodeAction.BACK_OFF]
            retried = WorkflowNode.objects.filter(pk=node.id, **back_off.where()).update(
                status=back_off.target, not_before=now + timedelta(seconds=delay), error=error, updated_at=now
            )
            if retried:
                run_changed(node.run_id)
                wakeups.wake(countdown=delay)
        else:
            fail_node(node=node, error=error, action=NodeAction.FAIL_ATTEMPT, now=now)
    return True


def report_node_run_result(
    *, node_run_id: uuid.UUID | str, status: str, output: Any = None, error: str = ""
) -> tuple[bool, str]:
    """Apply a task controller's report (callback or poll) for an attempt it runs; the first report wins.

    Returns ``(applied, current_status)``. Raises ``NotFoundError`` for an unknown attempt or one that was not
    dispatched to the task controller.
    """
    row = (
        WorkflowNodeRun.objects.filter(pk=node_run_id)
        .exclude(external_task_id="")
        .values("status", "approval_id")
        .first()
    )
    if row is None:
        raise NotFoundError("No such task-controller attempt.")
    if status == NodeRunStatus.COMPLETED:
        applied = complete_node_run(node_run_id=node_run_id, output=output)
    else:
        applied = fail_node_run(node_run_id=node_run_id, error=error or "the task controller reported a failure")
    if applied and row["approval_id"]:
        gate.record_execution_result(
            approval_id=row["approval_id"],
            node_run_id=str(node_run_id),
            succeeded=status == NodeRunStatus.COMPLETED,
            output=output,
            error=error,
        )
    current = WorkflowNodeRun.objects.filter(pk=node_run_id).values_list("status", flat=True).first()
    return applied, str(current)
