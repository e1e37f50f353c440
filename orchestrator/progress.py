"""How a run progresses once a node reached a terminal state (SPEC §3.3): successors advanced (set-based, by key,
never loading the whole run), skipped branches cascaded, the run ended when nothing is left active; and the nodes
that finish without an attempt (control nodes) or fail for good.

Every transition is a compare-and-set (a conditional UPDATE whose WHERE and new status are a move of the tables
in ``orchestrator.transitions``; zero rows means someone else won).

Concurrency (PostgreSQL, READ COMMITTED): two nodes of one run finishing at the same time both lock the run row
before asking "is anything still active?", so the second sees the first's commit and exactly one of them ends
the run. A successor's ``pending_dependencies`` is decremented by an UPDATE on its row, so concurrent
predecessors queue on that row lock and the count stays exact.
"""

from __future__ import annotations

import uuid
from collections import Counter as TallyCounter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from orchestrator import events, metrics, statements, wakeups
from orchestrator import nodes as node_types
from orchestrator.lib.waiting import run_changed
from orchestrator.models import NodeStatus, RunStatus, WorkflowNode, WorkflowNodeRun, WorkflowRun
from orchestrator.transitions import ACTIVE, ATTEMPT, NODE, RUN, AttemptAction, NodeAction, RunAction
from workspaces import scheduling

MAX_ERROR_CHARS = 10_000


@dataclass(frozen=True)
class NodeRef:
    """The columns of a node the completion paths need (read once, passed along)."""

    id: uuid.UUID
    run_id: uuid.UUID
    key: str
    type: str
    successors: list[str]
    config: dict[str, Any]
    continue_on_failure: bool
    attempts: int
    retry_base: int

    FIELDS = statements.NODE_FIELDS

    @classmethod
    def from_values(cls, values: dict[str, Any], prefix: str = "") -> NodeRef:
        return cls(**{name: values[prefix + name] for name in cls.FIELDS})

    @classmethod
    def from_node(cls, node: WorkflowNode) -> NodeRef:
        return cls(**{name: getattr(node, name) for name in cls.FIELDS})


def load_node_ref(*, node_id: uuid.UUID) -> NodeRef | None:
    """The node's ``NodeRef`` columns, or None when there is no such node."""
    values = WorkflowNode.objects.filter(pk=node_id).values(*NodeRef.FIELDS).first()
    return NodeRef.from_values(values) if values else None


def node_of_attempt(node_run_id: uuid.UUID | str) -> NodeRef:
    """The node of an existing attempt (precondition: the attempt exists)."""
    values = (
        WorkflowNodeRun.objects.filter(pk=node_run_id).values(*(f"node__{name}" for name in NodeRef.FIELDS)).first()
    )
    assert values is not None
    return NodeRef.from_values(values, prefix="node__")


def run_event(event_type: str, run: Mapping[str, Any], **data: Any) -> None:
    """Emit a ``workflow.*`` event for ``run`` (its ``id``, ``tenant_id`` and ``name``), in the caller's transaction."""
    events.emit(
        event_type,
        tenant_id=run["tenant_id"],
        resource_type="workflow_run",
        resource_id=run["id"],
        data={"run_id": str(run["id"]), "name": run["name"], **data},
    )


def release_workspace(*, node_run_id: uuid.UUID | str, run_id: uuid.UUID, now: datetime) -> None:
    """The attempt ended: release its workspace lease, and make the run nodes that were waiting for the lock due
    now (a deferral leaves ``error`` empty; a retry backoff after a failure does not, and keeps its delay)."""
    workspace_id = WorkflowRun.objects.filter(pk=run_id).values_list("workspace_id", flat=True).first()
    if workspace_id is None:
        return
    scheduling.release_after_attempt(workspace_id=workspace_id, owner=scheduling.attempt_owner(node_run_id))
    run_changed(run_id)  # the workspace's status shows in the run
    if bring_forward_workspace_nodes(workspace_id, now):
        wakeups.wake()


def bring_forward_workspace_nodes(workspace_id: uuid.UUID, now: datetime) -> int:
    """READY nodes of the workspace's RUNNING runs deferred for its lock or its provisioning (``error`` empty; a
    retry backoff keeps its delay) are due now; their runs' waiters are woken. Returns how many nodes moved."""
    waiting = WorkflowNode.objects.filter(
        run__workspace_id=workspace_id,
        run__status=RunStatus.RUNNING,
        status=NodeStatus.READY,
        not_before__gt=now,
        error="",
    )
    for waiting_run in set(waiting.values_list("run_id", flat=True)):
        run_changed(waiting_run)
    return waiting.update(not_before=now)


