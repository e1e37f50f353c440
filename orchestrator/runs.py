"""Workflow run services (SPEC §3): create, start, cancel, retry, and the completion of nodes and attempts.

Every transition is a compare-and-set (a conditional UPDATE whose WHERE and new status are a move of the tables
in ``orchestrator.transitions``; zero rows means someone else won). Successors are resolved by key with set-based
UPDATEs, never by loading the whole run; only the rare paths (manual retry) read every node of a run.

Concurrency (PostgreSQL, READ COMMITTED): two nodes of one run finishing at the same time both lock the run row
before asking "is anything still active?", so the second sees the first's commit and exactly one of them ends
the run. A successor's ``pending_dependencies`` is decremented by an UPDATE on its row, so concurrent
predecessors queue on that row lock and the count stays exact.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter as TallyCounter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, models, transaction
from django.db.models import Count, F, Q
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from approvals import gate
from approvals.outcomes import ApprovalOutcome
from orchestrator import claims, engine, events, metrics, wakeups
from orchestrator.executors import catalogue
from orchestrator.lib import context
from orchestrator.lib.auth import Caller
from orchestrator.lib.errors import InvalidInput, InvalidStateError, NotFoundError
from orchestrator.models import (
    NodeRunStatus,
    NodeStatus,
    RunStatus,
    Tenant,
    WorkflowNode,
    WorkflowNodeRun,
    WorkflowRun,
)
from orchestrator.transitions import ACTIVE, ATTEMPT, NODE, RUN, AttemptAction, Move, NodeAction, RunAction
from workspaces import scheduling
from workspaces.models import Workspace
from workspaces.selectors import get_workspace_for

MAX_ERROR_CHARS = 10_000


class DefinitionInvalid(InvalidInput):
    """A workflow definition with one or more problems, each with its field path."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__(f"The workflow definition is invalid ({len(errors)} problem(s)).", field=errors[0]["field"])
        self.errors = errors


@dataclass(frozen=True)
class NodeRef:
    """The columns of a node the completion paths need (read once, passed along)."""

    id: Any
    run_id: Any
    key: str
    type: str
    successors: list[str]
    config: dict[str, Any]
    continue_on_failure: bool
    attempts: int
    retry_base: int

    FIELDS = ("id", "run_id", "key", "type", "successors", "config", "continue_on_failure", "attempts", "retry_base")

    @classmethod
    def from_values(cls, values: dict[str, Any], prefix: str = "") -> NodeRef:
        return cls(**{name: values[prefix + name] for name in cls.FIELDS})

    @classmethod
    def from_node(cls, node: WorkflowNode) -> NodeRef:
        return cls(**{name: getattr(node, name) for name in cls.FIELDS})


def load_node_ref(*, node_id: Any) -> NodeRef | None:
    values = WorkflowNode.objects.filter(pk=node_id).values(*NodeRef.FIELDS).first()
    return NodeRef.from_values(values) if values else None


def _node_of_attempt(node_run_id: Any) -> NodeRef:
    values = (
        WorkflowNodeRun.objects.filter(pk=node_run_id).values(*(f"node__{name}" for name in NodeRef.FIELDS)).first()
    )
    assert values is not None
    return NodeRef.from_values(values, prefix="node__")


def _actor_dict() -> dict[str, str]:
    return context.current().actor.as_dict()


def _run_event(event_type: str, run: Mapping[str, Any], **data: Any) -> None:
    events.emit(
        event_type,
        tenant_id=run["tenant_id"],
        resource_type="workflow_run",
        resource_id=run["id"],
        data={"run_id": str(run["id"]), "name": run["name"], **data},
    )


# --- Create, start, cancel, retry -----------------------------------------------------------------------------


