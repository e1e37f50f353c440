"""Writes for the workspace lifecycle (SPEC §4): create, wake, hibernate, terminate, idle hibernation.

Every transition is one conditional ``UPDATE … WHERE status IN (…)`` (see ``workspaces.lifecycle``); a zero row
count becomes 409 ``invalid_state``. The change and its event share one transaction. Provider calls never run
inside a request: a transition records the operation the provider owes (``operation`` + ``operation_due_at``) and
asks a Celery task to perform it after commit (``workspaces.operations``); the periodic sweep re-enqueues
operations whose task was lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import DateTimeField, F, Q, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from orchestrator import events
from orchestrator.lib import units
from orchestrator.lib.errors import InvalidInput, InvalidStateError, NotFoundError

from .errors import LockHeld
from .lifecycle import Action, sources, target
from .models import Operation, Workspace, WorkspaceStatus

logger = logging.getLogger(__name__)

ReadinessListener = Callable[[str, str], None]
_readiness_listeners: list[ReadinessListener] = []


def add_readiness_listener(listener: ReadinessListener) -> None:
    """Call ``listener(workspace_id, status)`` after commit whenever provisioning settles (READY or FAILED).

    The scheduler registers one (in its ``AppConfig.ready``) to wake the runs waiting for a workspace at once
    instead of at their next tick. Registering the same function twice has no effect.
    """
    if listener not in _readiness_listeners:
        _readiness_listeners.append(listener)


def remove_readiness_listener(listener: ReadinessListener) -> None:
    if listener in _readiness_listeners:
        _readiness_listeners.remove(listener)


def notify_settled(workspace_id: Any, status: str) -> None:
    def notify() -> None:
        for listener in list(_readiness_listeners):
            try:
                listener(str(workspace_id), status)
            except Exception:  # a listener's bug must not undo or hide the transition that already committed
                logger.exception("workspace readiness listener %r failed", listener)

    transaction.on_commit(notify)


def enqueue_operation(workspace_id: Any, *, delay_seconds: float = 0.0) -> None:
    """Ask a worker to perform the workspace's due provider operation after commit (after ``delay_seconds``)."""
    from . import tasks  # the tasks module imports this one

    countdown = max(0.0, float(delay_seconds))
    transaction.on_commit(
        lambda: tasks.perform_workspace_operation.apply_async(args=[str(workspace_id)], countdown=countdown)
    )


def event_data(workspace: Workspace, **extra: Any) -> dict[str, Any]:
    return {"workspace_id": str(workspace.pk), "name": workspace.name, "status": workspace.status, **extra}


def _forbidden(workspace_id: Any, action: Action) -> InvalidStateError | NotFoundError:
    current = Workspace.objects.filter(pk=workspace_id).values_list("status", flat=True).first()
    if current is None:
        return NotFoundError("No such workspace.")
    return InvalidStateError(
        f"Cannot {action.value.replace('_', ' ')} a workspace that is {current}.", current_status=current
    )


def _start_operation(operation: str, now: datetime, *, drop_lease: bool = False) -> dict[str, Any]:
    """The UPDATE fields that begin ``operation`` now (and, for hibernate/terminate, drop any live lease)."""
    fields: dict[str, Any] = {
        "status_changed_at": now,
        "operation": operation,
        "operation_attempts": 0,
        "operation_started_at": now,
        "operation_due_at": _due_now(now),
        "updated_at": now,
    }
    if drop_lease:
        fields.update(lock_owner=None, lock_expires_at=None, lock_acquired_at=None, lock_renewals=0)
    return fields


def _due_now(now: datetime) -> Coalesce:
    """``operation_due_at`` for a new operation: now, unless a step's claim still runs (then when it ends)."""
    value = Value(now, output_field=DateTimeField())
    return Coalesce(Greatest(F("operation_due_at"), value), value, output_field=DateTimeField())


def create_workspace(
    *, tenant_id: Any, name: str = "", metadata: dict[str, Any] | None = None, provision: bool = False
) -> Workspace:
    """Create a PENDING workspace for ``tenant_id`` with the configured provider (``WORKSPACE_PROVIDER``).

    With ``provision=True`` provisioning starts at once (otherwise the first run that names it starts it).
    """
    if len(name) > 200:
        raise InvalidInput("At most 200 characters.", field="name")
    if metadata is not None and not isinstance(metadata, dict):
        raise InvalidInput("Must be an object.", field="metadata")
    now = timezone.now()
    with transaction.atomic():
        workspace = Workspace.objects.create(
            tenant_id=tenant_id,
            name=name,
            metadata=metadata or {},
            provider=settings.WORKSPACE_PROVIDER,
            status_changed_at=now,
        )
        if provision:
            workspace = wake_workspace(workspace_id=workspace.pk)
    return workspace


def wake_workspace(*, workspace_id: Any) -> Workspace:
    """PENDING | HIBERNATED | FAILED → PROVISIONING, and ask a worker to provision it after commit.

    Raises ``InvalidStateError`` (409) from any other state, ``NotFoundError`` for an unknown id. The event
    ``workspace.provisioned`` follows when the provider reports the workspace ready.
    """
    now = timezone.now()
    with transaction.atomic():
        updated = Workspace.objects.filter(pk=workspace_id, status__in=sources(Action.WAKE)).update(
            status=target(WorkspaceStatus.PENDING, Action.WAKE),
            last_error="",
            **_start_operation(Operation.PROVISION, now),
        )
        if not updated:
            raise _forbidden(workspace_id, Action.WAKE)
        enqueue_operation(workspace_id)
    return Workspace.objects.get(pk=workspace_id)