# --- Nodes that finish without an attempt (control nodes), or fail for good ------------------------------------


def finish_control_node(*, node: NodeRef, output: Any, now: datetime | None = None) -> bool:
    """READY/WAITING control node → COMPLETED with ``output``; the branches its type says it did not take by that
    output (a DECISION's) are SKIPPED.
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
        run_changed(node.run_id)
        metrics.workflow_nodes_total.labels(type=node.type, status=NodeStatus.COMPLETED).inc()
        settle(node, now, succeeded=True, output=output)
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
    run_changed(node.run_id)
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
        settle(node, now, succeeded=False)
    else:
        _fail_run(node.run_id, f"node {node.key!r} failed: {error}", now)
    return True


# --- Set-based resolution -------------------------------------------------------------------------------------


def _advance(run_id: uuid.UUID, keys: Sequence[str], now: datetime) -> tuple[int, int]:
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
        WorkflowNode._meta.get_field("run").get_db_prep_value(run_id, connection),
        unblock.source,
        *keys,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        statuses = [row[0] for row in cursor.fetchall()]
    return len(statuses), sum(1 for s in statuses if s == unblock.target)


def _skip_cascade(run_id: uuid.UUID, keys: Iterable[str], reason: str, now: datetime) -> int:
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
        run_changed(run_id)
        for node_type, count in TallyCounter(r[1] for r in rows).items():
            metrics.workflow_nodes_total.labels(type=node_type, status=skip.target).inc(count)
        frontier = sorted({s for r in rows for s in r[2]})
    return total


def settle(node: NodeRef, now: datetime, *, succeeded: bool, output: Any = None) -> None:
    """After ``node`` reached a terminal state: advance or skip its successors, wake the scheduler for new READY
    work, and end the run when nothing is left active."""
    not_taken: set[str] = set()
    if succeeded:
        not_taken = node_types.not_taken(node.type, node.config, output)
    advance = [s for s in node.successors if s not in not_taken] if succeeded else []
    skip = [s for s in node.successors if s in not_taken] if succeeded else list(node.successors)
    still_pending, ready = _advance(node.run_id, advance, now) if advance else (0, 0)
    if ready:
        run_changed(node.run_id)
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
        maybe_finish_run(node.run_id, now)


def maybe_finish_run(run_id: uuid.UUID, now: datetime) -> None:
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
    run_changed(run_id)
    run_event(f"workflow.{final.lower()}", run, status=final)
    metrics.workflow_runs_total.labels(status=final).inc()
    finish_workspace(run)


def fail_run(*, run_id: uuid.UUID, error: str, now: datetime | None = None) -> bool:
    """RUNNING run → FAILED with ``error`` whatever its nodes say (a quarantined unit, ``orchestrator.quarantine``):
    active nodes and attempts CANCELLED, ``workflow.failed`` emitted, workspace released. Returns whether it moved
    (False: no such run, or not RUNNING)."""
    with transaction.atomic():
        return _fail_run(run_id, error, now or timezone.now())


def _fail_run(run_id: uuid.UUID, error: str, now: datetime) -> bool:
    run = (
        WorkflowRun.objects.select_for_update()
        .filter(pk=run_id)
        .values("id", "status", "tenant_id", "name", "workspace_id")
        .first()
    )
    move = RUN[RunAction.FAIL]
    if run is None or run["status"] not in move.sources:
        return False
    WorkflowRun.objects.filter(pk=run_id, **move.where()).update(
        status=move.target, error=error[:MAX_ERROR_CHARS], finished_at=now, updated_at=now
    )
    run_changed(run_id)
    stop_nodes(run_id, now, "run failed")
    run_event("workflow.failed", run, status=RunStatus.FAILED, error=error[:1000])
    metrics.workflow_runs_total.labels(status=RunStatus.FAILED).inc()
    finish_workspace(run)
    return True


def finish_workspace(run: Mapping[str, Any]) -> None:
    """The run reached a terminal status: let its workspace hibernate (unless another run or a lease uses it)."""
    if run.get("workspace_id") is None:
        return
    scheduling.finish_run(run=WorkflowRun(pk=run["id"], workspace_id=run["workspace_id"]))


def stop_nodes(run_id: uuid.UUID, now: datetime, reason: str) -> None:
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
    if WorkflowNode.objects.filter(run_id=run_id, **node.where()).update(
        status=node.target, not_before=None, finished_at=now, updated_at=now
    ):
        run_changed(run_id)
    wakeups.cancel_remote_on_commit(remote)
