"""The scheduler-facing service API (workspaces.scheduling), exercised the way the engine will call it."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from audit.models import AuditLog
from orchestrator.models import RunStatus, WorkflowRun
from workspaces import locks, operations, services, tools
from workspaces.errors import StaleFencingToken
from workspaces.models import Workspace, WorkspaceStatus
from workspaces.scheduling import (
    Grant,
    Held,
    NotReady,
    acquire_for_attempt,
    add_readiness_listener,
    attempt_owner,
    finish_run,
    prepare_for_run,
    release_after_attempt,
    remove_readiness_listener,
    renew_for_attempt,
)

pytestmark = pytest.mark.django_db


def make_run(tenant: Any, workspace: Workspace | None, *, status: str = RunStatus.RUNNING) -> WorkflowRun:
    return WorkflowRun.objects.create(
        tenant=tenant, name="run", workspace=workspace, status=status, started_at=timezone.now()
    )


def provision(workspace: Workspace) -> None:
    assert operations.perform_due_operation(workspace_id=workspace.pk) == "ready"


def run_task(workspace: Workspace, work: Any) -> Any:
    """One TASK attempt as the scheduler will do it: lock, run with the token, release."""
    owner = attempt_owner(uuid.uuid4())
    grant = acquire_for_attempt(workspace_id=workspace.pk, owner=owner, lease_seconds=60)
    assert isinstance(grant, Grant), grant
    try:
        return work(grant.fencing_token)
    finally:
        release_after_attempt(workspace_id=workspace.pk, owner=owner)


def test_run_without_a_workspace_is_ready(tenant) -> None:
    assert prepare_for_run(run=make_run(tenant, None)).is_ready


def test_pending_workspace_is_provisioned_before_the_first_task(tenant, make_workspace) -> None:
    workspace = make_workspace(tenant, ready=False)
    run = make_run(tenant, workspace)
    readiness = prepare_for_run(run=run)
    assert readiness.is_pending and readiness.retry_after_seconds == 2
    workspace.refresh_from_db()
    assert workspace.status == WorkspaceStatus.PROVISIONING
    assert prepare_for_run(run=run).is_pending  # still provisioning: no second wake
    provision(workspace)
    assert prepare_for_run(run=run).is_ready


def test_hibernated_workspace_is_woken(tenant, make_workspace) -> None:
    workspace = make_workspace(tenant)
    services.hibernate_workspace(workspace_id=workspace.pk)
    assert prepare_for_run(run=make_run(tenant, workspace)).is_pending
    workspace.refresh_from_db()
    assert workspace.status == WorkspaceStatus.PROVISIONING


def test_provisioning_failure_during_the_run_fails_it_with_the_reason(tenant, make_workspace, monkeypatch) -> None:
    from workspaces.providers import FatalProviderError

    class Broken:
        name = "local"

        def provision(self, **kwargs: Any) -> Any:
            raise FatalProviderError("disk full")

    monkeypatch.setattr(operations, "get_provider", lambda name: Broken())
    workspace = make_workspace(tenant, ready=False, name="books")
    run = make_run(tenant, workspace)
    assert prepare_for_run(run=run).is_pending
    assert operations.perform_due_operation(workspace_id=workspace.pk) == "failed"
    readiness = prepare_for_run(run=run)
    assert readiness.is_failed
    assert readiness.reason == "Workspace books could not be provisioned: provision failed: disk full"


def test_workspace_that_failed_before_the_run_started_is_retried(tenant, make_workspace) -> None:
    workspace = make_workspace(tenant, ready=False)
    Workspace.objects.filter(pk=workspace.pk).update(
        status=WorkspaceStatus.FAILED, status_changed_at=timezone.now() - timedelta(hours=1), last_error="old"
    )
    assert prepare_for_run(run=make_run(tenant, workspace)).is_pending
    workspace.refresh_from_db()
    assert workspace.status == WorkspaceStatus.PROVISIONING


def test_terminated_workspace_fails_the_run(tenant, make_workspace) -> None:
    workspace = make_workspace(tenant)
    services.terminate_workspace(workspace_id=workspace.pk)
    readiness = prepare_for_run(run=make_run(tenant, workspace))
    assert readiness.is_failed and "terminated" in readiness.reason


def test_readiness_listener_hears_when_provisioning_settles(
    tenant, make_workspace, django_capture_on_commit_callbacks
) -> None:
    heard: list[tuple[str, str]] = []

    def listener(workspace_id: str, status: str) -> None:
        heard.append((workspace_id, status))

    add_readiness_listener(listener)
    try:
        workspace = make_workspace(tenant, ready=False)
        prepare_for_run(run=make_run(tenant, workspace))
        with django_capture_on_commit_callbacks(execute=True):
            provision(workspace)
    finally:
        remove_readiness_listener(listener)
    assert heard == [(str(workspace.pk), WorkspaceStatus.READY)]


def test_attempts_in_one_workspace_take_turns(tenant, make_workspace) -> None:
    workspace = make_workspace(tenant)
    first = acquire_for_attempt(workspace_id=workspace.pk, owner=attempt_owner("nr-1"), lease_seconds=60)
    second = acquire_for_attempt(workspace_id=workspace.pk, owner=attempt_owner("nr-2"), lease_seconds=60)
    assert isinstance(first, Grant) and isinstance(second, Held)
    assert second.owner == "node-run:nr-1" and 0 < second.retry_after_ms <= 60_000
    release_after_attempt(workspace_id=workspace.pk, owner=attempt_owner("nr-1"))
    third = acquire_for_attempt(workspace_id=workspace.pk, owner=attempt_owner("nr-2"), lease_seconds=60)
    assert isinstance(third, Grant) and third.fencing_token == first.fencing_token + 1


def test_redelivered_dispatch_of_the_same_attempt_keeps_its_token(tenant, make_workspace) -> None:
    workspace = make_workspace(tenant)
    first = acquire_for_attempt(workspace_id=workspace.pk, owner="node-run:x", lease_seconds=60)
    again = acquire_for_attempt(workspace_id=workspace.pk, owner="node-run:x", lease_seconds=60)
    assert isinstance(first, Grant) and isinstance(again, Grant)
    assert again.fencing_token == first.fencing_token


def test_attempt_on_a_workspace_that_is_not_ready_says_so(tenant, make_workspace) -> None:
    workspace = make_workspace(tenant)
    services.hibernate_workspace(workspace_id=workspace.pk)
    result = acquire_for_attempt(workspace_id=workspace.pk, owner="node-run:x", lease_seconds=60)
    assert result == NotReady(status=WorkspaceStatus.HIBERNATED)
    assert acquire_for_attempt(workspace_id=uuid.uuid4(), owner="node-run:x", lease_seconds=60) == NotReady("MISSING")


def test_per_attempt_locks_emit_no_events(tenant, make_workspace) -> None:
    workspace = make_workspace(tenant)
    run_task(workspace, lambda token: None)
    assert not AuditLog.objects.filter(action__startswith="workspace.lock_").exists()


def test_release_after_attempt_is_quiet_when_the_lease_is_gone(tenant, make_workspace) -> None:
    workspace = make_workspace(tenant)
    release_after_attempt(workspace_id=workspace.pk, owner="node-run:never")  # free: no error
    locks.acquire_lock(workspace_id=workspace.pk, owner="someone-else")
    release_after_attempt(workspace_id=workspace.pk, owner="node-run:never")  # taken by another: no error
    release_after_attempt(workspace_id=uuid.uuid4(), owner="node-run:never")  # unknown workspace: no error
    assert locks.read_lock(workspace_id=workspace.pk).owner == "someone-else"


def test_crashed_worker_leaves_a_lease_that_expires_and_its_writes_are_fenced(tenant, make_workspace) -> None:
    workspace = make_workspace(tenant)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        crashed = acquire_for_attempt(workspace_id=workspace.pk, owner="node-run:crashed", lease_seconds=30)
        assert isinstance(crashed, Grant)
        # The worker dies without releasing; the retry is held off until the lease runs out.
        held = acquire_for_attempt(workspace_id=workspace.pk, owner="node-run:retry", lease_seconds=30)
        assert isinstance(held, Held) and held.retry_after_ms == 30_000
        clock.shift(timedelta(seconds=30))
        retry = acquire_for_attempt(workspace_id=workspace.pk, owner="node-run:retry", lease_seconds=30)
        assert isinstance(retry, Grant) and retry.fencing_token > crashed.fencing_token
        with pytest.raises(StaleFencingToken):  # the zombie wakes up and tries to write
            tools.write_file(workspace_id=workspace.pk, path="x", content="zombie", fencing_token=crashed.fencing_token)
        assert not renew_for_attempt(workspace_id=workspace.pk, owner="node-run:crashed", lease_seconds=30)
        assert renew_for_attempt(workspace_id=workspace.pk, owner="node-run:retry", lease_seconds=30)


def test_state_persists_between_tasks_and_across_runs_after_hibernate_and_wake(tenant, make_workspace) -> None:
    workspace = make_workspace(tenant, ready=False)

    # Run 1: the workspace is provisioned before the first task; step 1 writes, step 2 reads and appends.
    run1 = make_run(tenant, workspace)
    assert prepare_for_run(run=run1).is_pending
    provision(workspace)
    assert prepare_for_run(run=run1).is_ready
    run_task(
        workspace,
        lambda t: tools.write_file(workspace_id=workspace.pk, path="ledger.txt", content="1", fencing_token=t),
    )
    assert prepare_for_run(run=run1).is_ready
    seen = run_task(workspace, lambda t: tools.read_file(workspace_id=workspace.pk, path="ledger.txt", fencing_token=t))
    assert seen["content"] == "1"
    run_task(
        workspace,
        lambda t: tools.write_file(workspace_id=workspace.pk, path="ledger.txt", content="1,2", fencing_token=t),
    )
    WorkflowRun.objects.filter(pk=run1.pk).update(status=RunStatus.COMPLETED)
    run1.refresh_from_db()
    finish_run(run=run1)
    workspace.refresh_from_db()
    assert workspace.status == WorkspaceStatus.HIBERNATED
    assert operations.perform_due_operation(workspace_id=workspace.pk) == "done"

    # Run 2 on the same workspace: woken, and it still sees what run 1 left.
    run2 = make_run(tenant, workspace)
    assert prepare_for_run(run=run2).is_pending
    provision(workspace)
    assert prepare_for_run(run=run2).is_ready
    seen = run_task(workspace, lambda t: tools.read_file(workspace_id=workspace.pk, path="ledger.txt"))
    assert seen["content"] == "1,2"


def test_finish_run_leaves_the_workspace_to_another_running_run(tenant, make_workspace) -> None:
    workspace = make_workspace(tenant)
    done = make_run(tenant, workspace, status=RunStatus.COMPLETED)
    make_run(tenant, workspace, status=RunStatus.RUNNING)
    finish_run(run=done)
    workspace.refresh_from_db()
    assert workspace.status == WorkspaceStatus.READY


def test_finish_run_does_not_hibernate_under_a_live_lease_or_raise(tenant, make_workspace) -> None:
    workspace = make_workspace(tenant)
    locks.acquire_lock(workspace_id=workspace.pk, owner="straggler", lease_seconds=60)
    finish_run(run=make_run(tenant, workspace, status=RunStatus.FAILED))
    workspace.refresh_from_db()
    assert workspace.status == WorkspaceStatus.READY
    finish_run(run=make_run(tenant, None, status=RunStatus.FAILED))  # no workspace: nothing to do


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_parallel_branches_in_one_workspace_never_overlap(tenant, make_workspace) -> None:
    workspace = make_workspace(tenant)
    intervals: list[tuple[float, float, str]] = []
    record = threading.Lock()
    start = threading.Barrier(2)

    def branch(name: str) -> None:
        try:
            start.wait(timeout=30)
            for step in range(5):
                owner = attempt_owner(f"{name}-{step}")
                deadline = time.monotonic() + 30
                while True:
                    result = acquire_for_attempt(workspace_id=workspace.pk, owner=owner, lease_seconds=30)
                    if isinstance(result, Grant):
                        break
                    assert isinstance(result, Held) and time.monotonic() < deadline
                    threading.Event().wait(0.002)  # contention backoff, not a wait for an outcome
                began = time.monotonic()
                tools.write_file(
                    workspace_id=workspace.pk, path=f"{name}.txt", content=str(step), fencing_token=result.fencing_token
                )
                tools.read_file(workspace_id=workspace.pk, path=f"{name}.txt", fencing_token=result.fencing_token)
                ended = time.monotonic()
                with record:
                    intervals.append((began, ended, name))
                release_after_attempt(workspace_id=workspace.pk, owner=owner)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(branch, ["a", "b"]))
    intervals.sort()
    assert len(intervals) == 10 and {name for _, _, name in intervals} == {"a", "b"}
    for (_, end, _), (next_start, _, _) in itertools.pairwise(intervals):
        assert end <= next_start, intervals
    assert Workspace.objects.get(pk=workspace.pk).fencing_token == 10
