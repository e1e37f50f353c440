"""The workspace lease lock (SPEC §4): re-entry, renew, release, expiry, fencing tokens, real concurrency."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from prometheus_client import REGISTRY

from audit.models import AuditLog
from orchestrator.lib.errors import InvalidInput, InvalidStateError, NotFoundError
from workspaces import locks, services, tools
from workspaces.errors import LockHeld, LockNotHeld, StaleFencingToken
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db


def acquisitions(result: str) -> float:
    return REGISTRY.get_sample_value("workspace_lock_acquisitions_total", {"result": result}) or 0.0


def test_first_acquisition_gets_token_one_and_an_expiry(make_workspace, tenant) -> None:
    workspace = make_workspace(tenant)
    with time_machine.travel(timezone.now(), tick=False):
        grant = locks.acquire_lock(workspace_id=workspace.pk, owner="agent-1", lease_seconds=30)
        assert grant.fencing_token == 1 and grant.acquired
        assert grant.expires_at == timezone.now() + timedelta(seconds=30)
    state = locks.read_lock(workspace_id=workspace.pk)
    assert state.locked and state.owner == "agent-1" and state.fencing_token == 1


def test_reentry_by_the_same_owner_extends_and_keeps_the_token(make_workspace, tenant) -> None:
    workspace = make_workspace(tenant)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        first = locks.acquire_lock(workspace_id=workspace.pk, owner="agent-1", lease_seconds=30)
        clock.shift(timedelta(seconds=20))
        again = locks.acquire_lock(workspace_id=workspace.pk, owner="agent-1", lease_seconds=30)
    assert again.fencing_token == first.fencing_token and not again.acquired
    assert again.expires_at == start + timedelta(seconds=50)
    assert AuditLog.objects.filter(action="workspace.lock_acquired").count() == 1


def test_another_owner_gets_lock_held_with_owner_expiry_and_retry_after(make_workspace, tenant) -> None:
    workspace = make_workspace(tenant)
    held_before = acquisitions("held")
    with time_machine.travel(timezone.now(), tick=False) as clock:
        grant = locks.acquire_lock(workspace_id=workspace.pk, owner="agent-1", lease_seconds=30)
        clock.shift(timedelta(seconds=10))
        with pytest.raises(LockHeld) as caught:
            locks.acquire_lock(workspace_id=workspace.pk, owner="agent-2")
    error = caught.value
    assert error.status == 409 and error.code == "lock_held"
    assert error.extra["owner"] == "agent-1"
    assert error.extra["expires_at"] == grant.expires_at.isoformat().replace("+00:00", "Z")
    assert error.extra["retry_after_ms"] == 20_000
    assert acquisitions("held") == held_before + 1


@pytest.mark.parametrize("lease", [0, -5, 3601, "30", 2.5, True, None])
def test_lease_seconds_outside_1_to_3600_is_a_validation_error(make_workspace, tenant, lease) -> None:
    workspace = make_workspace(tenant)
    with pytest.raises(InvalidInput) as caught:
        locks.acquire_lock(workspace_id=workspace.pk, owner="a", lease_seconds=lease)
    assert caught.value.errors[0]["field"] == "lease_seconds"


@pytest.mark.parametrize("owner", ["", "   ", "x" * 201, None, 7])
def test_owner_must_be_a_short_non_empty_string(make_workspace, tenant, owner) -> None:
    workspace = make_workspace(tenant)
    with pytest.raises(InvalidInput):
        locks.acquire_lock(workspace_id=workspace.pk, owner=owner)


def test_expired_lease_is_taken_over_with_a_higher_token_and_the_old_holder_is_fenced(make_workspace, tenant) -> None:
    workspace = make_workspace(tenant)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        old = locks.acquire_lock(workspace_id=workspace.pk, owner="worker-a", lease_seconds=5)
        tools.write_file(workspace_id=workspace.pk, path="out.txt", content="a", fencing_token=old.fencing_token)
        clock.shift(timedelta(seconds=6))  # worker-a stalls past its lease
        assert not locks.read_lock(workspace_id=workspace.pk).locked  # an expired lease reads as free
        new = locks.acquire_lock(workspace_id=workspace.pk, owner="worker-b", lease_seconds=30)
        assert new.fencing_token > old.fencing_token and new.acquired

        with pytest.raises(LockHeld):
            locks.renew_lock(workspace_id=workspace.pk, owner="worker-a", lease_seconds=30)
        with pytest.raises(LockHeld):
            locks.release_lock(workspace_id=workspace.pk, owner="worker-a")
        with pytest.raises(StaleFencingToken) as caught:
            tools.write_file(workspace_id=workspace.pk, path="out.txt", content="late", fencing_token=old.fencing_token)
        assert caught.value.code == "stale_fencing_token" and caught.value.status == 409

        tools.write_file(workspace_id=workspace.pk, path="out.txt", content="b", fencing_token=new.fencing_token)
        assert tools.read_file(workspace_id=workspace.pk, path="out.txt")["content"] == "b"
        assert locks.read_lock(workspace_id=workspace.pk).owner == "worker-b"


def test_owner_reacquiring_its_own_expired_lease_gets_a_new_token(make_workspace, tenant) -> None:
    workspace = make_workspace(tenant)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        first = locks.acquire_lock(workspace_id=workspace.pk, owner="a", lease_seconds=1)
        clock.shift(timedelta(seconds=2))
        second = locks.acquire_lock(workspace_id=workspace.pk, owner="a", lease_seconds=1)
    assert second.fencing_token == first.fencing_token + 1 and second.acquired


def test_tokens_strictly_increase_across_acquisitions_and_survive_release(make_workspace, tenant) -> None:
    workspace = make_workspace(tenant)
    tokens = []
    for owner in ["a", "b", "a", "c"]:
        tokens.append(locks.acquire_lock(workspace_id=workspace.pk, owner=owner).fencing_token)
        assert locks.release_lock(workspace_id=workspace.pk, owner=owner) is True
    assert tokens == [1, 2, 3, 4]
    assert locks.read_lock(workspace_id=workspace.pk).fencing_token == 4


def test_renew_extends_the_live_lease_without_a_new_token(make_workspace, tenant) -> None:
    workspace = make_workspace(tenant)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        grant = locks.acquire_lock(workspace_id=workspace.pk, owner="a", lease_seconds=10)
        clock.shift(timedelta(seconds=8))
        renewed = locks.renew_lock(workspace_id=workspace.pk, owner="a", lease_seconds=60)
    assert renewed.fencing_token == grant.fencing_token
    assert renewed.expires_at == start + timedelta(seconds=68)


def test_renew_after_the_lease_expired_is_lock_not_held(make_workspace, tenant) -> None:
    workspace = make_workspace(tenant)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        locks.acquire_lock(workspace_id=workspace.pk, owner="a", lease_seconds=1)
        clock.shift(timedelta(seconds=1))  # expires_at == now: expired
        with pytest.raises(LockNotHeld) as caught:
            locks.renew_lock(workspace_id=workspace.pk, owner="a", lease_seconds=10)
    assert caught.value.code == "lock_not_held" and caught.value.status == 409


def test_release_frees_the_lock_and_emits_lock_released(make_workspace, tenant) -> None:
    workspace = make_workspace(tenant)
    locks.acquire_lock(workspace_id=workspace.pk, owner="a")
    assert locks.release_lock(workspace_id=workspace.pk, owner="a") is True
    state = locks.read_lock(workspace_id=workspace.pk)
    assert not state.locked and state.owner is None and state.expires_at is None
    assert locks.release_lock(workspace_id=workspace.pk, owner="a") is False  # already free: no error
    entry = AuditLog.objects.get(action="workspace.lock_released")
    assert entry.metadata["data"]["owner"] == "a"
    locks.acquire_lock(workspace_id=workspace.pk, owner="b")  # free for the next owner


def test_release_by_someone_else_is_lock_held(make_workspace, tenant) -> None:
    workspace = make_workspace(tenant)
    locks.acquire_lock(workspace_id=workspace.pk, owner="a")
    with pytest.raises(LockHeld):
        locks.release_lock(workspace_id=workspace.pk, owner="b")
    assert locks.read_lock(workspace_id=workspace.pk).owner == "a"


def test_terminated_workspace_cannot_be_locked(make_workspace, tenant) -> None:
    workspace = make_workspace(tenant)
    services.terminate_workspace(workspace_id=workspace.pk)
    with pytest.raises(InvalidStateError):
        locks.acquire_lock(workspace_id=workspace.pk, owner="a")


def test_unknown_workspace_is_not_found(db) -> None:
    with pytest.raises(NotFoundError):
        locks.acquire_lock(workspace_id="00000000-0000-0000-0000-000000000000", owner="a")
    with pytest.raises(NotFoundError):
        locks.read_lock(workspace_id="00000000-0000-0000-0000-000000000000")


def test_acquisition_metrics_count_acquired_and_extended(make_workspace, tenant) -> None:
    workspace = make_workspace(tenant)
    acquired, extended = acquisitions("acquired"), acquisitions("extended")
    locks.acquire_lock(workspace_id=workspace.pk, owner="a")
    locks.acquire_lock(workspace_id=workspace.pk, owner="a")
    assert acquisitions("acquired") == acquired + 1
    assert acquisitions("extended") == extended + 1


def _in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in ``count`` threads started together, each with its own database connection."""
    barrier = threading.Barrier(count)

    def run(index: int) -> Any:
        try:
            barrier.wait(timeout=30)
            return work(index)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def _try_acquire(workspace_id: Any, owner: str, lease_seconds: int = 60) -> Any:
    try:
        return locks.acquire_lock(workspace_id=workspace_id, owner=owner, lease_seconds=lease_seconds)
    except LockHeld as exc:
        return exc


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_acquirers_yield_exactly_one_holder(make_workspace, tenant) -> None:
    workspace = make_workspace(tenant)
    results = _in_threads(50, lambda i: _try_acquire(workspace.pk, f"agent-{i}"))
    grants = [r for r in results if isinstance(r, locks.LockGrant)]
    refused = [r for r in results if isinstance(r, LockHeld)]
    assert len(grants) == 1 and len(refused) == 49
    winner = grants[0]
    assert winner.fencing_token == 1
    assert {r.extra["owner"] for r in refused} == {winner.owner}
    assert all(r.extra["retry_after_ms"] > 0 for r in refused)
    row = Workspace.objects.get(pk=workspace.pk)
    assert row.lock_owner == winner.owner and row.fencing_token == 1
    assert AuditLog.objects.filter(action="workspace.lock_acquired").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_takeover_of_an_expired_lease_has_one_winner_and_one_new_token(make_workspace, tenant) -> None:
    workspace = make_workspace(tenant)
    stale = locks.acquire_lock(workspace_id=workspace.pk, owner="crashed-worker", lease_seconds=60)
    # The crashed worker's lease has run out (moved into the past rather than waiting for it).
    Workspace.objects.filter(pk=workspace.pk).update(lock_expires_at=timezone.now() - timedelta(seconds=1))
    results = _in_threads(20, lambda i: _try_acquire(workspace.pk, f"worker-{i}"))
    grants = [r for r in results if isinstance(r, locks.LockGrant)]
    assert len(grants) == 1
    assert grants[0].fencing_token == stale.fencing_token + 1
    assert Workspace.objects.get(pk=workspace.pk).fencing_token == stale.fencing_token + 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_reentrant_acquisitions_racing_keep_one_token(make_workspace, tenant) -> None:
    workspace = make_workspace(tenant)
    results = _in_threads(10, lambda i: _try_acquire(workspace.pk, "same-owner"))
    assert all(isinstance(r, locks.LockGrant) for r in results)
    assert {r.fencing_token for r in results} == {1}
    assert sum(r.acquired for r in results) == 1