def create_run(*, tenant: Tenant, definition: Any, caller: Caller | None = None) -> WorkflowRun:
    """Validate ``definition`` (SPEC §3.1) and store the run and all its nodes atomically (all or nothing).

    Raises ``DefinitionInvalid`` (400, every problem with its field path); a ``workspace_id`` that is not a
    workspace of ``tenant`` readable by ``caller`` (when given, through ``workspaces.selectors``) is a 400 on
    ``workspace_id``. Emits ``workflow.created``; with ``"start": true`` also starts the run in the same
    transaction. The creator is the request's actor.
    """
    try:
        spec = engine.validate_definition(definition, tool_validators=catalogue.checker())
    except engine.DefinitionError as exc:
        raise DefinitionInvalid(exc.errors) from exc
    workspace_id = None
    if spec.workspace_id is not None:
        workspace_id = _check_workspace(tenant=tenant, caller=caller, workspace_id=spec.workspace_id)
    with transaction.atomic():
        run = WorkflowRun.objects.create(
            tenant=tenant,
            name=spec.name,
            description=spec.description,
            metadata=spec.metadata,
            workspace_id=workspace_id,
            created_by=_actor_dict(),
        )
        WorkflowNode.objects.bulk_create(
            [
                WorkflowNode(
                    run=run,
                    key=node.key,
                    type=node.type,
                    name=node.name,
                    depends_on=node.depends_on,
                    config=node.config,
                    successors=node.successors,
                    continue_on_failure=node.continue_on_failure,
                    pending_dependencies=len(node.depends_on),
                )
                for node in spec.nodes
            ],
            batch_size=500,
        )
        _run_event(
            "workflow.created",
            {"id": run.pk, "tenant_id": tenant.pk, "name": run.name},
            nodes=len(spec.nodes),
            status=run.status,
        )
        metrics.workflow_runs_total.labels(status=RunStatus.PENDING).inc()
        if spec.start:
            start_run(run=run)
    return run


def _check_workspace(*, tenant: Tenant, caller: Caller | None, workspace_id: str) -> uuid.UUID:
    problem = InvalidInput("No such workspace in this tenant.", field="workspace_id")
    try:
        candidate = uuid.UUID(workspace_id)
    except ValueError:
        raise problem from None
    if caller is not None:
        try:
            workspace = get_workspace_for(caller, candidate)
        except Http404:
            raise problem from None
        if workspace.tenant_id != tenant.pk:
            raise problem
    elif not Workspace.objects.filter(pk=candidate, tenant=tenant).exists():
        raise problem
    return candidate


def start_run(*, run: WorkflowRun) -> WorkflowRun:
    """PENDING → RUNNING; nodes without dependencies become READY and the scheduler is woken on commit.

    Raises ``InvalidStateError`` (409) unless the run is PENDING. Emits ``workflow.started``.
    """
    now = timezone.now()
    with transaction.atomic():
        move = RUN[RunAction.START]
        started = WorkflowRun.objects.filter(pk=run.pk, **move.where()).update(
            status=move.target, started_at=now, started_by=_actor_dict(), updated_at=now
        )
        if not started:
            current = WorkflowRun.objects.filter(pk=run.pk).values_list("status", flat=True).first()
            raise InvalidStateError(f"Only a PENDING run can be started; this one is {current}.")
        unblock = NODE[NodeAction.UNBLOCK]
        WorkflowNode.objects.filter(run_id=run.pk, pending_dependencies=0, **unblock.where()).update(
            status=unblock.target, updated_at=now
        )
        _run_event("workflow.started", {"id": run.pk, "tenant_id": run.tenant_id, "name": run.name})
        metrics.workflow_runs_total.labels(status=RunStatus.RUNNING).inc()
        wakeups.wake()
    run.refresh_from_db()
    return run


