"""The workspace lock (SPEC §4): a lease with an owner and a fencing token, one conditional UPDATE per acquisition.

Semantics (recorded in docs/decisions.md):
- *Acquire* succeeds when the lock is free (no owner, or the lease expired) or when ``owner`` already holds an
  unexpired lease (re-entrant: the lease is extended and the fencing token is **kept**, because it is the same
  acquisition). Every new acquisition, including taking over an expired lease and an owner re-acquiring its own
  expired lease, increments the fencing token, so tokens strictly increase across acquisitions.
- The acquisition is one ``UPDATE … WHERE id = … AND status <> TERMINATED AND (lock_owner IS NULL OR
  lock_expires_at <= now OR lock_owner = :owner)`` whose SET clause increments the token only for a new
  acquisition (all SET expressions see the old row). On PostgreSQL concurrent acquirers queue on the row lock
  and re-check the WHERE against the winner's row, so exactly one wins. The winner reads its token back in the
  same transaction, which still holds the row lock.
- Time is one ``now`` taken from the application clock per operation (so tests can move it with time-machine).
- *Renew* extends only an unexpired lease of the same owner. *Release* clears the owner's lease (even an expired
  one nobody took); releasing a free lock answers ``released: false``; another owner's live lease is a 409.
- Events: ``workspace.lock_acquired`` on a new acquisition and ``workspace.lock_released`` on release, for
  explicit (API) locks. The scheduler's per-attempt locks pass ``emit_event=False`` (see scheduling.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from orchestrator import events, metrics
from orchestrator.lib.errors import InvalidInput, InvalidStateError, NotFoundError

from .errors import LockNotHeld, WorkspaceNotReady
from .models import Workspace, WorkspaceStatus
from .services import lock_held_error

MIN_LEASE_SECONDS = 1
MAX_LEASE_SECONDS = 3600
DEFAULT_LEASE_SECONDS = 30
MAX_OWNER_LENGTH = 200


@dataclass(frozen=True)
class LockGrant:
    """A held lease: pass ``fencing_token`` with every action taken under it."""

    owner: str
    fencing_token: int
    expires_at: datetime
    acquired: bool  # True for a new acquisition, False for a re-entrant extend or a renew


@dataclass(frozen=True)
class LockState:
    """What ``GET …/lock`` shows. ``fencing_token`` is the last issued token (also when the lock is free)."""

    locked: bool
    owner: str | None
    expires_at: datetime | None
    fencing_token: int


def validate_owner(owner: Any) -> str:
    if not isinstance(owner, str) or not owner.strip():
        raise InvalidInput("A non-empty owner is required.", field="owner")
    if len(owner) > MAX_OWNER_LENGTH:
        raise InvalidInput(f"At most {MAX_OWNER_LENGTH} characters.", field="owner")
    return owner


def validate_lease_seconds(lease_seconds: Any) -> int:
    if isinstance(lease_seconds, bool) or not isinstance(lease_seconds, int):
        raise InvalidInput("Must be an integer number of seconds.", field="lease_seconds")
    if not MIN_LEASE_SECONDS <= lease_seconds <= MAX_LEASE_SECONDS:
        raise InvalidInput(
            f"Must be between {MIN_LEASE_SECONDS} and {MAX_LEASE_SECONDS} seconds.", field="lease_seconds"
        )
    return lease_seconds


def _free(now: datetime) -> Q:
    return Q(lock_owner__isnull=True) | Q(lock_expires_at__isnull=True) | Q(lock_expires_at__lte=now)


def _lock_snapshot(workspace_id: Any) -> dict[str, Any] | None:
    row = (
        Workspace.objects.filter(pk=workspace_id)
        .values("tenant_id", "status", "lock_owner", "lock_expires_at", "fencing_token", "lock_renewals")
        .first()
    )
    return dict(row) if row is not None else None


def acquire_lock(
    *,
    workspace_id: Any,
    owner: str,
    lease_seconds: int = DEFAULT_LEASE_SECONDS,
    emit_event: bool = True,
    require_ready: bool = False,
) -> LockGrant:
    """Take (or re-enter) the workspace's lease for ``owner``; see the module docstring for the rules.

    Raises ``InvalidInput`` (bad owner/lease), ``NotFoundError``, ``InvalidStateError`` (TERMINATED),
    ``WorkspaceNotReady`` (``require_ready`` and not READY) and ``LockHeld`` (409 with ``owner``,
    ``expires_at``, ``retry_after_ms``). Side effects: ``workspace.lock_acquired`` on a new acquisition (when
    ``emit_event``), ``workspace_lock_acquisitions_total{result}`` with result acquired|extended|held.
    """
    validate_owner(owner)
    validate_lease_seconds(lease_seconds)
    # A lock released between our failed UPDATE and the read that explains it: try again (bounded).
    for _ in range(3):
        now = timezone.now()
        mine = Q(lock_owner=owner, lock_expires_at__gt=now)
        with transaction.atomic():
            queryset = (
                Workspace.objects.filter(pk=workspace_id)
                .exclude(status=WorkspaceStatus.TERMINATED)
                .filter(_free(now) | Q(lock_owner=owner))
            )
            if require_ready:
                queryset = queryset.filter(status=WorkspaceStatus.READY)
            updated = queryset.update(
                fencing_token=Case(When(mine, then=F("fencing_token")), default=F("fencing_token") + 1),
                lock_acquired_at=Case(When(mine, then=F("lock_acquired_at")), default=Value(now)),
                lock_renewals=Case(When(mine, then=F("lock_renewals") + 1), default=Value(0)),
                lock_owner=owner,
                lock_expires_at=now + timedelta(seconds=lease_seconds),
                last_used_at=now,
                updated_at=now,
            )
            if updated:
                row = _lock_snapshot(workspace_id)
                assert row is not None  # we hold its row lock
                grant = LockGrant(
                    owner=owner,
                    fencing_token=row["fencing_token"],
                    expires_at=row["lock_expires_at"],
                    acquired=row["lock_renewals"] == 0,
                )
                if grant.acquired and emit_event:
                    events.emit(
                        "workspace.lock_acquired",
                        tenant_id=row["tenant_id"],
                        resource_type="workspace",
                        resource_id=workspace_id,
                        data={
                            "workspace_id": str(workspace_id),
                            "owner": owner,
                            "fencing_token": grant.fencing_token,
                            "expires_at": grant.expires_at.isoformat(),
                            "lease_seconds": lease_seconds,
                        },
                    )
                metrics.workspace_lock_acquisitions_total.labels(
                    result="acquired" if grant.acquired else "extended"
                ).inc()
                return grant
        row = _lock_snapshot(workspace_id)
        if row is None:
            raise NotFoundError("No such workspace.")
        if row["status"] == WorkspaceStatus.TERMINATED:
            raise InvalidStateError("The workspace is terminated.", current_status=row["status"])
        if require_ready and row["status"] != WorkspaceStatus.READY:
            raise WorkspaceNotReady(f"The workspace is {row['status']}.", current_status=row["status"])
        now = timezone.now()
        if row["lock_owner"] and row["lock_owner"] != owner and row["lock_expires_at"] and row["lock_expires_at"] > now:
            metrics.workspace_lock_acquisitions_total.labels(result="held").inc()
            raise lock_held_error(owner=row["lock_owner"], expires_at=row["lock_expires_at"], now=now)
    metrics.workspace_lock_acquisitions_total.labels(result="held").inc()
    raise lock_held_error(owner="unknown", expires_at=timezone.now() + timedelta(seconds=1), now=timezone.now())


def renew_lock(*, workspace_id: Any, owner: str, lease_seconds: int = DEFAULT_LEASE_SECONDS) -> LockGrant:
    """Extend ``owner``'s unexpired lease to ``now + lease_seconds``; the fencing token is unchanged.

    Raises ``LockHeld`` when another owner holds it, ``LockNotHeld`` (409) when the lease expired or was released,
    ``NotFoundError``. No event (renewals are heartbeats).
    """
    validate_owner(owner)
    validate_lease_seconds(lease_seconds)
    now = timezone.now()
    with transaction.atomic():
        updated = (
            Workspace.objects.filter(pk=workspace_id, lock_owner=owner, lock_expires_at__gt=now)
            .exclude(status=WorkspaceStatus.TERMINATED)
            .update(
                lock_expires_at=now + timedelta(seconds=lease_seconds),
                lock_renewals=F("lock_renewals") + 1,
                last_used_at=now,
                updated_at=now,
            )
        )
        if updated:
            row = _lock_snapshot(workspace_id)
            assert row is not None
            return LockGrant(
                owner=owner, fencing_token=row["fencing_token"], expires_at=row["lock_expires_at"], acquired=False
            )
    row = _lock_snapshot(workspace_id)
    if row is None:
        raise NotFoundError("No such workspace.")
    if row["lock_owner"] and row["lock_owner"] != owner and row["lock_expires_at"] and row["lock_expires_at"] > now:
        raise lock_held_error(owner=row["lock_owner"], expires_at=row["lock_expires_at"], now=now)
    raise LockNotHeld(f"{owner!r} does not hold the lock (its lease expired or was released).")


def release_lock(*, workspace_id: Any, owner: str, emit_event: bool = True) -> bool:
    """Release ``owner``'s lease. True when a lease of ``owner`` was cleared, False when the lock was already free.

    Raises ``LockHeld`` (409) when another owner holds a live lease, ``NotFoundError``. Emits
    ``workspace.lock_released`` when a lease was cleared (and ``emit_event``). The fencing token is kept.
    """
    validate_owner(owner)
    now = timezone.now()
    with transaction.atomic():
        row = None
        updated = Workspace.objects.filter(pk=workspace_id, lock_owner=owner).update(
            lock_owner=None,
            lock_expires_at=None,
            lock_acquired_at=None,
            lock_renewals=0,
            last_used_at=now,
            updated_at=now,
        )
        if updated:
            if emit_event:
                row = _lock_snapshot(workspace_id)
                assert row is not None
                events.emit(
                    "workspace.lock_released",
                    tenant_id=row["tenant_id"],
                    resource_type="workspace",
                    resource_id=workspace_id,
                    data={"workspace_id": str(workspace_id), "owner": owner, "fencing_token": row["fencing_token"]},
                )
            return True
    row = _lock_snapshot(workspace_id)
    if row is None:
        raise NotFoundError("No such workspace.")
    if row["lock_owner"] and row["lock_expires_at"] and row["lock_expires_at"] > now:
        raise lock_held_error(owner=row["lock_owner"], expires_at=row["lock_expires_at"], now=now)
    return False


def lock_state(workspace: Workspace, *, now: datetime | None = None) -> LockState:
    """The lock as clients see it: an expired lease reads as free."""
    now = now or timezone.now()
    live = bool(workspace.lock_owner) and workspace.lock_expires_at is not None and workspace.lock_expires_at > now
    return LockState(
        locked=live,
        owner=workspace.lock_owner if live else None,
        expires_at=workspace.lock_expires_at if live else None,
        fencing_token=workspace.fencing_token,
    )


def read_lock(*, workspace_id: Any) -> LockState:
    """The current lock of ``workspace_id`` (fresh from the database)."""
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        raise NotFoundError("No such workspace.")
    return lock_state(workspace)
