"""The scheduler (SPEC §3.5): claim due work in batches, dispatch it, reap expired leases, poll quiet attempts.

**Claiming.** ``tick`` selects up to ``SCHEDULER_BATCH_SIZE`` due nodes (READY whose backoff has passed, WAITING
whose timer is due) through the partial index ``node_ready_idx``. On PostgreSQL the SELECT is ``FOR UPDATE SKIP
LOCKED``: any number of schedulers run at once, each row is claimed by exactly one, and nobody waits on another's
batch. On SQLite there is no SKIP LOCKED and none is needed: transactions start ``IMMEDIATE`` (settings), so
writers are serialised and the SELECT + conditional UPDATE is already exclusive.

**Dispatch.** TASK nodes pass the approvals gate (``approvals.gate.check_before_dispatch``), then one UPDATE
marks the batch RUNNING and one INSERT creates their attempts (node runs) with a dispatch lease; the executor
messages are sent on commit, so a worker never sees an attempt that was rolled back. DECISION, PARALLEL and WAIT
nodes are handled right here (they need no worker).

**Wake-ups.** ``wake()`` registers an on-commit tick: in web processes it enqueues ``scheduler_tick`` on the
``scheduler`` queue; in a worker that just finished a node it runs the tick inline (no broker round trip between a
predecessor finishing and its successor being dispatched). Beat ticks every few seconds as the safety net.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from approvals import gate
from orchestrator import engine, metrics
from orchestrator.models import NodeRunStatus, NodeStatus, NodeType, WorkflowNode, WorkflowNodeRun

logger = logging.getLogger(__name__)

Dispatcher = Callable[[list[str]], None]
_local = threading.local()
MAX_TIMER_COUNTDOWN = 3600.0  # longer timers are left to the beat tick (broker ETAs are not durable that long)


# --- Wake-ups ---------------------------------------------------------------------------------------------------


@contextmanager
def inline_wakeups(dispatch: Dispatcher | None = None) -> Iterator[None]:
    """Within this block (a worker executing an attempt) wake-ups tick in-process after commit, dispatching new
    attempts with ``dispatch`` (default: Celery messages)."""
    previous = getattr(_local, "inline", False), getattr(_local, "dispatch", None)
    _local.inline, _local.dispatch = True, dispatch
    try:
        yield
    finally:
        _local.inline, _local.dispatch = previous


def wake(*, countdown: float | None = None) -> None:
    """Ask for a scheduler tick once the current transaction commits (after ``countdown`` seconds if given)."""
    if countdown is not None and countdown > 0.05:
        if countdown <= MAX_TIMER_COUNTDOWN:
            transaction.on_commit(lambda: _enqueue_tick(countdown=countdown))
        return
    if getattr(_local, "ticking", False):
        _local.more = True  # the running tick loop will go round again
        return
    if any(entry[1] is _wake_now for entry in connection.run_on_commit):
        return
    transaction.on_commit(_wake_now)


def _wake_now() -> None:
    if getattr(_local, "inline", False):
        run_ticks()
    else:
        _enqueue_tick()


def _enqueue_tick(countdown: float | None = None) -> None:
    from orchestrator.tasks import scheduler_tick

    try:
        scheduler_tick.apply_async(queue="scheduler", countdown=countdown)
    except Exception:  # the broker being down must not fail the request that committed; beat catches up
        logger.warning("could not enqueue a scheduler tick; the periodic tick will pick the work up", exc_info=True)


EXECUTOR_MESSAGE_BATCH = 8


def dispatch_to_executors(node_run_ids: list[str]) -> None:
    """Send the attempts to the ``executor`` queue: one ``execute_node_run`` message for a single attempt, else
    ``execute_node_runs`` messages of up to ``EXECUTOR_MESSAGE_BATCH`` attempts (fewer broker round trips for a
    fan-out, still spread over the workers), published over one broker connection."""
    from orchestrator.celery import app
    from orchestrator.tasks import execute_node_run, execute_node_runs

    if not node_run_ids:
        return
    if len(node_run_ids) == 1:
        execute_node_run.apply_async(args=[node_run_ids[0]], queue="executor")
        return
    with app.producer_or_acquire() as producer:
        for start in range(0, len(node_run_ids), EXECUTOR_MESSAGE_BATCH):
            chunk = node_run_ids[start : start + EXECUTOR_MESSAGE_BATCH]
            execute_node_runs.apply_async(args=[chunk], queue="executor", producer=producer)


_celery_dispatch = dispatch_to_executors


# --- Claiming -----------------------------------------------------------------------------------------------------

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


def tick(*, batch_size: int | None = None, dispatch: Dispatcher | None = None) -> int:
    """One scheduling pass; returns how many nodes it claimed (0 when ``SCHEDULER_ENABLED`` is false).

    ``dispatch`` receives the ids of the new attempts after commit (default: one ``execute_node_run`` message
    each on the ``executor`` queue).
    """
    if not settings.SCHEDULER_ENABLED:
        return 0
    from orchestrator import runs

    started = time.perf_counter()
    limit = batch_size or settings.SCHEDULER_BATCH_SIZE
    now = timezone.now()
    with transaction.atomic():
        # The run comes along in the same statement (the gate and the workspace need it); only node rows are locked.
        query = WorkflowNode.objects.filter(_due(now)).order_by().select_related("run__tenant")
        if connection.features.has_select_for_update_skip_locked:
            query = query.select_for_update(skip_locked=True, of=("self",))
        nodes = list(query.only(*CLAIM_FIELDS, *RUN_FIELDS)[:limit])
        to_dispatch: list[Claim] = []
        readiness: dict[Any, Any] = {}
        policies: dict[Any, dict[str, Any]] = {}
        for node in nodes:
            if node.type != NodeType.TASK:
                _handle_control_node(runs.NodeRef.from_node(node), node, now)
                continue
            workspace_id = node.run.workspace_id
            if workspace_id is not None and not _workspace_ready(node, readiness, now):
                continue
            decision = _check_gate(node, policies)
            if not decision.proceed:
                continue
            claim = Claim(node=node, attempt_id=uuid.uuid4(), approval_id=decision.approval_id or "")
            if workspace_id is not None:
                claim.fencing_token = _lock_workspace(node, claim.attempt_id, readiness, now)
                if claim.fencing_token is None:
                    continue
            to_dispatch.append(claim)
        if to_dispatch:
            _create_attempts(to_dispatch, now)
            attempt_ids = [str(c.attempt_id) for c in to_dispatch]
            sender = dispatch or getattr(_local, "dispatch", None) or _celery_dispatch
            transaction.on_commit(lambda: sender(attempt_ids))
    metrics.scheduler_loop_duration_seconds.observe(time.perf_counter() - started)
    return len(nodes)


def _check_gate(node: WorkflowNode, policies: dict[Any, dict[str, Any]]) -> gate.GateResult:
    """The approvals gate, with its first answer taken here: an action the tenant's risk policy does not send to
    approval proceeds without a query (the policy came with the claim). Everything else (approval needed, an
    approved request to execute) is the gate's decision, as before."""
    from approvals.policy import classify, policy_for_tenant
    from approvals.services import node_action

    tenant = node.run.tenant
    if tenant.pk not in policies:
        policies[tenant.pk] = policy_for_tenant(tenant.risk_policy)
    tool, params = node_action(node)
    config = node.config if isinstance(node.config, dict) else {}
    assessment = classify(
        policies[tenant.pk], tool=tool, params=params, requires_approval=config.get("requires_approval", False)
    )
    if not assessment.requires_approval:
        return gate.GateResult(proceed=True)
    return gate.check_before_dispatch(node=node)


