"""Finishing attempts (node runs): complete, fail (with retry backoff), and a task controller's report.

The first report wins: each finish is a compare-and-set on the RUNNING attempt (optionally on its lease owner), and
a completed node's successors are advanced by ``orchestrator.progress``. A successor made READY by a completion is
claimed inside that completion's transaction when it can be (``orchestrator.claims``).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from approvals import gate
from orchestrator import claims, metrics, retries, wakeups
from orchestrator.lib.errors import NotFoundError
from orchestrator.models import NodeRunStatus, NodeStatus, Tenant, WorkflowNode, WorkflowNodeRun, WorkflowRun
from orchestrator.progress import (
    MAX_ERROR_CHARS,
    NodeRef,
    fail_node,
    maybe_finish_run,
    node_of_attempt,
    release_workspace,
    settle,
)
from orchestrator.transitions import ATTEMPT, NODE, AttemptAction, Move, NodeAction


def complete_node_run(*, node_run_id: Any, output: Any, owner: str | None = None, node: NodeRef | None = None) -> bool:
    """RUNNING attempt → COMPLETED, its node → COMPLETED, successors advanced (set-based), run ended when it was
    the last active node. Returns False when the attempt was no longer RUNNING (cancelled, reaped, or already
    reported): the first report wins. ``owner``, when given, must still hold the lease. The attempt's workspace
    lease (if any) is released in the same transaction.

    On PostgreSQL the attempt, the node and the successors move in **one** statement (a data-modifying CTE); the
    run row is only read when no successor was still PENDING (the node may have been the last active one)."""
    now = timezone.now()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            done = _complete_in_one_statement(node_run_id, output, owner, now)
            if done is None:
                return False
            if done.fencing_token is not None:
                release_workspace(node_run_id=node_run_id, run_id=done.run_id, now=now)
            if done.node_id is None:  # the node was no longer RUNNING (cancelled meanwhile): only the attempt moved
                return True
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
            metrics.workflow_nodes_total.labels(type=node.type, status=NodeStatus.COMPLETED).inc()
            settle(node, now, succeeded=True, output=output)
    return True


@dataclass(frozen=True)
class Completed:
    """What the one-statement completion did (PostgreSQL)."""

    node_id: Any  # None when the node had already left RUNNING
    run_id: Any
    node_type: str
    fencing_token: int | None
    still_pending: int  # successors that were PENDING (advanced or not): the run cannot be over
    ready: int  # successors made READY
    ready_rows: list[dict[str, Any]]  # their id, type, config and the other ``NodeRef`` columns
    run_info: dict[str, Any]  # workspace_id and the tenant's risk_policy (when some became READY)


def _complete_in_one_statement(node_run_id: Any, output: Any, owner: str | None, now: datetime) -> Completed | None:
    """PostgreSQL: attempt → COMPLETED, node → COMPLETED, successors' pending count decremented (READY at zero),
    as one statement. Returns None when the attempt was not RUNNING (or not ``owner``'s), else ``(node_id,
    run_id, node_type, fencing_token, successors_still_pending, successors_made_ready)`` with ``node_id`` None
    when the node had already left RUNNING. Concurrent predecessors of a join queue on the join's row lock and
    re-evaluate it (READ COMMITTED), so the count stays exact."""
    attempt_table = WorkflowNodeRun._meta.db_table
    node_table = WorkflowNode._meta.db_table
    run_table = WorkflowRun._meta.db_table
    tenant_table = Tenant._meta.db_table
    output_json = json.dumps(output)
    owner_clause = 'AND "lease_owner" = %s ' if owner is not None else ""
    # Only our table names and a fixed clause are interpolated; every value is a parameter.
    sql = (
        f'WITH a AS (UPDATE "{attempt_table}" SET "status" = %s, "output" = %s::jsonb, "finished_at" = %s, '  # noqa: S608
        f'"lease_expires_at" = NULL WHERE "id" = %s AND "status" = %s {owner_clause}'
        f'RETURNING "node_id", "fencing_token"), '
        f'n AS (UPDATE "{node_table}" x SET "status" = %s, "output" = %s::jsonb, "error" = \'\', "finished_at" = %s, '
        f'"updated_at" = %s FROM a WHERE x."id" = a."node_id" AND x."status" = %s '
        f'RETURNING x."id", x."run_id", x."type", x."successors"), '
        f's AS (UPDATE "{node_table}" y SET "pending_dependencies" = y."pending_dependencies" - 1, '
        f'"status" = CASE WHEN y."pending_dependencies" <= 1 THEN %s ELSE y."status" END, "updated_at" = %s '
        f'FROM n, jsonb_array_elements_text(n."successors") AS succ(key) '
        f'WHERE y."run_id" = n."run_id" AND y."key" = succ.key AND y."status" = %s '
        f'RETURNING y."id", y."type", y."status", y."config", y."key", y."successors", y."continue_on_failure", '
        f'y."attempts", y."retry_base") '
        f'SELECT n."id", n."run_id", n."type", a."fencing_token", '
        f'(SELECT count(*) FROM s), (SELECT count(*) FROM s WHERE s."status" = %s), '
        # The successors this made READY, and what claiming them needs: the worker claims them in this transaction.
        f"(SELECT json_agg(json_build_object('id', s.\"id\", 'type', s.\"type\", 'config', s.\"config\", "
        f"'key', s.\"key\", 'successors', s.\"successors\", 'continue_on_failure', s.\"continue_on_failure\", "
        f"'attempts', s.\"attempts\", 'retry_base', s.\"retry_base\")) "
        f'FROM s WHERE s."status" = %s), '
        f"(SELECT json_build_object('workspace_id', r.\"workspace_id\", 'tenant_id', r.\"tenant_id\", "
        f"'risk_policy', t.\"risk_policy\") "
        f'FROM "{run_table}" r JOIN "{tenant_table}" t ON t."id" = r."tenant_id" '
        f'WHERE r."id" = n."run_id" AND EXISTS (SELECT 1 FROM s WHERE s."status" = %s)) '
        f"FROM a LEFT JOIN n ON true"
    )
    attempt, node, unblock = ATTEMPT[AttemptAction.COMPLETE], NODE[NodeAction.COMPLETE], NODE[NodeAction.UNBLOCK]
    params: list[Any] = [attempt.target, output_json, now, node_run_id, attempt.source]
    if owner is not None:
        params.append(owner)
    params += [node.target, output_json, now, now, node.source]
    params += [unblock.target, now, unblock.source]
    params += [unblock.target, unblock.target, unblock.target]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    ready_rows, run_info = (json.loads(v) if isinstance(v, str) else v for v in row[6:8])
    return Completed(
        node_id=row[0],
        run_id=row[1],
        node_type=row[2],
        fencing_token=row[3],
        still_pending=int(row[4] or 0),
        ready=int(row[5] or 0),
        ready_rows=ready_rows or [],
        run_info=run_info or {},
    )


def _close_attempt(
    node_run_id: Any, action: AttemptAction, now: datetime, *, node: NodeRef | None, **finish: Any
) -> NodeRef | None:
    """Finish the RUNNING attempt (see ``_finish_attempt``) and release its workspace lease if it held one.
    Returns the attempt's node, or None when the attempt was no longer RUNNING."""
    finished = _finish_attempt(node_run_id, ATTEMPT[action], now, **finish)
    if finished is None:
        return None
    node = node or node_of_attempt(node_run_id)
    if finished[1] is not None:
        release_workspace(node_run_id=node_run_id, run_id=node.run_id, now=now)
    return node


