"""What the workflow scheduler calls for runs that name a workspace (SPEC §3.5, §4). Service API, no HTTP.

Intended use by the engine, per run and per TASK attempt:

1. Before dispatching any TASK of a run with a workspace: ``prepare_for_run(run=run)``.
   ``ready`` → go on; ``pending`` → leave the node READY with ``not_before = now + retry_after_seconds`` (the
   scheduler is also woken at once when provisioning settles if it registered ``add_readiness_listener``);
   ``failed`` → fail the run with ``reason``. Call it before *every* TASK, not only the first: it is one
   indexed read when the workspace is READY, and it wakes a workspace the idle sweep hibernated mid-run.
2. Claiming the attempt: ``acquire_for_attempt(workspace_id=…, owner=attempt_owner(node_run_id),
   lease_seconds=…)``. ``Grant`` → store ``grant.fencing_token`` on the node run and pass it to the executor;
   ``Held`` → another TASK of this workspace is running: leave the node READY with
   ``not_before = now + retry_after_ms``; ``NotReady`` → go back to step 1. Use a lease a little longer than
   the attempt's timeout (max 3600 s; renew with ``renew_for_attempt`` from the attempt's heartbeat if longer).
3. When the attempt ends (completed, failed, timed out, cancelled, reaped): ``release_after_attempt(...)``.
   A worker that crashes never releases: the lease expires and the next acquisition gets a higher token, so the
   crashed attempt's writes are refused (``stale_fencing_token``).
4. When the run ends (any terminal status): ``finish_run(run=run)`` hibernates the workspace unless another
   RUNNING run uses it or a lease is live (then the idle sweep hibernates it later).

Per-attempt lock acquisitions do not emit ``workspace.lock_acquired``/``lock_released`` events (they would
double the audit volume of every workspace task, and the node run already records the attempt); they are counted
in ``workspace_lock_acquisitions_total``. Explicit locks taken through the API do emit them.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from django.conf import settings
from django.utils import timezone

from orchestrator.lib.errors import InvalidStateError, NotFoundError
from orchestrator.models import RunStatus, WorkflowRun

from . import locks, services
from .errors import LockHeld, LockNotHeld, WorkspaceNotReady
from .models import Workspace, WorkspaceStatus
from .services import add_readiness_listener, remove_readiness_listener

__all__ = [
    "Grant",
    "Held",
    "NotReady",
    "Readiness",
    "acquire_for_attempt",
    "add_readiness_listener",
    "attempt_owner",
    "finish_run",
    "prepare_for_run",
    "release_after_attempt",
    "remove_readiness_listener",
    "renew_for_attempt",
]


@dataclass(frozen=True)
class Readiness:
    """``state``: ``ready`` (dispatch), ``pending`` (retry after ``retry_after_seconds``), ``failed`` (fail the run)."""

    state: Literal["ready", "pending", "failed"]
    retry_after_seconds: float = 0.0
    reason: str = ""

    @property
    def is_ready(self) -> bool:
        return self.state == "ready"

    @property
    def is_pending(self) -> bool:
        return self.state == "pending"

    @property
    def is_failed(self) -> bool:
        return self.state == "failed"


READY = Readiness("ready")


@dataclass(frozen=True)
class Grant:
    """The attempt holds the workspace: pass ``fencing_token`` to the executor."""

    fencing_token: int
    expires_at: datetime


@dataclass(frozen=True)
class Held:
    """Another attempt (or an API client) holds the workspace; try again after ``retry_after_ms``."""

    owner: str
    retry_after_ms: int


@dataclass(frozen=True)
class NotReady:
    """The workspace is not READY (hibernated or terminated meanwhile): call ``prepare_for_run`` again."""

    status: str


def attempt_owner(node_run_id: Any) -> str:
    """The lock owner of one TASK attempt."""
    return f"node-run:{node_run_id}"


def _pending() -> Readiness:
    return Readiness("pending", retry_after_seconds=float(settings.WORKSPACE_PROVISION_POLL_SECONDS))


def prepare_for_run(*, run: WorkflowRun) -> Readiness:
    """Make the run's workspace usable: READY → ready; PENDING/HIBERNATED → start provisioning (pending);
    PROVISIONING → pending; FAILED before this run started → retry provisioning (pending); FAILED during this
    run or TERMINATED → failed with the reason. Runs without a workspace are always ready.

    Side effects: may move the workspace to PROVISIONING (and enqueue the provider call); marks a READY
    workspace as used now (so the idle sweep leaves it alone).
    """
    if run.workspace_id is None:
        return READY
    for _ in range(3):  # a concurrent transition may change the status under us: look again
        workspace = Workspace.objects.filter(pk=run.workspace_id).first()
        if workspace is None:
            return Readiness("failed", reason="The run's workspace no longer exists.")
        label = workspace.name or str(workspace.pk)
        status = workspace.status
        if status == WorkspaceStatus.READY:
            Workspace.objects.filter(pk=workspace.pk, status=WorkspaceStatus.READY).update(last_used_at=timezone.now())
            return READY
        if status == WorkspaceStatus.PROVISIONING:
            return _pending()
        if status == WorkspaceStatus.TERMINATED:
            return Readiness("failed", reason=f"Workspace {label} is terminated.")
        if status == WorkspaceStatus.FAILED:
            failed_at = workspace.status_changed_at
            if run.started_at is not None and failed_at is not None and failed_at >= run.started_at:
                return Readiness(
                    "failed",
                    reason=f"Workspace {label} could not be provisioned: {workspace.last_error or 'unknown error'}",
                )
        try:
            services.wake_workspace(workspace_id=workspace.pk)
        except InvalidStateError:
            continue
        return _pending()
    return _pending()


def acquire_for_attempt(*, workspace_id: Any, owner: str, lease_seconds: int) -> Grant | Held | NotReady:
    """Take the workspace lock for one TASK attempt (``owner = attempt_owner(node_run_id)``); never raises for
    contention. Re-acquiring with the same owner extends the lease and keeps the token (a redelivered dispatch).
    """
    try:
        grant = locks.acquire_lock(
            workspace_id=workspace_id,
            owner=owner,
            lease_seconds=min(max(lease_seconds, locks.MIN_LEASE_SECONDS), locks.MAX_LEASE_SECONDS),
            emit_event=False,
            require_ready=True,
        )
    except LockHeld as exc:
        return Held(owner=str(exc.extra.get("owner", "")), retry_after_ms=int(exc.extra.get("retry_after_ms", 1000)))
    except (WorkspaceNotReady, InvalidStateError) as exc:
        return NotReady(status=str(exc.extra.get("current_status", "")))
    except NotFoundError:
        return NotReady(status="MISSING")
    return Grant(fencing_token=grant.fencing_token, expires_at=grant.expires_at)


def renew_for_attempt(*, workspace_id: Any, owner: str, lease_seconds: int) -> bool:
    """Extend the attempt's lease (heartbeat). False when it is no longer the holder: the attempt must stop."""
    try:
        locks.renew_lock(
            workspace_id=workspace_id,
            owner=owner,
            lease_seconds=min(max(lease_seconds, locks.MIN_LEASE_SECONDS), locks.MAX_LEASE_SECONDS),
        )
    except (LockHeld, LockNotHeld, NotFoundError):
        return False
    return True


def release_after_attempt(*, workspace_id: Any, owner: str) -> None:
    """Release the attempt's lease. No error when it already expired, was taken over, or the workspace is gone."""
    with contextlib.suppress(LockHeld, NotFoundError):
        locks.release_lock(workspace_id=workspace_id, owner=owner, emit_event=False)


def finish_run(*, run: WorkflowRun) -> None:
    """The run ended: hibernate its workspace unless another RUNNING run uses it or a lease is still live.

    Never raises for state: a workspace that is not READY (already hibernated, provisioning, failed, terminated)
    or still locked is left as it is; the idle sweep catches the locked case later.
    """
    if run.workspace_id is None:
        return
    others = (
        WorkflowRun.objects.filter(workspace_id=run.workspace_id, status=RunStatus.RUNNING).exclude(pk=run.pk).exists()
    )
    if others:
        return
    with contextlib.suppress(InvalidStateError, LockHeld, NotFoundError):
        services.hibernate_workspace(workspace_id=run.workspace_id, reason="run_finished")