def claim_ready_successors(*, rows: list[dict[str, Any]], run: dict[str, Any], run_id: Any, now: datetime) -> int:
    """Claim, inside the completing transaction, the successors it just made READY (``rows``: the ``NodeRef``
    columns; the rows are locked by that transaction, so nobody else can claim them meanwhile). Only plain TASKs
    are claimed here: low risk by the tenant's policy, in a run without a workspace. Returns how many were left for
    a tick (control nodes, approvals, workspaces, or all of them when ``SCHEDULER_ENABLED`` is false).

    In a worker continuing in-process (``offer_prestart``), the first claimed attempt is created already started
    by that worker (owner, lease, timeout): it runs next without a start statement (``take_prestarted``)."""
    if not settings.SCHEDULER_ENABLED or run.get("workspace_id") is not None:
        return len(rows)
    from approvals.policy import classify, policy_for_tenant

    policy = policy_for_tenant(run.get("risk_policy"))
    claims: list[Claim] = []
    for row in rows:
        config: dict[str, Any] = row["config"] if isinstance(row.get("config"), dict) else {}
        if row.get("type") != NodeType.TASK:
            continue
        action: dict[str, Any] = config["action"] if isinstance(config.get("action"), dict) else {}
        assessment = classify(
            policy,
            tool=action.get("tool"),
            params=action.get("params", {}),
            requires_approval=config.get("requires_approval", False),
        )
        if assessment.requires_approval:
            continue
        claims.append(Claim(node=WorkflowNode(id=row["id"], config=config), attempt_id=uuid.uuid4(), row=row))
    if claims:
        owner = getattr(_local, "prestart_owner", None)
        if owner:
            _local.prestart_owner = None  # one per completion
            claims[0].owner = owner
        _create_attempts(claims, now)
        if owner:
            first = claims[0]
            _local.prestarted[str(first.attempt_id)] = _prestarted_row(first, run_id, now)
        attempt_ids = [str(c.attempt_id) for c in claims]
        sender = getattr(_local, "dispatch", None) or _celery_dispatch
        transaction.on_commit(lambda: sender(attempt_ids))
    return len(rows) - len(claims)