def cancel_run(*, run: WorkflowRun, reason: str = "") -> WorkflowRun:
    """PENDING/RUNNING → CANCELLED: active nodes and running attempts are CANCELLED, pending approvals are
    withdrawn, and running work is told to stop (local tools at their next heartbeat, the task controller by
    a cancel call after commit). Raises ``InvalidStateError`` (409) when the run is already terminal."""
    now = timezone.now()
    with transaction.atomic():
        locked = (
            WorkflowRun.objects.select_for_update()
            .filter(pk=run.pk)
            .values("id", "status", "tenant_id", "name", "workspace_id")
        )
        current = locked.first()
        if current is None:
            raise NotFoundError("No such workflow run.")
        move = RUN[RunAction.CANCEL]
        if current["status"] not in move.sources:
            raise InvalidStateError(f"The run is already {current['status']}; only PENDING or RUNNING runs cancel.")
        WorkflowRun.objects.filter(pk=run.pk, **move.where()).update(
            status=move.target, cancel_reason=reason[:MAX_ERROR_CHARS], finished_at=now, updated_at=now
        )
        _stop_nodes(run.pk, now, "run cancelled" + (f": {reason}" if reason else ""))
        gate.withdraw_for_run(run_id=run.pk)
        _run_event("workflow.cancelled", current, reason=reason)
        metrics.workflow_runs_total.labels(status=RunStatus.CANCELLED).inc()
        _finish_workspace(current)
    run.refresh_from_db()
    return run


def retry_node(*, run: WorkflowRun, key: str) -> WorkflowRun:
    """Re-run the FAILED node ``key`` of a FAILED run: the run goes back to RUNNING, the node to READY with a fresh
    retry budget, and nodes CANCELLED by the failure (or SKIPPED because of it) are resolved again.

    Raises ``NotFoundError`` for an unknown key and ``InvalidStateError`` (409) unless run and node are FAILED.
    """
    now = timezone.now()
    with transaction.atomic():
        current = WorkflowRun.objects.select_for_update().filter(pk=run.pk).values("id", "status", "tenant_id", "name")
        locked = current.first()
        if locked is None:
            raise NotFoundError("No such workflow run.")
        nodes = {
            n.key: n
            for n in WorkflowNode.objects.filter(run_id=run.pk).only(
                "id", "key", "type", "depends_on", "status", "config", "output", "attempts"
            )
        }
        if key not in nodes:
            raise NotFoundError(f"No node {key!r} in this run.")
        run_move = RUN[RunAction.RETRY]
        if locked["status"] not in run_move.sources or nodes[key].status not in NODE[NodeAction.RETRY].sources:
            raise InvalidStateError(
                f"Only a FAILED node of a FAILED run can be retried (run {locked['status']}, node {nodes[key].status})."
            )
        states = {
            k: engine.NodeState(type=n.type, depends_on=n.depends_on, status=n.status, config=n.config, output=n.output)
            for k, n in nodes.items()
        }
        plan = engine.plan_retry(states, key)
        final = {k: plan.get(k, n.status) for k, n in nodes.items()}
        by_status: dict[str, list[str]] = {}
        for k, status in plan.items():
            by_status.setdefault(status, []).append(k)
        for status, keys in by_status.items():
            if status == NodeStatus.PENDING:
                # Group by the new dependency count so each group is one UPDATE.
                groups: dict[int, list[str]] = {}
                for k in keys:
                    groups.setdefault(sum(final[d] != NodeStatus.COMPLETED for d in nodes[k].depends_on), []).append(k)
                for pending, group in groups.items():
                    WorkflowNode.objects.filter(run_id=run.pk, key__in=group).update(
                        status=status, pending_dependencies=pending, error="", finished_at=None, updated_at=now
                    )
            elif status == NodeStatus.READY:
                WorkflowNode.objects.filter(run_id=run.pk, key__in=keys).update(
                    status=status, pending_dependencies=0, not_before=None, finished_at=None, updated_at=now
                )
            else:
                WorkflowNode.objects.filter(run_id=run.pk, key__in=keys).update(
                    status=status, finished_at=now, updated_at=now
                )
        WorkflowNode.objects.filter(pk=nodes[key].pk).update(retry_base=F("attempts"), error="")
        WorkflowRun.objects.filter(pk=run.pk, **run_move.where()).update(
            status=run_move.target, error="", finished_at=None, updated_at=now
        )
        _run_event("workflow.started", locked, retried_node=key)
        metrics.workflow_runs_total.labels(status=RunStatus.RUNNING).inc()
        wakeups.wake()
        # A retry that resolves every node at once (nothing left to run) still has to end the run.
        if all(s in engine.NODE_TERMINAL for s in final.values()):
            _maybe_finish_run(run.pk, now)
    run.refresh_from_db()
    return run


