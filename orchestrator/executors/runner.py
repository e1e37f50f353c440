"""Execute one attempt (node run) end to end, exactly once.

1. **Start** is a compare-and-set on the attempt (``RUNNING`` and no lease owner yet → owned by this worker with a
   lease). A duplicate delivery of the same message, or a stale one for an attempt already reaped or cancelled,
   finds nothing to take and returns: the tool runs at most once per attempt.
2. **Run**: the local tool with the process's lease keeper renewing the lease (and noticing cancellation), or a dispatch
   to the task controller, whose report arrives later by callback or poll.
3. **Finish**: ``complete_node_run`` / ``fail_node_run`` with the lease owner in the WHERE, so a worker whose lease
   was reaped cannot overwrite the retry's result.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from approvals import gate
from orchestrator import completion, metrics, scheduler, statements, wakeups
from orchestrator.claims import workspace_lease_seconds
from orchestrator.lib import tools
from orchestrator.models import NodeRunStatus, WorkflowNodeRun
from orchestrator.progress import NodeRef
from workspaces import scheduling

from . import catalogue, task_controller

logger = logging.getLogger(__name__)
MAX_OUTPUT_BYTES = 1024 * 1024


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _jsonable(output: Any) -> Any:
    """Outputs are stored as JSON: coerce odd types, and replace an oversized output by a marker."""
    text = json.dumps(output, default=str)
    if len(text.encode()) > MAX_OUTPUT_BYTES:
        return {"truncated": True, "bytes": len(text.encode()), "excerpt": text[:4096]}
    return json.loads(text)


@dataclass
class _Lease:
    owner: str
    timeout_at: Any
    cancelled: threading.Event
    workspace: tuple[Any, int] | None  # (workspace_id, lease_seconds)
    interval: float
    due: float  # time.monotonic() of the next renewal


class LeaseKeeper:
    """One thread per worker process renews the leases of the attempts it runs (registering an attempt is a dict
    insert, not a thread start: most attempts end before their first renewal). Every ``interval`` an attempt's
    lease is renewed (never past ``timeout_at``), and its workspace lease with it; when a renewal finds the attempt
    (or the workspace lock) no longer ours (cancelled, reaped, taken over), its ``cancelled`` event is set so the
    tool can stop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wakeup = threading.Event()
        self._leases: dict[str, _Lease] = {}
        self._pid = 0
        self._thread: threading.Thread | None = None

    def register(
        self, node_run_id: str, owner: str, timeout_at: Any, cancelled: threading.Event, workspace: Any = None
    ) -> None:
        interval = max(0.2, min(settings.NODE_LEASE_SECONDS / 3, 5.0))
        if workspace is not None:
            interval = max(0.2, min(interval, workspace[1] / 3))
        lease = _Lease(owner, timeout_at, cancelled, workspace, interval, time.monotonic() + interval)
        with self._lock:
            self._leases[node_run_id] = lease
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                # Started lazily in the process that runs attempts (a forked Celery child has no thread yet).
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)
                self._thread.start()
        self._wakeup.set()

    def unregister(self, node_run_id: str) -> None:
        with self._lock:
            self._leases.pop(node_run_id, None)

    def _run(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                due = [(i, lease) for i, lease in self._leases.items() if lease.due <= now]
                upcoming = min((lease.due for lease in self._leases.values()), default=now + 5.0)
            for node_run_id, lease in due:
                self._renew(node_run_id, lease)
                lease.due = time.monotonic() + lease.interval
            if not due:
                self._wakeup.wait(max(0.05, upcoming - time.monotonic()))
                self._wakeup.clear()
            else:
                connection.close()  # do not hold a connection between rounds

    def _renew(self, node_run_id: str, lease: _Lease) -> None:
        try:
            until = timezone.now() + timedelta(seconds=settings.NODE_LEASE_SECONDS)
            if lease.timeout_at is not None:
                until = min(until, lease.timeout_at)
            renewed = WorkflowNodeRun.objects.filter(
                pk=node_run_id, status=NodeRunStatus.RUNNING, lease_owner=lease.owner
            ).update(lease_expires_at=until)
            if renewed and lease.workspace is not None:
                renewed = renew_workspace_lease(node_run_id, *lease.workspace)
        except Exception:
            logger.warning("lease heartbeat for %s failed", node_run_id, exc_info=True)
            return
        if not renewed:
            lease.cancelled.set()
            self.unregister(node_run_id)


lease_keeper = LeaseKeeper()


def renew_workspace_lease(node_run_id: str, workspace_id: Any, lease_seconds: int) -> bool:
    return scheduling.renew_for_attempt(
        workspace_id=workspace_id, owner=scheduling.attempt_owner(node_run_id), lease_seconds=lease_seconds
    )


def _start(node_run_id: str, owner: str, remote: bool) -> dict[str, Any] | str:
    """Take the attempt: its row (with its node's columns) or why not (``missing``, ``duplicate``)."""
    row = statements.start_attempts([node_run_id], owner, remote, timezone.now()).get(str(node_run_id))
    if row is not None:
        return row
    return "duplicate" if WorkflowNodeRun.objects.filter(pk=node_run_id).exists() else "missing"


def _single_executor() -> bool:
    """Every TASK runs on ``EXECUTOR_BACKEND`` (no ``EXECUTOR_CHOICES``): the fast paths below apply."""
    return len(catalogue.choices()) == 1


def _remote(node_run_id: str) -> bool:
    """Whether the attempt's node runs on the task controller: one read of its config when runs may pick."""
    if _single_executor():
        return settings.EXECUTOR_BACKEND == "task_controller"
    config = WorkflowNodeRun.objects.filter(pk=node_run_id).values_list("node__config", flat=True).first()
    return catalogue.is_remote(config or {})


def execute(node_run_id: str, row: dict[str, Any] | None = None) -> str:
    """Run attempt ``node_run_id``; returns what happened (``completed``, ``failed``, ``dispatched``,
    ``duplicate``, ``missing``, ``refused``), for logs and tests."""
    remote = _remote(node_run_id) if row is None else settings.EXECUTOR_BACKEND == "task_controller"
    owner = f"task_controller via {worker_identity()}" if remote else worker_identity()
    # An attempt this worker created already started (in-process continuation) needs no start statement.
    started = row or wakeups.take_prestarted(str(node_run_id)) or _start(node_run_id, owner, remote)
    if isinstance(started, str):
        return started
    row = started
    node = NodeRef.from_values(row, prefix="node__")
    timeout_at = row["timeout_at"]
    action = row["input"] or {}
    approval_id = row["approval_id"]
    if approval_id and not gate.claim_execution(approval_id=approval_id, node_run_id=str(node_run_id), action=action):
        completion.fail_node_run(
            node_run_id=node_run_id,
            error="approval_already_executed: the approved action already ran (or changed); not run again",
            owner=owner,
            retryable=False,
            node=node,
        )
        return "refused"
    if remote:
        return _dispatch_remote(node_run_id, row, node, action, owner)
    return _run_local(node_run_id, row, node, action, owner, timeout_at, approval_id)


def _run_local(
    node_run_id: str,
    row: dict[str, Any],
    node: NodeRef,
    action: dict[str, Any],
    owner: str,
    timeout_at: Any,
    approval_id: str,
) -> str:
    ctx = tools.ToolContext(
        node_run_id=str(node_run_id),
        run_id=str(node.run_id),
        node_key=node.key,
        attempt=row["attempt"],
        workspace_id=str(row["run__workspace_id"]) if row["run__workspace_id"] else None,
        fencing_token=row["fencing_token"],
        deadline=(time.monotonic() + (timeout_at - timezone.now()).total_seconds()) if timeout_at else None,
    )
    workspace = None
    if row["run__workspace_id"] and row["fencing_token"] is not None:
        workspace = (row["run__workspace_id"], workspace_lease_seconds(node.config))
        # The lease was taken at claim time; the message may have waited in the queue past it.
        if not renew_workspace_lease(str(node_run_id), *workspace):
            completion.fail_node_run(
                node_run_id=node_run_id,
                error="stale_fencing_token: the workspace lease expired before the attempt started",
                owner=owner,
                node=node,
            )
            return "failed"
    lease_keeper.register(str(node_run_id), owner, timeout_at, ctx.cancelled, workspace)
    began = time.perf_counter()
    output: Any = None
    error = ""
    retryable = True
    try:
        output = _jsonable(tools.run_tool(str(action.get("tool")), dict(action.get("params") or {}), ctx))
    except tools.ToolError as exc:
        error = str(exc) or exc.__class__.__name__
        retryable = exc.retryable
    except Exception as exc:  # a bug in a tool is a failed attempt, not a crashed worker
        logger.exception("tool %s raised", action.get("tool"))
        error = f"{exc.__class__.__name__}: {exc}"
    finally:
        lease_keeper.unregister(str(node_run_id))
    metrics.workflow_node_duration_seconds.labels(type=node.type).observe(time.perf_counter() - began)
    if approval_id:
        gate.record_execution_result(
            approval_id=approval_id, node_run_id=str(node_run_id), succeeded=not error, output=output, error=error
        )
    if error:
        completion.fail_node_run(node_run_id=node_run_id, error=error, owner=owner, node=node, retryable=retryable)
        return "failed"
    if not completion.complete_node_run(node_run_id=node_run_id, output=output, owner=owner, node=node):
        return "lost"
    return "completed"


def _dispatch_remote(node_run_id: str, row: dict[str, Any], node: NodeRef, action: dict[str, Any], owner: str) -> str:
    payload = task_controller.build_payload(
        node_run_id=str(node_run_id),
        run_id=str(node.run_id),
        node_key=node.key,
        attempt=row["attempt"],
        workspace_id=str(row["run__workspace_id"]) if row["run__workspace_id"] else None,
        action=action,
        fencing_token=row["fencing_token"],
    )
    try:
        task_controller.dispatch(payload)
    except task_controller.TaskControllerError as exc:
        completion.fail_node_run(
            node_run_id=node_run_id, error=f"task controller dispatch failed: {exc}", owner=owner, node=node
        )
        return "failed"
    return "dispatched"


MAX_CONTINUATIONS = 100
MAX_CONTINUATION_SECONDS = 5.0


def execute_batch(node_run_ids: list[str]) -> list[str]:
    """Run several attempts (one executor message of a fan-out) one after the other. On PostgreSQL with the local
    executor they are all taken in one statement and their leases kept alive by the lease keeper while they wait
    their turn; each then runs (and continues in-process) as ``execute_in_worker`` does."""
    # Only where one statement starts them all (PostgreSQL), and only when every attempt is local.
    if (
        not statements.start_attempts.specialised()
        or settings.EXECUTOR_BACKEND == "task_controller"
        or not _single_executor()
        or len(node_run_ids) < 2
    ):
        return [execute_in_worker(node_run_id) for node_run_id in node_run_ids]
    close_old_connections()
    owner = worker_identity()
    rows = statements.start_attempts(node_run_ids, owner, False, timezone.now())
    waiting = {node_run_id: threading.Event() for node_run_id in rows}
    for node_run_id, taken in rows.items():
        lease_keeper.register(node_run_id, owner, taken["timeout_at"], waiting[node_run_id])
    outcomes = []
    for node_run_id in node_run_ids:
        row = rows.get(str(node_run_id))
        if row is None:
            outcomes.append("duplicate")
            continue
        if waiting[str(node_run_id)].is_set():  # reaped or cancelled while it waited its turn
            lease_keeper.unregister(str(node_run_id))
            outcomes.append("lost")
            continue
        outcomes.append(execute_in_worker(str(node_run_id), row=row))
    return outcomes


def execute_in_worker(node_run_id: str, row: dict[str, Any] | None = None) -> str:
    """The Celery entry point. Successors this attempt makes READY are claimed right after commit (in-process
    tick); this worker keeps **one** of the new attempts and runs it next (no broker round trip between a node and
    its successor), and hands the others to the executor queue for other workers. The continuation is bounded
    (``MAX_CONTINUATIONS`` attempts or ``MAX_CONTINUATION_SECONDS``) so one message never monopolises a worker.
    Exactly-once still comes from the start compare-and-set in ``execute``."""
    close_old_connections()
    claimed: list[str] = []
    deadline = time.monotonic() + MAX_CONTINUATION_SECONDS
    outcome = ""
    current: str | None = node_run_id
    steps = 0
    # Prestarted successors are local attempts: only when every node runs locally.
    local = settings.EXECUTOR_BACKEND != "task_controller" and _single_executor()
    with scheduler.inline_wakeups(dispatch=claimed.extend):
        while current is not None:
            # Offer the next completion to create its first successor already started by us, unless this is the
            # last step of the continuation (then everything new goes to the queue).
            last_step = steps + 1 >= MAX_CONTINUATIONS or time.monotonic() > deadline
            if local and not last_step:
                with wakeups.offer_prestart(worker_identity()):
                    outcome = execute(current, row)
            else:
                outcome = execute(current, row)
            row = None
            steps += 1
            if not claimed:
                break
            # An attempt created already started by this worker must run here (no message exists for it).
            prestarted = [i for i in claimed if i in wakeups.prestarted_ids()]
            following = prestarted[0] if prestarted else claimed[0]
            rest = [i for i in claimed if i != following]
            claimed.clear()
            current = following
            if not prestarted and (steps >= MAX_CONTINUATIONS or time.monotonic() > deadline):
                rest, current = [following, *rest], None
            if rest:
                wakeups.dispatch_to_executors(rest)
    return outcome