def _finish_attempt(
    node_run_id: Any,
    move: Move,
    now: datetime,
    *,
    output: Any = None,
    error: str = "",
    owner: str | None,
    expired_before: datetime | None,
) -> tuple[Any, int | None] | None:
    """The attempt's ``move`` (compare-and-set, optionally on the lease owner and an expired lease).
    Returns ``(node_id, fencing_token)`` or None when it was not in the move's source status."""
    attempt = WorkflowNodeRun.objects.filter(pk=node_run_id, **move.where())
    if owner is not None:
        attempt = attempt.filter(lease_owner=owner)
    if expired_before is not None:
        attempt = attempt.filter(lease_expires_at__lt=expired_before)
    changes: dict[str, Any] = {"status": move.target, "finished_at": now, "lease_expires_at": None}
    if move.target == NodeRunStatus.COMPLETED:
        changes["output"] = output
    else:
        changes["error"] = error
    if connection.vendor != "postgresql":
        # SQLite serialises writers (IMMEDIATE transactions), so reading first and then updating is exclusive.
        found = list(attempt.values_list("node_id", "fencing_token")[:1])
        if not found or not attempt.update(**changes):
            return None
        return found[0][0], found[0][1]
    # PostgreSQL: the compare-and-set and the read of what the attempt held, in one round trip.
    table = WorkflowNodeRun._meta.db_table
    sets = ", ".join(f'"{name}" = %s' for name in changes)
    where = ['"id" = %s', '"status" = %s']
    params: list[Any] = []
    for name, value in changes.items():
        model_field = WorkflowNodeRun._meta.get_field(name)
        assert isinstance(model_field, models.Field)
        params.append(model_field.get_db_prep_save(value, connection))
    params += [node_run_id, move.source]
    if owner is not None:
        where.append('"lease_owner" = %s')
        params.append(owner)
    if expired_before is not None:
        where.append('"lease_expires_at" < %s')
        params.append(expired_before)
    sql = f'UPDATE "{table}" SET {sets} WHERE {" AND ".join(where)} RETURNING "node_id", "fencing_token"'  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return (row[0], row[1]) if row else None


def fail_node_run(
    *,
    node_run_id: Any,
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
                wakeups.wake(countdown=delay)
        else:
            fail_node(node=node, error=error, action=NodeAction.FAIL_ATTEMPT, now=now)
    return True


def report_node_run_result(*, node_run_id: Any, status: str, output: Any = None, error: str = "") -> tuple[bool, str]:
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