# --- Attempts: complete, fail ---------------------------------------------------------------------------------


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
                _maybe_finish_run(done.run_id, now)
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
            _settle(node, now, succeeded=True)
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
    node = node or _node_of_attempt(node_run_id)
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


def release_workspace(*, node_run_id: Any, run_id: Any, now: datetime) -> None:
    """The attempt ended: release its workspace lease, and make the run nodes that were waiting for the lock due
    now (a deferral leaves ``error`` empty; a retry backoff after a failure does not, and keeps its delay)."""
    workspace_id = WorkflowRun.objects.filter(pk=run_id).values_list("workspace_id", flat=True).first()
    if workspace_id is None:
        return
    scheduling.release_after_attempt(workspace_id=workspace_id, owner=scheduling.attempt_owner(node_run_id))
    if WorkflowNode.objects.filter(
        run__workspace_id=workspace_id,
        run__status=RunStatus.RUNNING,
        status=NodeStatus.READY,
        not_before__gt=now,
        error="",
    ).update(not_before=now):
        wakeups.wake()


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
        retry = node.config.get("retry") or engine.DEFAULT_RETRY
        made = node.attempts - node.retry_base
        if retryable and engine.attempts_left(made, retry):
            delay = engine.retry_delay(made, retry, random.random)
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


# --- Nodes that finish without an attempt (DECISION, PARALLEL, WAIT) and approval outcomes -------------------


def finish_control_node(*, node: NodeRef, output: Any, branch: str | None = None, now: datetime | None = None) -> bool:
    """READY/WAITING control node → COMPLETED with ``output``; a DECISION skips the branches it did not take.
    Precondition: inside the scheduler's transaction with the node row locked."""
    now = now or timezone.now()
    move = NODE[NodeAction.FINISH_CONTROL]
    moved = WorkflowNode.objects.filter(pk=node.id, **move.where()).update(
        status=move.target,
        output=output,
        error="",
        not_before=None,
        started_at=Coalesce(F("started_at"), now),
        finished_at=now,
        updated_at=now,
    )
    if moved:
        metrics.workflow_nodes_total.labels(type=node.type, status=NodeStatus.COMPLETED).inc()
        _settle(node, now, succeeded=True, branch=branch)
    return bool(moved)


def fail_node(
    *,
    node: NodeRef,
    error: str,
    action: NodeAction,
    now: datetime | None = None,
    fail_run: bool = False,
) -> bool:
    """Node → FAILED for good by ``action`` (a move of the table to FAILED), with ``node.failed``; then the run
    fails and its remaining nodes are CANCELLED, or, with ``on_failure: continue``, only the nodes depending on it
    are SKIPPED. ``fail_run`` fails the run even with ``on_failure: continue`` (the run's workspace could not be
    provisioned: nothing else can run either)."""
    now = now or timezone.now()
    move = NODE[action]
    moved = WorkflowNode.objects.filter(pk=node.id, **move.where()).update(
        status=move.target, error=error[:MAX_ERROR_CHARS], not_before=None, finished_at=now, updated_at=now
    )
    if not moved:
        return False
    metrics.workflow_nodes_total.labels(type=node.type, status=NodeStatus.FAILED).inc()
    run = WorkflowRun.objects.filter(pk=node.run_id).values("id", "tenant_id", "name").first()
    assert run is not None
    events.emit(
        "node.failed",
        tenant_id=run["tenant_id"],
        resource_type="workflow_node",
        resource_id=node.id,
        data={
            "run_id": str(node.run_id),
            "node_key": node.key,
            "type": node.type,
            "error": error[:1000],
            "attempts": node.attempts,
            "on_failure": "continue" if node.continue_on_failure else "fail",
        },
    )
    if node.continue_on_failure and not fail_run:
        _settle(node, now, succeeded=False)
    else:
        _fail_run(node.run_id, f"node {node.key!r} failed: {error}", now)
    return True


