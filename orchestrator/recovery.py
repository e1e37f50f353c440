"""Crash recovery: finish the work a dead worker or a lost message left behind, exactly once (issue 24).

Three rules, applied by the periodic ``recover_attempts`` (beat, every 5 s) and by the reaper before it fails an
expired attempt (``take_over``); the intervals and why each is safe are in docs/decisions.md "Crash recovery".

1. **Never started → re-published, not failed.** An attempt still without a lease owner after
   ``NODE_REDISPATCH_SECONDS`` in the queue (doubling each time), once the executor queue has no message waiting
   (a busy queue is not a lost message), is published again, the same attempt: the start
   compare-and-set in ``executors.runner`` lets exactly one worker take it, so a duplicate message is harmless.
   So is an attempt an executor took (it holds the lease) but whose process is gone before the tool began — for
   an approved action that is provable: the approval was never claimed, so it runs under the same approval and
   action hash, no second approval asked. At most ``NODE_MAX_REDISPATCHES`` times; then the reaper fails it when
   its dispatch lease runs out, saying how many times it was re-dispatched.
2. **Started, idempotent tool, worker died → retried**, with backoff, on its own budget (``NODE_CRASH_RETRIES``,
   counted on the node): the attempt is closed FAILED and the node goes back to READY without using one of its
   declared retries.
   An approved action whose result was recorded (its execution record COMPLETED or FAILED) before the worker died
   is finished from that record (``how="finished"``): nothing runs again.
3. **Started, not safe to repeat → today's rule**: never re-run automatically; the reaper fails the attempt (the
   node's retry policy applies) and an approved action's claim record stays IN_PROGRESS for an operator, who
   resolves it (console, admin): the action happened, or ask for a fresh approval (``on_fresh_approval_wanted``).

"The worker died" comes from the heartbeats (``orchestrator.heartbeats``): within ``WORKER_HEARTBEAT_TIMEOUT_SECONDS``
its attempts' leases are expired at once instead of after ``NODE_LEASE_SECONDS``. Each recovery emits
``node.recovered`` and counts in ``workflow_attempts_recovered_total``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from approvals import gate
from approvals.models import ExecutionStatus
from approvals.outcomes import FreshApproval
from orchestrator import completion, events, heartbeats, metrics, progress, runs, wakeups
from orchestrator.lib import tools
from orchestrator.lib.waiting import run_changed
from orchestrator.models import NodeRunStatus, NodeStatus, RunStatus, WorkflowNode, WorkflowNodeRun, WorkflowRun
from orchestrator.transitions import ATTEMPT, NODE, AttemptAction, NodeAction

logger = logging.getLogger(__name__)

MAX_CRASH_BACKOFF_SECONDS = 60.0
FIELDS = (
    "id", "lease_owner", "lease_expires_at", "timeout_at", "external_task_id", "redispatches", "approval_id",
    "input", "fencing_token", "attempt", "node_id", "node__key", "node__crash_retries", "run_id", "run__tenant_id",
)  # fmt: skip


@dataclass
class _Recovered:
    """What one pass did: attempts to publish after commit, and how many were retried."""

    publish: list[str]
    retried: int = 0


def recover_attempts(*, limit: int = 200, now: datetime | None = None) -> int:
    """The periodic pass: expire the leases of gone workers, re-publish attempts queued too long, take over
    expired ones that are safe to recover. Returns how many attempts were recovered. Side effects: see the rules
    in the module docstring; messages are published after commit."""
    now = now or timezone.now()
    expire_leases_of_gone_workers(now)
    done = _Recovered(publish=[])
    for row in _queued_too_long(now, limit):
        with transaction.atomic():  # one attempt per transaction: a failure leaves the others recovered
            _redispatch(row, now, done, reason="queued")
    expired = (
        WorkflowNodeRun.objects.filter(status=NodeRunStatus.RUNNING, lease_expires_at__lt=now)
        .exclude(lease_owner="")
        .filter(external_task_id="")
        .filter(Q(timeout_at__isnull=True) | Q(timeout_at__gt=now))
        .order_by("lease_expires_at")
        .values(*FIELDS)[:limit]
    )
    for row in list(expired):
        with transaction.atomic():
            _take_over_row(row, now, done)
    _publish_on_commit(done.publish)
    heartbeats.prune(now)
    return len(done.publish) + done.retried


def take_over(node_run_id: Any, *, now: datetime) -> bool:
    """The reaper asks before failing an expired attempt: re-dispatch or retry it instead when a rule allows
    (never for a timed-out or task-controller attempt). Returns True when recovery took it over."""
    row = (
        WorkflowNodeRun.objects.filter(pk=node_run_id, status=NodeRunStatus.RUNNING, external_task_id="")
        .filter(Q(timeout_at__isnull=True) | Q(timeout_at__gt=now))
        .values(*FIELDS)
        .first()
    )
    if row is None:
        return False
    done = _Recovered(publish=[])
    with transaction.atomic():
        if row["lease_owner"]:
            _take_over_row(row, now, done)
        else:
            _redispatch(row, now, done, reason="dispatch_lease")
        _publish_on_commit(done.publish)
    return bool(done.publish or done.retried)


def never_started_error(redispatches: int) -> str:
    """The reason a never-started attempt fails once re-publishing it is exhausted."""
    return (
        "dispatched but never started by a worker before NODE_DISPATCH_TIMEOUT_SECONDS "
        f"(re-dispatched {redispatches} time(s), NODE_MAX_REDISPATCHES={settings.NODE_MAX_REDISPATCHES})"
    )


def expire_leases_of_gone_workers(now: datetime) -> int:
    """Expire now the leases of local attempts whose worker stopped beating, or was restarted since the attempt
    started, so that recovery and the reaper handle them without waiting ``NODE_LEASE_SECONDS``."""
    owners = heartbeats.gone_owners(now)
    gone = [who for who, booted_at in owners.items() if booted_at is None]
    restarted = Q()
    for who, booted_at in owners.items():
        if booted_at is not None:
            restarted |= Q(lease_owner=who, started_at__lt=booted_at)
    if not gone and not restarted:
        return 0
    return (
        WorkflowNodeRun.objects.filter(status=NodeRunStatus.RUNNING, external_task_id="", lease_expires_at__gt=now)
        .filter(Q(lease_owner__in=gone) | restarted)
        .update(lease_expires_at=now - timedelta(microseconds=1))
    )


def _queued_too_long(now: datetime, limit: int) -> list[dict[str, Any]]:
    """Unstarted local attempts whose turn to be re-published has come (interval doubling per re-publish), unless
    messages are still waiting in the executor queue: then theirs are most likely among them (a busy queue is not
    a lost message; the dispatch lease still bounds the wait, through the reaper)."""
    rows = (
        WorkflowNodeRun.objects.filter(
            status=NodeRunStatus.RUNNING,
            lease_owner="",
            external_task_id="",
            redispatches__lt=settings.NODE_MAX_REDISPATCHES,
            started_at__lt=now - timedelta(seconds=settings.NODE_REDISPATCH_SECONDS),
        )
        .order_by("started_at")
        .values(*FIELDS, "started_at")[:limit]
    )
    due = [r for r in rows if r["started_at"] + _redispatch_interval(r["redispatches"]) <= now]
    if due and wakeups.executor_backlog():
        logger.info("%d attempt(s) waited long, but the executor queue is not empty: not re-published yet", len(due))
        return []
    return due


def _redispatch_interval(redispatches: int) -> timedelta:
    return timedelta(seconds=settings.NODE_REDISPATCH_SECONDS * 2 ** min(redispatches, 10))


def _take_over_row(row: dict[str, Any], now: datetime, done: _Recovered) -> None:
    """An attempt a worker held whose lease expired: re-dispatch (approved, never claimed) or crash-retry
    (idempotent tool), else leave it to the reaper (rule 3)."""
    if row["approval_id"]:
        if gate.unclaimed_approval(approval_id=row["approval_id"]):
            _redispatch(row, now, done, reason="worker_gone")
        elif _finish_from_record(row, now):
            done.retried += 1
        return
    safe = tools.is_idempotent(row["input"]) and row["node__crash_retries"] < settings.NODE_CRASH_RETRIES
    if safe and _crash_retry(row, now):
        done.retried += 1


def _finish_from_record(row: dict[str, Any], now: datetime) -> bool:
    """The approved action ran and its result was recorded, then the worker died before finishing the attempt:
    finish it from the record (its output, or its error) — the action is not run again."""
    record = gate.recorded_execution(approval_id=row["approval_id"], node_run_id=str(row["id"]))
    if record is None:
        return False
    owner = row["lease_owner"]
    if record.status == ExecutionStatus.COMPLETED:
        finished = completion.complete_node_run(node_run_id=row["id"], output=record.output, owner=owner)
    else:
        error = record.error or "the action failed"
        finished = completion.fail_node_run(node_run_id=row["id"], error=error, owner=owner, expired_before=now)
    if finished:
        detail = f"the worker died after recording the action's result ({record.status}); finished from it"
        _recovered(row, how="finished", reason="worker_gone", count=1, detail=detail)
    return finished


def _redispatch(row: dict[str, Any], now: datetime, done: _Recovered, *, reason: str) -> None:
    """Give the attempt back to the queue (no owner, a fresh dispatch lease) and publish it after commit."""
    count = row["redispatches"]
    if count >= settings.NODE_MAX_REDISPATCHES:
        return
    taken = WorkflowNodeRun.objects.filter(
        pk=row["id"], status=NodeRunStatus.RUNNING, lease_owner=row["lease_owner"], redispatches=count
    )
    if row["lease_owner"]:  # a worker's expired lease: only while it is still expired (a live worker renews)
        taken = taken.filter(lease_expires_at__lt=now)
    if not taken.update(
        lease_owner="",
        redispatches=count + 1,
        started_at=now,
        timeout_at=None,
        lease_expires_at=now + timedelta(seconds=settings.NODE_DISPATCH_TIMEOUT_SECONDS),
    ):
        return
    done.publish.append(str(row["id"]))
    worker = f" (worker {row['lease_owner']} is gone)" if row["lease_owner"] else ""
    _recovered(row, how="redispatched", reason=reason, count=count + 1,
               detail=f"not started by a worker{worker}; dispatched again")  # fmt: skip


def _crash_retry(row: dict[str, Any], now: datetime) -> bool:
    """Close the attempt FAILED and put its node back to READY after a backoff, outside its retry budget."""
    used = row["node__crash_retries"] + 1
    error = (
        f"worker {row['lease_owner']} died while running this attempt; the tool is idempotent, so it is retried "
        f"automatically (crash retry {used} of {settings.NODE_CRASH_RETRIES})"
    )
    closed = WorkflowNodeRun.objects.filter(
        pk=row["id"], lease_owner=row["lease_owner"], lease_expires_at__lt=now, **ATTEMPT[AttemptAction.FAIL].where()
    ).update(status=ATTEMPT[AttemptAction.FAIL].target, error=error, finished_at=now, lease_expires_at=None)
    if not closed:
        return False
    delay = min(MAX_CRASH_BACKOFF_SECONDS, settings.NODE_CRASH_RETRY_BACKOFF_SECONDS * 2 ** (used - 1))
    back_off = NODE[NodeAction.BACK_OFF]
    # ``retry_base`` moves with ``attempts``: this attempt does not count against the node's declared retries.
    if WorkflowNode.objects.filter(pk=row["node_id"], **back_off.where()).update(
        status=back_off.target,
        not_before=now + timedelta(seconds=delay),
        error=error,
        retry_base=F("retry_base") + 1,
        crash_retries=F("crash_retries") + 1,
        updated_at=now,
    ):
        run_changed(row["run_id"])
    if row["fencing_token"] is not None:
        progress.release_workspace(node_run_id=row["id"], run_id=row["run_id"], now=now)
    wakeups.wake(countdown=delay)
    _recovered(row, how="retried", reason="worker_gone", count=used, detail=error)
    return True


def _recovered(row: dict[str, Any], *, how: str, reason: str, count: int, detail: str) -> None:
    """``node.recovered`` (in the caller's transaction) and the metric (on commit)."""
    events.emit(
        "node.recovered",
        tenant_id=row["run__tenant_id"],
        resource_type="workflow_node",
        resource_id=row["node_id"],
        data={
            "run_id": str(row["run_id"]),
            "node_key": row["node__key"],
            "node_run_id": str(row["id"]),
            "attempt": row["attempt"],
            "recovery": how,
            "reason": reason,
            "count": count,
            "approval_id": row["approval_id"] or None,
            "detail": detail,
        },
    )
    transaction.on_commit(lambda: metrics.workflow_attempts_recovered_total.labels(how=how, reason=reason).inc())
    logger.info("recovered attempt %s of %s: %s (%s)", row["id"], row["node__key"], how, reason)


def _publish_on_commit(node_run_ids: list[str]) -> None:
    if node_run_ids:
        ids = list(node_run_ids)
        transaction.on_commit(lambda: wakeups.dispatch_to_executors(ids))


# --- Operators: a fresh approval for an action whose execution is unknown -----------------------------------------


def on_fresh_approval_wanted(wanted: FreshApproval) -> None:
    """Listener on ``approvals.outcomes.fresh_approval_wanted`` (an operator resolved a stuck execution by asking
    for a fresh approval). Inside that transaction: a FAILED node of a FAILED run is retried (``runs.retry_node``),
    and the gate, finding its approval EXECUTED, asks for a new one. A node already READY, RUNNING or waiting on a
    new request is left alone (its retry policy already brought it back)."""
    node = WorkflowNode.objects.filter(pk=wanted.node_id).values("key", "status", "run_id").first()
    if node is None or node["status"] != NodeStatus.FAILED:
        return
    run = WorkflowRun.objects.filter(pk=node["run_id"], status=RunStatus.FAILED).first()
    if run is not None:
        runs.retry_node(run=run, key=node["key"])