def _timeout_at(config: dict[str, Any], now: datetime) -> datetime | None:
    timeout = config.get("timeout_seconds")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout:
        return None
    return now + timedelta(seconds=float(timeout))


def _prestart_lease(config: dict[str, Any], now: datetime) -> datetime:
    lease = now + timedelta(seconds=settings.NODE_LEASE_SECONDS)
    timeout_at = _timeout_at(config, now)
    return min(lease, timeout_at) if timeout_at is not None else lease


def _prestarted_row(claim: Claim, run_id: Any, now: datetime) -> dict[str, Any]:
    """What ``runner`` reads when it starts an attempt, for one created already started (same keys)."""
    row = claim.row or {}
    config = claim.node.config
    attempts = int(row.get("attempts") or 0) + 1
    return {
        "input": config.get("action") or {},
        "attempt": attempts,
        "approval_id": "",
        "fencing_token": None,
        "timeout_at": _timeout_at(config, now),
        "run__workspace_id": None,
        "node__id": claim.node.pk,
        "node__run_id": run_id,
        "node__key": row.get("key", ""),
        "node__type": row.get("type", NodeType.TASK),
        "node__successors": row.get("successors") or [],
        "node__config": config,
        "node__continue_on_failure": bool(row.get("continue_on_failure")),
        "node__attempts": attempts,
        "node__retry_base": int(row.get("retry_base") or 0),
    }


@contextmanager
def offer_prestart(owner: str) -> Iterator[None]:
    """Within this block, the next completion may create one successor attempt already started by ``owner``."""
    _local.prestart_owner = owner
    if not hasattr(_local, "prestarted"):
        _local.prestarted = {}
    try:
        yield
    finally:
        _local.prestart_owner = None


def take_prestarted(node_run_id: str) -> dict[str, Any] | None:
    """The row of an attempt this thread created already started (see ``claim_ready_successors``), once."""
    prestarted = getattr(_local, "prestarted", None)
    return prestarted.pop(node_run_id, None) if prestarted else None


def prestarted_ids() -> list[str]:
    return list(getattr(_local, "prestarted", None) or ())


@dataclass
class Claim:
    """A READY TASK node this tick dispatches: its new attempt's id, approval and workspace fencing token."""

    node: WorkflowNode
    attempt_id: uuid.UUID
    approval_id: str = ""
    fencing_token: int | None = None
    owner: str = ""  # set: the attempt is created already started by this worker (in-process continuation)
    row: dict[str, Any] | None = None