def on_approval_decided(decided: ApprovalOutcome) -> None:
    """Listener on ``approvals.outcomes.decided`` (subscribed in ``OrchestratorConfig.ready``)."""
    apply_approval_outcome(
        node_id=decided.node_id, outcome=decided.outcome, reason=decided.reason, approval_id=decided.approval_id
    )


def apply_approval_outcome(*, node_id: Any, outcome: str, reason: str = "", approval_id: Any = None) -> None:
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
                wakeups.wake()
        elif outcome == "rejected":
            message = "approval rejected" + (f": {reason}" if reason else "")
            if node.config.get("on_reject") == "skip":
                move = NODE[NodeAction.REJECT_AND_SKIP]
                if WorkflowNode.objects.filter(pk=node.id, **move.where()).update(
                    status=move.target, error=message, finished_at=now, updated_at=now
                ):
                    metrics.workflow_nodes_total.labels(type=node.type, status=move.target).inc()
                    _settle(node, now, succeeded=False)
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


# --- Set-based resolution -------------------------------------------------------------------------------------


def _db_uuid(value: Any) -> Any:
    return value if connection.vendor == "postgresql" else uuid.UUID(str(value)).hex


def _advance(run_id: Any, keys: Sequence[str], now: datetime) -> tuple[int, int]:
    """One UPDATE: decrement the successors' pending count, READY when it reaches zero. Returns how many
    successors were still PENDING (so the run cannot be over) and how many became READY."""
    table = WorkflowNode._meta.db_table
    placeholders = ", ".join(["%s"] * len(keys))
    # Only the table name (ours) and placeholders are interpolated; every value is a parameter.
    sql = (
        f'UPDATE "{table}" SET "pending_dependencies" = "pending_dependencies" - 1, '  # noqa: S608
        f'"status" = CASE WHEN "pending_dependencies" <= 1 THEN %s ELSE "status" END, "updated_at" = %s '
        f'WHERE "run_id" = %s AND "status" = %s AND "key" IN ({placeholders}) RETURNING "status"'
    )
    unblock = NODE[NodeAction.UNBLOCK]
    params = [
        unblock.target,
        connection.ops.adapt_datetimefield_value(now),
        _db_uuid(run_id),
        unblock.source,
        *keys,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        statuses = [row[0] for row in cursor.fetchall()]
    return len(statuses), sum(1 for s in statuses if s == unblock.target)


def _skip_cascade(run_id: Any, keys: Iterable[str], reason: str, now: datetime) -> int:
    """PENDING nodes among ``keys`` can no longer run: SKIPPED, and so on down the graph (one UPDATE per level)."""
    frontier = sorted(set(keys))
    skip = NODE[NodeAction.SKIP]
    total = 0
    while frontier:
        rows = list(
            WorkflowNode.objects.filter(run_id=run_id, key__in=frontier, **skip.where()).values_list(
                "id", "type", "successors"
            )
        )
        if not rows:
            break
        total += WorkflowNode.objects.filter(pk__in=[r[0] for r in rows], **skip.where()).update(
            status=skip.target, error=reason, finished_at=now, updated_at=now
        )
        for node_type, count in TallyCounter(r[1] for r in rows).items():
            metrics.workflow_nodes_total.labels(type=node_type, status=skip.target).inc(count)
        frontier = sorted({s for r in rows for s in r[2]})
    return total


def _settle(node: NodeRef, now: datetime, *, succeeded: bool, branch: str | None = None) -> None:
    """After ``node`` reached a terminal state: advance or skip its successors, wake the scheduler for new READY
    work, and end the run when nothing is left active."""
    not_taken: set[str] = set()
    if succeeded and node.type == "DECISION":
        not_taken = set(engine.branch_targets("DECISION", node.config)) - {branch}
    advance = [s for s in node.successors if s not in not_taken] if succeeded else []
    skip = [s for s in node.successors if s in not_taken] if succeeded else list(node.successors)
    still_pending, ready = _advance(node.run_id, advance, now) if advance else (0, 0)
    skipped = 0
    if skip:
        reason = f"branch not taken by {node.key!r}" if succeeded else f"dependency {node.key!r} did not complete"
        skipped = _skip_cascade(node.run_id, skip, reason, now)
    if ready:
        wakeups.wake()
    # ``still_pending`` was counted before the cascade: a successor it advanced (still PENDING) may since have
    # been SKIPPED by that cascade (a DECISION's taken branch that also waits for the branch not taken), and it
    # may have been the run's last active node. So check whenever the cascade skipped something.
    if not still_pending or skipped:
        _maybe_finish_run(node.run_id, now)


def _maybe_finish_run(run_id: Any, now: datetime) -> None:
    """End a RUNNING run whose nodes are all terminal: COMPLETED, or FAILED when a node failed for good.
    Locks the run row first so concurrent last nodes serialise and exactly one ends the run."""
    run = (
        WorkflowRun.objects.select_for_update()
        .filter(pk=run_id)
        .values("id", "status", "tenant_id", "name", "workspace_id")
        .first()
    )
    if run is None or run["status"] != RunStatus.RUNNING:
        return
    tally = WorkflowNode.objects.filter(run_id=run_id).aggregate(
        active=Count("id", filter=Q(status__in=ACTIVE)),
        failed=Count("id", filter=Q(status=NodeStatus.FAILED, continue_on_failure=False)),
    )
    if tally["active"]:
        return
    move = RUN[RunAction.FAIL if tally["failed"] else RunAction.COMPLETE]
    final = move.target
    WorkflowRun.objects.filter(pk=run_id, **move.where()).update(status=final, finished_at=now, updated_at=now)
    _run_event(f"workflow.{final.lower()}", run, status=final)
    metrics.workflow_runs_total.labels(status=final).inc()
    _finish_workspace(run)


def _fail_run(run_id: Any, error: str, now: datetime) -> None:
    run = (
        WorkflowRun.objects.select_for_update()
        .filter(pk=run_id)
        .values("id", "status", "tenant_id", "name", "workspace_id")
        .first()
    )
    move = RUN[RunAction.FAIL]
    if run is None or run["status"] not in move.sources:
        return
    WorkflowRun.objects.filter(pk=run_id, **move.where()).update(
        status=move.target, error=error[:MAX_ERROR_CHARS], finished_at=now, updated_at=now
    )
    _stop_nodes(run_id, now, "run failed")
    _run_event("workflow.failed", run, status=RunStatus.FAILED, error=error[:1000])
    metrics.workflow_runs_total.labels(status=RunStatus.FAILED).inc()
    _finish_workspace(run)


def _finish_workspace(run: Mapping[str, Any]) -> None:
    """The run reached a terminal status: let its workspace hibernate (unless another run or a lease uses it)."""
    if run.get("workspace_id") is None:
        return
    scheduling.finish_run(run=WorkflowRun(pk=run["id"], workspace_id=run["workspace_id"]))


def _stop_nodes(run_id: Any, now: datetime, reason: str) -> None:
    """Active nodes and running attempts of the run → CANCELLED; their workspace leases are released; remote
    attempts are told to stop on commit."""
    attempt, node = ATTEMPT[AttemptAction.CANCEL], NODE[NodeAction.CANCEL]
    running = list(
        WorkflowNodeRun.objects.filter(run_id=run_id, **attempt.where()).values_list(
            "id", "external_task_id", "fencing_token"
        )
    )
    remote = [task_id for _, task_id, _ in running if task_id]
    if running:
        WorkflowNodeRun.objects.filter(run_id=run_id, **attempt.where()).update(
            status=attempt.target, error=reason, finished_at=now, lease_expires_at=None
        )
    for node_run_id, _, fencing_token in running:
        if fencing_token is not None:
            release_workspace(node_run_id=node_run_id, run_id=run_id, now=now)
    for row in WorkflowNode.objects.filter(run_id=run_id, **node.where()).values("type").annotate(n=Count("id")):
        metrics.workflow_nodes_total.labels(type=row["type"], status=node.target).inc(row["n"])
    WorkflowNode.objects.filter(run_id=run_id, **node.where()).update(
        status=node.target, not_before=None, finished_at=now, updated_at=now
    )
    wakeups.cancel_remote_on_commit(remote)
