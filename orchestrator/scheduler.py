"""The scheduler (SPEC §3.5): claim due work in batches and dispatch it.

**Claiming.** ``tick`` selects up to ``SCHEDULER_BATCH_SIZE`` due nodes (READY whose backoff has passed, WAITING
whose timer is due) through the partial index ``node_ready_idx``. On PostgreSQL the SELECT is ``FOR UPDATE SKIP
LOCKED``: any number of schedulers run at once, each row is claimed by exactly one, and nobody waits on another's
batch. On SQLite there is no SKIP LOCKED and none is needed: transactions start ``IMMEDIATE`` (settings), so
writers are serialised and the SELECT + conditional UPDATE is already exclusive.

**Dispatch.** TASK nodes pass the approvals gate (``approvals.gate.check_before_dispatch``), then
``claims.create_attempts`` marks the batch RUNNING and creates their attempts; the executor messages are sent on
commit. Control nodes (DECISION, PARALLEL, WAIT: a type whose descriptor has a ``claim``) are handled right here
(they need no worker), as their module in ``orchestrator/nodes/`` says.

Wake-ups and the worker's in-process continuation are in ``wakeups``; lease reaping and polling in ``reaper``.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DataError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from approvals import gate
from approvals.policy import ActionAssessment, assess_node_action, policy_for_tenant
from orchestrator import events, metrics, progress, quarantine, wakeups
from orchestrator import nodes as node_types
from orchestrator.claims import Claim, create_attempts, workspace_lease_seconds
from orchestrator.lib import units
from orchestrator.lib.waiting import run_changed
from orchestrator.models import NodeStatus, WorkflowNode, WorkflowRun
from orchestrator.nodes.base import Claimed, Fail, Finish, NodeKind
from orchestrator.transitions import NODE, NodeAction
from workspaces import scheduling

logger = logging.getLogger(__name__)

TICK_JOB = "scheduler.tick"


@contextmanager
def inline_wakeups(dispatch: wakeups.Dispatcher | None = None) -> Iterator[None]:
    """Within this block (a worker executing an attempt) wake-ups tick in-process after commit, dispatching new
    attempts with ``dispatch`` (default: Celery messages)."""
    with wakeups.inline_wakeups(run_ticks, dispatch):
        yield


def run_ticks(*, max_seconds: float = 2.0, dispatch: wakeups.Dispatcher | None = None) -> int:
    """Tick until a pass claims less than a full batch (or ``max_seconds`` pass, then enqueue a follow-up)."""
    return wakeups.tick_until_idle(
        lambda: tick(dispatch=dispatch), batch=settings.SCHEDULER_BATCH_SIZE, max_seconds=max_seconds
    )


CLAIM_FIELDS = (
    "id",
    "run_id",
    "key",
    "type",
    "status",
    "config",
    "successors",
    "continue_on_failure",
    "attempts",
    "retry_base",
    "not_before",
    "approval_id",
)


def _due(now: datetime) -> Q:
    return (Q(status=NodeStatus.READY) & (Q(not_before__isnull=True) | Q(not_before__lte=now))) | Q(
        status=NodeStatus.WAITING, not_before__lte=now
    )


RUN_FIELDS = (
    "run__id",
    "run__tenant_id",
    "run__name",
    "run__status",
    "run__workspace_id",
    "run__started_at",
    "run__started_by",
    "run__created_by",
    "run__tenant__id",
    "run__tenant__risk_policy",
)


def tick(*, batch_size: int | None = None, dispatch: wakeups.Dispatcher | None = None) -> int:
    """One scheduling pass; returns how many nodes it claimed (0 when ``SCHEDULER_ENABLED`` is false).

    ``dispatch`` receives the ids of the new attempts after commit (default: one ``execute_node_run`` message
    each on the ``executor`` queue).
    """
    if not settings.SCHEDULER_ENABLED:
        return 0
    started = time.perf_counter()
    limit = batch_size or settings.SCHEDULER_BATCH_SIZE
    try:
        claimed = _tick(limit, timezone.now(), dispatch, one_by_one=False)
    except DataError:
        # A row the driver cannot read (a stored value outside Python's range) fails the batch SELECT itself: that
        # pass is rolled back, and this one loads the due nodes one by one, each a unit (never on the hot path).
        logger.warning("scheduler tick: the batch could not be read; loading due nodes one by one", exc_info=True)
        claimed = _tick(limit, timezone.now(), dispatch, one_by_one=True)
    metrics.scheduler_loop_duration_seconds.observe(time.perf_counter() - started)
    return claimed


def _tick(limit: int, now: datetime, dispatch: wakeups.Dispatcher | None, *, one_by_one: bool) -> int:
    with transaction.atomic():
        # The run comes along in the same statement (the gate and the workspace need it); only node rows are locked.
        query = WorkflowNode.objects.filter(_due(now)).order_by().select_related("run__tenant")
        if connection.features.has_select_for_update_skip_locked:
            query = query.select_for_update(skip_locked=True, of=("self",))
        # Each node is a unit (``orchestrator.lib.units``): one that raises is rolled back to its savepoint and
        # counted, the others go on; one that keeps failing fails its run (``quarantine.fail_run_of``).
        guard = units.Guard(TICK_JOB, quarantine=quarantine.fail_run_of)
        if one_by_one:
            nodes = _load_one_by_one(query, limit, guard)
        else:
            nodes = list(query.only(*CLAIM_FIELDS, *RUN_FIELDS)[:limit])
        to_dispatch: list[Claim] = []
        readiness: dict[Any, Any] = {}
        policies: dict[Any, dict[str, Any]] = {}
        for node in nodes:
            unit = quarantine.node_unit(node)
            with guard.unit(unit, sql=False, last_step=False) as typed:
                kind = node_types.kind_of(node.type)  # KeyError for a type nobody registered: that unit only
            if typed.failed:
                continue
            if kind.claim is not None:
                with guard.unit(unit):
                    _claim_control_node(kind, node, now)
                continue
            # The hot path (a plain TASK the policy lets through, no workspace) runs no SQL here: no savepoint.
            with guard.unit(unit, sql=False, last_step=False) as assessed:
                assessment = _assess(node, policies)
            if assessed.failed:
                continue
            if node.run.workspace_id is None and not assessment.requires_approval:
                to_dispatch.append(Claim(node=node, attempt_id=uuid.uuid4()))
                continue
            with guard.unit(unit, last_step=False):
                claim = _prepare_claim(node, assessment, readiness, now)
                if claim is not None:
                    to_dispatch.append(claim)
        # One statement for the whole batch; if the database refuses it, claim by claim (see ``Guard.batch``).
        created = guard.batch(
            to_dispatch, lambda c: quarantine.node_unit(c.node), lambda cs: create_attempts(list(cs), now)
        )
        if created:
            wakeups.dispatch_on_commit([str(c.attempt_id) for c in created], dispatch)
    return len(nodes)


def _load_one_by_one(query: QuerySet[WorkflowNode], limit: int, guard: units.Guard) -> list[WorkflowNode]:
    """The due nodes (locked as in the batch), each loaded in its own unit: a node or run whose row cannot be read
    is counted against its unit (its ids are columns that always read) and, if it keeps failing, its run fails."""
    loaded: list[WorkflowNode] = []
    for node_id, run_id, tenant_id in query.values_list("id", "run_id", "run__tenant_id")[:limit]:
        unit = units.Unit(key=f"node:{node_id}", ids={"tenant": tenant_id, "run": run_id, "node": node_id})
        with guard.unit(unit, last_step=False):
            loaded.append(query.only(*CLAIM_FIELDS, *RUN_FIELDS).get(pk=node_id))
    return loaded


def _assess(node: WorkflowNode, policies: dict[Any, dict[str, Any]]) -> ActionAssessment:
    """Assess the node's action with the tenant's policy that came with the claim (no query)."""
    tenant = node.run.tenant
    if tenant.pk not in policies:
        policies[tenant.pk] = policy_for_tenant(tenant.risk_policy)
    return assess_node_action(
        policies[tenant.pk], tenant_id=tenant.pk, run_id=node.run_id, node_key=node.key, config=node.config
    )


def _prepare_claim(
    node: WorkflowNode, assessment: ActionAssessment, readiness: dict[Any, Any], now: datetime
) -> Claim | None:
    """A TASK that needs more than its assessment: the run's workspace must be ready, and an action the policy
    sends to approval is the gate's decision (with this assessment handed to it); then the workspace lock.
    Returns the claim, or None when the node waits (or failed with a reason)."""
    if node.run.workspace_id is not None and not _workspace_ready(node, readiness, now):
        return None
    decision = (
        gate.check_before_dispatch(node=node, assessment=assessment)
        if assessment.requires_approval
        else gate.GateResult(proceed=True)
    )
    if not decision.proceed:
        return None
    claim = Claim(node=node, attempt_id=uuid.uuid4(), approval_id=decision.approval_id or "")
    if node.run.workspace_id is not None:
        claim.fencing_token = _lock_workspace(node, claim.attempt_id, readiness, now)
        if claim.fencing_token is None:
            return None
    return claim


# --- Workspaces (SPEC §4): provision before a TASK, one TASK at a time per workspace ---------------------------


def _defer(node: WorkflowNode, seconds: float, now: datetime) -> None:
    """Leave the node READY but not due before ``seconds`` from now (and tick again then)."""
    if WorkflowNode.objects.filter(pk=node.pk, status=NodeStatus.READY).update(
        not_before=now + timedelta(seconds=seconds), updated_at=now
    ):
        run_changed(node.run_id)
    wakeups.wake(countdown=seconds)


def _workspace_ready(node: WorkflowNode, seen: dict[Any, Any], now: datetime) -> bool:
    """Prepare the run's workspace (once per run and tick): ready → True; pending → the node waits; failed → the
    node and the run fail with the reason."""
    run = node.run
    if run.pk not in seen:
        seen[run.pk] = scheduling.prepare_for_run(run=run)
    readiness = seen[run.pk]
    if readiness.is_ready:
        return True
    if readiness.is_pending:
        _defer(node, readiness.retry_after_seconds, now)
    else:
        progress.fail_node(
            node=progress.NodeRef.from_node(node),
            error=f"workspace_failed: {readiness.reason}",
            action=NodeAction.FAIL_CLAIM,
            now=now,
            fail_run=True,
        )
    return False


def _lock_workspace(node: WorkflowNode, attempt_id: Any, seen: dict[Any, Any], now: datetime) -> int | None:
    """Take the workspace lock for the attempt (the row stays locked until this tick commits). Returns the fencing
    token, or None when the node must wait (another TASK holds it, or the workspace is no longer READY)."""
    outcome = scheduling.acquire_for_attempt(
        workspace_id=node.run.workspace_id,
        owner=scheduling.attempt_owner(attempt_id),
        lease_seconds=workspace_lease_seconds(node.config),
    )
    if isinstance(outcome, scheduling.Grant):
        return outcome.fencing_token
    if isinstance(outcome, scheduling.Held):
        # Released attempts bring waiting nodes forward (``progress.release_workspace``), so this is only the fallback.
        _defer(node, outcome.retry_after_ms / 1000, now)
        return None
    seen.pop(node.run.pk, None)
    _workspace_ready(node, seen, now)
    return None


def workspace_settled(workspace_id: Any, status: str) -> None:
    """Readiness listener (registered in ``OrchestratorConfig.ready``): provisioning of ``workspace_id`` settled
    (READY or FAILED), so the nodes waiting for it are due now; tick."""
    with transaction.atomic():
        # The workspace's status shows in its runs: their waiters are woken, not only those of deferred nodes.
        for run_id in WorkflowRun.objects.filter(workspace_id=workspace_id, status="RUNNING").values_list(
            "pk", flat=True
        ):
            run_changed(run_id)
        progress.bring_forward_workspace_nodes(workspace_id, timezone.now())
    wakeups.enqueue_tick()


def _claim_control_node(kind: NodeKind, node: WorkflowNode, now: datetime) -> None:
    """A node its type handles without a worker (``kind.claim``): give it the outputs its type reads, then apply
    what the type says (``orchestrator/nodes/<type>.py``): complete, fail, or wait for a timer."""
    sources = sorted({key for _, key in kind.reads(node.config)})
    outputs: dict[str, Any] = {}
    if sources:
        outputs = dict(
            WorkflowNode.objects.filter(run_id=node.run_id, key__in=sources, status=NodeStatus.COMPLETED).values_list(
                "key", "output"
            )
        )
    assert kind.claim is not None
    outcome = kind.claim(
        Claimed(status=node.status, config=node.config, not_before=node.not_before, outputs=outputs, now=now)
    )
    ref = progress.NodeRef.from_node(node)
    if isinstance(outcome, Finish):
        moved = progress.finish_control_node(node=ref, output=outcome.output, now=now)
    elif isinstance(outcome, Fail):
        moved = progress.fail_node(node=ref, error=outcome.error, action=NodeAction.FAIL_CLAIM, now=now)
    else:
        timer = NODE[NodeAction.START_TIMER]
        moved = bool(
            WorkflowNode.objects.filter(pk=node.pk, **timer.where()).update(
                status=timer.target, not_before=outcome.due, started_at=now, updated_at=now
            )
        )
        if moved:
            run_changed(node.run_id)  # the WAIT (or an INPUT's wait) began
        wakeups.wake(countdown=(outcome.due - now).total_seconds())
    if moved and outcome.announce is not None:
        # The type's event (an INPUT's ``input.requested``/``input.expired``), in this transaction: it exists if
        # and only if the move it describes commits.
        events.emit(
            outcome.announce.type,
            tenant_id=node.run.tenant_id,
            resource_type="workflow_node",
            resource_id=node.pk,
            data={"run_id": str(node.run_id), "node_key": node.key, "type": node.type, **outcome.announce.data},
        )


def ready_node_count() -> int:
    """READY nodes whose backoff has passed (the ``scheduler_ready_nodes`` gauge)."""
    now = timezone.now()
    return WorkflowNode.objects.filter(
        Q(status=NodeStatus.READY) & (Q(not_before__isnull=True) | Q(not_before__lte=now))
    ).count()


def _ready_gauge() -> Any:
    try:
        yield ((), float(ready_node_count()))
    except Exception:  # a scrape must not fail because the database is away
        logger.warning("scheduler_ready_nodes: database unavailable", exc_info=True)


metrics.register_scrape_collector(
    "scheduler_ready_nodes", "READY workflow nodes waiting to be claimed", (), _ready_gauge
)