def _create_attempts(claims: list[Claim], now: datetime) -> None:
    """READY → RUNNING for the claimed nodes and one attempt each, with a dispatch lease (the executor must start
    it before ``NODE_DISPATCH_TIMEOUT_SECONDS``). On PostgreSQL one statement does both (a data-modifying CTE
    whose INSERT takes the new attempt numbers from the UPDATE's RETURNING)."""
    lease = now + timedelta(seconds=settings.NODE_DISPATCH_TIMEOUT_SECONDS)
    if connection.vendor == "postgresql":
        node_table = WorkflowNode._meta.db_table
        run_table = WorkflowNodeRun._meta.db_table
        values = ", ".join(
            ["(%s::uuid, %s::uuid, %s::jsonb, %s, %s::bigint, %s, %s::timestamptz, %s::timestamptz)"] * len(claims)
        )
        params: list[Any] = []
        for c in claims:
            action = json.dumps(c.node.config.get("action") or {})
            params += [c.node.pk, c.attempt_id, action, c.approval_id, c.fencing_token, c.owner]
            params += [_prestart_lease(c.node.config, now) if c.owner else lease, _timeout_at(c.node.config, now)]
        params += [now, now, NodeStatus.READY.value, NodeRunStatus.RUNNING.value, now]
        # Only our table names are interpolated; every value is a parameter. A pre-started attempt (``owner`` set)
        # carries its lease and timeout; a dispatched one gets them when a worker starts it.
        sql = (
            "WITH c(node_id, attempt_id, input, approval_id, fencing_token, owner, lease, timeout_at) "  # noqa: S608
            f"AS (VALUES {values}), "
            f'u AS (UPDATE "{node_table}" n SET "status" = \'RUNNING\', "attempts" = n."attempts" + 1, '
            f'"not_before" = NULL, "started_at" = COALESCE(n."started_at", %s), "updated_at" = %s '
            f'FROM c WHERE n."id" = c.node_id AND n."status" = %s '
            f'RETURNING n."id", n."run_id", n."attempts", c.attempt_id, c.input, c.approval_id, c.fencing_token, '
            f"c.owner, c.lease, c.timeout_at) "
            f'INSERT INTO "{run_table}" ("id", "node_id", "run_id", "attempt", "status", "input", "output", "error", '
            f'"lease_owner", "lease_expires_at", "fencing_token", "timeout_at", "approval_id", "external_task_id", '
            f'"last_polled_at", "started_at", "finished_at") '
            f"SELECT u.attempt_id, u.id, u.run_id, u.attempts, %s, u.input, NULL, '', u.owner, u.lease, "
            f"u.fencing_token, CASE WHEN u.owner <> '' THEN u.timeout_at END, u.approval_id, '', NULL, %s, NULL FROM u"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        return
    ids = [c.node.pk for c in claims]
    WorkflowNode.objects.filter(pk__in=ids, status=NodeStatus.READY).update(
        status=NodeStatus.RUNNING,
        attempts=F("attempts") + 1,
        not_before=None,
        started_at=Coalesce(F("started_at"), now),
        updated_at=now,
    )
    WorkflowNodeRun.objects.bulk_create(
        [
            WorkflowNodeRun(
                id=c.attempt_id,
                node_id=c.node.pk,
                run_id=c.node.run_id,
                attempt=c.node.attempts + 1,
                status=NodeRunStatus.RUNNING,
                input=c.node.config.get("action") or {},
                lease_expires_at=lease,
                approval_id=c.approval_id,
                fencing_token=c.fencing_token,
            )
            for c in claims
        ]
    )


# --- Workspaces (SPEC §4): provision before a TASK, one TASK at a time per workspace ---------------------------


def _defer(node: WorkflowNode, seconds: float, now: datetime) -> None:
    """Leave the node READY but not due before ``seconds`` from now (and tick again then)."""
    WorkflowNode.objects.filter(pk=node.pk, status=NodeStatus.READY).update(
        not_before=now + timedelta(seconds=seconds), updated_at=now
    )
    wake(countdown=seconds)


def _workspace_ready(node: WorkflowNode, seen: dict[Any, Any], now: datetime) -> bool:
    """Prepare the run's workspace (once per run and tick): ready → True; pending → the node waits; failed → the
    node and the run fail with the reason."""
    from orchestrator import runs
    from workspaces import scheduling

    run = node.run
    if run.pk not in seen:
        seen[run.pk] = scheduling.prepare_for_run(run=run)
    readiness = seen[run.pk]
    if readiness.is_ready:
        return True
    if readiness.is_pending:
        _defer(node, readiness.retry_after_seconds, now)
    else:
        runs.fail_node(
            node=runs.NodeRef.from_node(node),
            error=f"workspace_failed: {readiness.reason}",
            from_statuses=[NodeStatus.READY],
            now=now,
            fail_run=True,
        )
    return False


def workspace_lease_seconds(config: dict[str, Any]) -> int:
    """The workspace lease of one attempt: a little longer than its timeout. Local attempts renew it from their
    heartbeat, so without a timeout they start with one node lease; a task-controller attempt has no heartbeat
    here, so without a timeout it gets the maximum (3600 s), released as soon as its result is reported."""
    timeout = config.get("timeout_seconds")
    if not timeout:
        timeout = 3600 if settings.EXECUTOR_BACKEND == "task_controller" else settings.NODE_LEASE_SECONDS
    return int(min(3600, float(timeout) + 30))


def _lock_workspace(node: WorkflowNode, attempt_id: Any, seen: dict[Any, Any], now: datetime) -> int | None:
    """Take the workspace lock for the attempt (the row stays locked until this tick commits). Returns the fencing
    token, or None when the node must wait (another TASK holds it, or the workspace is no longer READY)."""
    from workspaces import scheduling

    outcome = scheduling.acquire_for_attempt(
        workspace_id=node.run.workspace_id,
        owner=scheduling.attempt_owner(attempt_id),
        lease_seconds=workspace_lease_seconds(node.config),
    )
    if isinstance(outcome, scheduling.Grant):
        return outcome.fencing_token
    if isinstance(outcome, scheduling.Held):
        # Released attempts bring waiting nodes forward (``runs.release_workspace``), so this is only the fallback.
        _defer(node, outcome.retry_after_ms / 1000, now)
        return None
    seen.pop(node.run.pk, None)
    _workspace_ready(node, seen, now)
    return None


def workspace_settled(workspace_id: Any, status: str) -> None:
    """Readiness listener (registered in ``OrchestratorConfig.ready``): provisioning of ``workspace_id`` settled
    (READY or FAILED), so the nodes waiting for it are due now; tick."""
    now = timezone.now()
    WorkflowNode.objects.filter(
        run__workspace_id=workspace_id, run__status="RUNNING", status=NodeStatus.READY, not_before__gt=now, error=""
    ).update(not_before=now)
    _enqueue_tick()


def _handle_control_node(ref: Any, node: WorkflowNode, now: datetime) -> None:
    from orchestrator import runs

    if node.type == NodeType.PARALLEL:
        runs.finish_control_node(node=ref, output={"branches": node.config.get("branches", [])}, now=now)
    elif node.type == NodeType.DECISION:
        sources = engine.decision_sources(node.config)
        outputs = dict(
            WorkflowNode.objects.filter(run_id=node.run_id, key__in=sources, status=NodeStatus.COMPLETED).values_list(
                "key", "output"
            )
        )
        result = engine.evaluate_decision(node.config, outputs)
        if result.branch is None:
            runs.fail_node(node=ref, error=result.error, from_statuses=[NodeStatus.READY], now=now)
        else:
            runs.finish_control_node(node=ref, output=result.output(), branch=result.branch, now=now)
    elif node.type == NodeType.WAIT:
        if node.status == NodeStatus.WAITING:
            waited = node.not_before.isoformat() if node.not_before else now.isoformat()
            runs.finish_control_node(node=ref, output={"waited_until": waited}, now=now)
            return
        wait = node.config.get("wait", {})
        if "until" in wait:
            due = engine.parse_timestamp(wait["until"]) or now
        else:
            due = now + timedelta(seconds=float(wait.get("seconds", 0)))
        if due <= now:
            runs.finish_control_node(node=ref, output={"waited_until": due.isoformat()}, now=now)
            return
        # The timer lives in the database (``not_before``), so it survives restarts; no worker sleeps on it.
        WorkflowNode.objects.filter(pk=node.pk, status=NodeStatus.READY).update(
            status=NodeStatus.WAITING, not_before=due, started_at=now, updated_at=now
        )
        wake(countdown=(due - now).total_seconds())


def run_ticks(*, max_seconds: float = 2.0, dispatch: Dispatcher | None = None) -> int:
    """Tick until a pass claims less than a full batch (or ``max_seconds`` pass, then enqueue a follow-up)."""
    if getattr(_local, "ticking", False):
        _local.more = True
        return 0
    _local.ticking = True
    total = 0
    deadline = time.monotonic() + max_seconds
    batch = settings.SCHEDULER_BATCH_SIZE
    try:
        while True:
            _local.more = False
            claimed = tick(dispatch=dispatch)
            total += claimed
            if claimed < batch and not _local.more:
                break
            if time.monotonic() > deadline:
                _enqueue_tick()
                break
    finally:
        _local.ticking = False
        _local.more = False
    return total


# --- Reaper and poller ------------------------------------------------------------------------------------------


def reap_expired_leases(*, limit: int = 200) -> int:
    """Fail attempts whose lease expired (worker died, message lost, or ``timeout_seconds`` passed); each is then
    retried or failed by its node's policy. Returns how many were reaped."""
    from orchestrator import runs

    now = timezone.now()
    rows = list(
        WorkflowNodeRun.objects.filter(status=NodeRunStatus.RUNNING, lease_expires_at__lt=now)
        .order_by("lease_expires_at")
        .values_list("id", "lease_owner", "timeout_at", "external_task_id")[:limit]
    )
    reaped = 0
    for node_run_id, owner, timeout_at, external_task_id in rows:
        if timeout_at is not None and timeout_at <= now:
            error = "timed out (timeout_seconds elapsed)"
        elif not owner:
            error = "dispatched but never started by a worker before NODE_DISPATCH_TIMEOUT_SECONDS"
        else:
            error = f"lease expired: worker {owner} stopped renewing it (crashed or was killed)"
        if runs.fail_node_run(node_run_id=node_run_id, error=error, expired_before=now):
            reaped += 1
            if external_task_id:
                from orchestrator.tasks import cancel_remote_tasks

                transaction.on_commit(partial(cancel_remote_tasks.delay, [external_task_id]))
    return reaped


def poll_quiet_attempts(*, limit: int = 100) -> int:
    """Ask the task controller about attempts it has not reported on for ``TASK_CONTROLLER_POLL_SECONDS``."""
    from orchestrator import runs
    from orchestrator.executors import task_controller

    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.TASK_CONTROLLER_POLL_SECONDS)
    rows = list(
        WorkflowNodeRun.objects.filter(status=NodeRunStatus.RUNNING)
        .exclude(external_task_id="")
        .filter(Q(last_polled_at__lt=cutoff) | Q(last_polled_at__isnull=True))
        .values_list("id", "external_task_id")[:limit]
    )
    polled = 0
    for node_run_id, task_id in rows:
        WorkflowNodeRun.objects.filter(pk=node_run_id).update(last_polled_at=now)
        try:
            report = task_controller.poll(task_id)
        except task_controller.TaskControllerError as exc:
            logger.warning("polling task %s failed: %s", task_id, exc)
            continue
        polled += 1
        if report is None:
            runs.fail_node_run(node_run_id=node_run_id, error="the task controller does not know this task")
        elif report.get("status") in (NodeRunStatus.COMPLETED, NodeRunStatus.FAILED):
            runs.report_node_run_result(
                node_run_id=node_run_id,
                status=str(report["status"]),
                output=report.get("output"),
                error=str(report.get("error") or ""),
            )
    return polled


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