def hibernate_workspace(
    *, workspace_id: Any, reason: str = "requested", idle_before: datetime | None = None
) -> Workspace:
    """READY → HIBERNATED when nobody holds the lock; the provider is told after commit. Emits ``workspace.hibernated``.

    ``idle_before`` (the idle sweep) additionally requires no use since then, checked in the same UPDATE so a
    workspace used a moment ago is not hibernated under its user. Raises ``LockHeld`` (409 ``lock_held``) while
    a lease is live, ``InvalidStateError`` from any state but READY.
    """
    now = timezone.now()
    lock_free = Q(lock_owner__isnull=True) | Q(lock_expires_at__isnull=True) | Q(lock_expires_at__lte=now)
    with transaction.atomic():
        queryset = Workspace.objects.filter(lock_free, pk=workspace_id, status__in=sources(Action.HIBERNATE))
        if idle_before is not None:
            queryset = queryset.filter(
                Q(last_used_at__lt=idle_before) | Q(last_used_at__isnull=True, status_changed_at__lt=idle_before)
            )
        updated = queryset.update(
            status=target(WorkspaceStatus.READY, Action.HIBERNATE),
            **_start_operation(Operation.HIBERNATE, now, drop_lease=True),
        )
        if not updated:
            row = Workspace.objects.filter(pk=workspace_id).only("status", "lock_owner", "lock_expires_at").first()
            if row is not None and row.status == WorkspaceStatus.READY:
                if row.lock_owner and row.lock_expires_at and row.lock_expires_at > now:
                    raise lock_held_error(owner=row.lock_owner, expires_at=row.lock_expires_at, now=now)
                if idle_before is not None:
                    raise InvalidStateError("The workspace was used recently.", current_status=row.status)
            raise _forbidden(workspace_id, Action.HIBERNATE)
        workspace = Workspace.objects.get(pk=workspace_id)
        events.emit(
            "workspace.hibernated",
            tenant_id=workspace.tenant_id,
            resource_type="workspace",
            resource_id=workspace.pk,
            data=event_data(workspace, reason=reason),
            before={"status": WorkspaceStatus.READY},
            after={"status": workspace.status},
            reason=reason,
        )
        enqueue_operation(workspace_id)
    return workspace


def terminate_workspace(*, workspace_id: Any, reason: str = "requested") -> Workspace:
    """Any state but TERMINATED → TERMINATED; the provider destroys it after commit (locally: the folder is deleted).

    A live lease is dropped: its holder's fencing token is stale from now on, so it can no longer write. The
    fencing token itself is never reset. Emits ``workspace.terminated``.
    """
    now = timezone.now()
    with transaction.atomic():
        before = Workspace.objects.filter(pk=workspace_id).values_list("status", flat=True).first()
        updated = Workspace.objects.filter(pk=workspace_id, status__in=sources(Action.TERMINATE)).update(
            status=WorkspaceStatus.TERMINATED,
            **_start_operation(Operation.TERMINATE, now, drop_lease=True),
        )
        if not updated:
            raise _forbidden(workspace_id, Action.TERMINATE)
        workspace = Workspace.objects.get(pk=workspace_id)
        events.emit(
            "workspace.terminated",
            tenant_id=workspace.tenant_id,
            resource_type="workspace",
            resource_id=workspace.pk,
            data=event_data(workspace, reason=reason),
            before={"status": before},
            after={"status": workspace.status},
            reason=reason,
        )
        enqueue_operation(workspace_id)
    return workspace


def lock_held_error(*, owner: str, expires_at: datetime, now: datetime) -> LockHeld:
    """The 409 ``lock_held`` problem: who holds it, until when, and how long to wait (``Retry-After`` follows)."""
    retry_after_ms = max(1, int((expires_at - now).total_seconds() * 1000 + 0.999))
    return LockHeld(
        f"The workspace lock is held by {owner!r} until {expires_at.isoformat()}.",
        owner=owner,
        expires_at=expires_at.isoformat().replace("+00:00", "Z"),
        retry_after_ms=retry_after_ms,
    )


# --- Periodic housekeeping ---------------------------------------------------------------------------------------


def hibernate_idle_workspaces(*, limit: int = 200) -> int:
    """Hibernate READY workspaces unused for ``WORKSPACE_IDLE_HIBERNATE_MINUTES`` and not locked; returns how many."""
    minutes = settings.WORKSPACE_IDLE_HIBERNATE_MINUTES
    if minutes <= 0:
        return 0
    now = timezone.now()
    cutoff = now - timedelta(minutes=minutes)
    idle = (
        Workspace.objects.filter(status=WorkspaceStatus.READY)
        .filter(Q(last_used_at__lt=cutoff) | Q(last_used_at__isnull=True, status_changed_at__lt=cutoff))
        .filter(Q(lock_owner__isnull=True) | Q(lock_expires_at__isnull=True) | Q(lock_expires_at__lte=now))
        .values_list("pk", "tenant_id")[:limit]
    )
    count = 0
    # Each workspace is a unit (issue 16): its own transaction, an error counted and logged, the others go on. No
    # quarantine: a workspace that cannot hibernate stays READY (harmless), reported at every pass.
    guard = units.Guard(HIBERNATE_JOB)
    for workspace_id, tenant_id in list(idle):
        with guard.unit(
            units.Unit(key=f"workspace:{workspace_id}", ids={"tenant": tenant_id, "workspace": workspace_id})
        ):
            try:
                hibernate_workspace(workspace_id=workspace_id, reason="idle", idle_before=cutoff)
                count += 1
            except (InvalidStateError, LockHeld, NotFoundError):
                continue  # used, locked or changed since the query: not idle any more
    return count


HIBERNATE_JOB = "workspaces.hibernate_idle"
