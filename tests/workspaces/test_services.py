"""Workspace lifecycle services: transitions, provider steps with retries and backoff, events, sweep, gauge."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from audit.models import AuditLog
from orchestrator.lib.errors import InvalidStateError, NotFoundError
from orchestrator.metrics import render_metrics
from workspaces import locks, operations, services
from workspaces.errors import LockHeld
from workspaces.models import Operation, Workspace, WorkspaceStatus
from workspaces.providers import FatalProviderError, ProvisionResult, RetryableProviderError, workspace_folder

pytestmark = pytest.mark.django_db


class ScriptedProvider:
    """A provider whose ``provision`` answers from a script: exceptions are raised, results returned."""

    name = "local"

    def __init__(self, *script: Any) -> None:
        self.script = list(script)
        self.calls: list[str] = []

    def provision(self, *, workspace_id: str, tenant_id: str, name: str) -> ProvisionResult:
        self.calls.append("provision")
        step = self.script.pop(0) if self.script else ProvisionResult(ready=True)
        if isinstance(step, Exception):
            raise step
        if callable(step):
            return step()
        return step

    def hibernate(self, *, workspace_id: str) -> None:
        self.calls.append("hibernate")

    def terminate(self, *, workspace_id: str) -> None:
        self.calls.append("terminate")


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch):
    def install(*script: Any) -> ScriptedProvider:
        provider = ScriptedProvider(*script)
        monkeypatch.setattr(operations, "get_provider", lambda name: provider)
        return provider

    return install


def events_of(workspace: Workspace) -> list[str]:
    return list(
        AuditLog.objects.filter(resource_type="workspace", resource_id=str(workspace.pk))
        .order_by("created_at")
        .values_list("action", flat=True)
    )


def test_new_workspace_is_pending_with_the_configured_provider(tenant) -> None:
    workspace = services.create_workspace(tenant_id=tenant.pk, name="books")
    assert workspace.status == WorkspaceStatus.PENDING
    assert workspace.provider == "local"
    assert workspace.operation == Operation.NONE
    assert not workspace_folder(workspace.pk).exists()


def test_provision_flag_starts_provisioning_after_commit(tenant, enqueued, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        workspace = services.create_workspace(tenant_id=tenant.pk, provision=True)
    assert workspace.status == WorkspaceStatus.PROVISIONING
    assert workspace.operation == Operation.PROVISION
    assert enqueued == [(str(workspace.pk), 0.0)]


def test_local_provisioning_creates_the_folder_and_emits_provisioned(tenant) -> None:
    workspace = services.create_workspace(tenant_id=tenant.pk, provision=True)
    assert operations.perform_due_operation(workspace_id=workspace.pk) == "ready"
    workspace.refresh_from_db()
    assert workspace.status == WorkspaceStatus.READY
    assert workspace.operation == Operation.NONE and workspace.operation_due_at is None
    assert workspace_folder(workspace.pk).is_dir()
    assert events_of(workspace) == ["workspace.provisioned"]


def test_a_step_that_is_not_due_does_nothing(make_workspace, tenant) -> None:
    workspace = make_workspace(tenant)
    assert operations.perform_due_operation(workspace_id=workspace.pk) == "not_due"


def test_second_concurrent_step_finds_the_operation_claimed(tenant, scripted) -> None:
    workspace = services.create_workspace(tenant_id=tenant.pk, provision=True)

    def nested_step() -> ProvisionResult:
        # While this step holds the claim, another worker's step for the same workspace must not run.
        assert operations.perform_due_operation(workspace_id=workspace.pk) == "not_due"
        return ProvisionResult(ready=True)

    provider = scripted(nested_step)
    assert operations.perform_due_operation(workspace_id=workspace.pk) == "ready"
    assert provider.calls == ["provision"]


def test_hibernate_keeps_the_folder_and_wake_brings_it_back(make_workspace, tenant) -> None:
    workspace = make_workspace(tenant)
    (workspace_folder(workspace.pk) / "state.txt").write_text("kept")
    hibernated = services.hibernate_workspace(workspace_id=workspace.pk)
    assert hibernated.status == WorkspaceStatus.HIBERNATED
    assert operations.perform_due_operation(workspace_id=workspace.pk) == "done"
    assert (workspace_folder(workspace.pk) / "state.txt").read_text() == "kept"

    woken = services.wake_workspace(workspace_id=workspace.pk)
    assert woken.status == WorkspaceStatus.PROVISIONING
    assert operations.perform_due_operation(workspace_id=workspace.pk) == "ready"
    assert (workspace_folder(workspace.pk) / "state.txt").read_text() == "kept"
    assert events_of(workspace) == ["workspace.provisioned", "workspace.hibernated", "workspace.provisioned"]


def test_hibernate_is_refused_while_a_lease_is_live(make_workspace, tenant) -> None:
    workspace = make_workspace(tenant)
    locks.acquire_lock(workspace_id=workspace.pk, owner="agent-1", lease_seconds=60)
    with pytest.raises(LockHeld) as caught:
        services.hibernate_workspace(workspace_id=workspace.pk)
    assert caught.value.extra["owner"] == "agent-1"
    workspace.refresh_from_db()
    assert workspace.status == WorkspaceStatus.READY


@pytest.mark.parametrize(
    ("service", "status"),
    [
        ("wake_workspace", WorkspaceStatus.READY),
        ("hibernate_workspace", WorkspaceStatus.PENDING),
        ("hibernate_workspace", WorkspaceStatus.HIBERNATED),
        ("terminate_workspace", WorkspaceStatus.TERMINATED),
        ("wake_workspace", WorkspaceStatus.TERMINATED),
    ],
)
def test_transition_forbidden_by_the_state_is_invalid_state(tenant, service, status) -> None:
    workspace = services.create_workspace(tenant_id=tenant.pk)
    Workspace.objects.filter(pk=workspace.pk).update(status=status)
    with pytest.raises(InvalidStateError) as caught:
        getattr(services, service)(workspace_id=workspace.pk)
    assert caught.value.code == "invalid_state"
    assert caught.value.extra["current_status"] == status


def test_transition_of_unknown_workspace_is_not_found(db) -> None:
    with pytest.raises(NotFoundError):
        services.wake_workspace(workspace_id="00000000-0000-0000-0000-000000000000")


def test_terminate_deletes_the_folder_drops_the_lease_and_keeps_the_token(make_workspace, tenant) -> None:
    workspace = make_workspace(tenant)
    (workspace_folder(workspace.pk) / "f.txt").write_text("x")
    grant = locks.acquire_lock(workspace_id=workspace.pk, owner="agent", lease_seconds=60)
    terminated = services.terminate_workspace(workspace_id=workspace.pk, reason="done")
    assert terminated.status == WorkspaceStatus.TERMINATED
    assert terminated.lock_owner is None and terminated.fencing_token == grant.fencing_token
    assert operations.perform_due_operation(workspace_id=workspace.pk) == "done"
    assert not workspace_folder(workspace.pk).exists()
    assert events_of(workspace)[-1] == "workspace.terminated"


def test_retryable_errors_back_off_exponentially_with_a_cap_then_fail_with_the_reason(
    tenant, scripted, enqueued, django_capture_on_commit_callbacks, request
) -> None:
    workspace = services.create_workspace(tenant_id=tenant.pk, provision=True)
    scripted(*[RetryableProviderError("no capacity") for _ in range(5)])
    settled: list[tuple[str, str]] = []

    def listener(workspace_id: str, status: str) -> None:
        settled.append((workspace_id, status))

    services.add_readiness_listener(listener)
    request.addfinalizer(lambda: services.remove_readiness_listener(listener))
    delays = []
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(4):
            with django_capture_on_commit_callbacks(execute=True):
                assert operations.perform_due_operation(workspace_id=workspace.pk) == "retrying"
            workspace.refresh_from_db()
            delays.append((workspace.operation_due_at - timezone.now()).total_seconds())
            assert operations.perform_due_operation(workspace_id=workspace.pk) == "not_due"  # not before its time
            clock.shift(timedelta(seconds=delays[-1]))
        with django_capture_on_commit_callbacks(execute=True):
            assert operations.perform_due_operation(workspace_id=workspace.pk) == "failed"
    assert delays == [2, 4, 8, 10]  # base 2, doubling, capped at 10
    assert [countdown for _, countdown in enqueued] == [2, 4, 8, 10]
    workspace.refresh_from_db()
    assert workspace.status == WorkspaceStatus.FAILED
    assert workspace.operation == Operation.NONE
    assert "gave up after 5 attempts" in workspace.last_error and "no capacity" in workspace.last_error
    assert settled == [(str(workspace.pk), WorkspaceStatus.FAILED)]


def test_retry_after_from_the_provider_is_honoured_within_the_cap(tenant, scripted) -> None:
    workspace = services.create_workspace(tenant_id=tenant.pk, provision=True)
    scripted(RetryableProviderError("busy", retry_after=7), RetryableProviderError("busy", retry_after=600))
    with time_machine.travel(timezone.now(), tick=False) as clock:
        operations.perform_due_operation(workspace_id=workspace.pk)
        workspace.refresh_from_db()
        assert (workspace.operation_due_at - timezone.now()).total_seconds() == 7
        clock.shift(timedelta(seconds=7))
        operations.perform_due_operation(workspace_id=workspace.pk)
        workspace.refresh_from_db()
        assert (workspace.operation_due_at - timezone.now()).total_seconds() == 10


def test_fatal_error_fails_at_once(tenant, scripted) -> None:
    workspace = services.create_workspace(tenant_id=tenant.pk, provision=True)
    provider = scripted(FatalProviderError("create desktop: refused with 400"))
    assert operations.perform_due_operation(workspace_id=workspace.pk) == "failed"
    workspace.refresh_from_db()
    assert workspace.status == WorkspaceStatus.FAILED
    assert workspace.last_error == "provision failed: create desktop: refused with 400"
    assert provider.calls == ["provision"]


def test_failed_workspace_can_be_woken_to_retry(tenant, scripted) -> None:
    workspace = services.create_workspace(tenant_id=tenant.pk, provision=True)
    scripted(FatalProviderError("boom"), ProvisionResult(ready=True))
    operations.perform_due_operation(workspace_id=workspace.pk)
    woken = services.wake_workspace(workspace_id=workspace.pk)
    assert woken.status == WorkspaceStatus.PROVISIONING and woken.last_error == ""
    assert operations.perform_due_operation(workspace_id=workspace.pk) == "ready"


def test_not_ready_polls_until_the_provisioning_timeout(tenant, scripted, settings) -> None:
    settings.WORKSPACE_PROVISION_TIMEOUT_SECONDS = 30
    workspace = services.create_workspace(tenant_id=tenant.pk, provision=True)
    scripted(*[ProvisionResult(ready=False, detail="starting") for _ in range(100)])
    with time_machine.travel(timezone.now(), tick=False) as clock:
        outcomes = []
        for _ in range(20):
            outcome = operations.perform_due_operation(workspace_id=workspace.pk)
            outcomes.append(outcome)
            if outcome == "failed":
                break
            clock.shift(timedelta(seconds=2))
    assert outcomes[0] == "polling" and outcomes[-1] == "failed"
    assert len(outcomes) == 16  # polled every 2 s for 30 s
    workspace.refresh_from_db()
    assert workspace.status == WorkspaceStatus.FAILED and "not ready after 30s" in workspace.last_error


def test_terminate_during_provisioning_wins_and_runs_after_the_step(tenant, scripted) -> None:
    workspace = services.create_workspace(tenant_id=tenant.pk, provision=True)

    def terminate_meanwhile() -> ProvisionResult:
        services.terminate_workspace(workspace_id=workspace.pk)
        return ProvisionResult(ready=True)

    provider = scripted(terminate_meanwhile)
    assert operations.perform_due_operation(workspace_id=workspace.pk) == "superseded"
    workspace.refresh_from_db()
    assert workspace.status == WorkspaceStatus.TERMINATED and workspace.operation == Operation.TERMINATE
    assert operations.perform_due_operation(workspace_id=workspace.pk) == "done"
    assert provider.calls == ["provision", "terminate"]
    assert "workspace.provisioned" not in events_of(workspace)


def test_a_crashed_step_is_picked_up_again_by_the_sweep(tenant, enqueued, django_capture_on_commit_callbacks) -> None:
    workspace = services.create_workspace(tenant_id=tenant.pk, provision=True)
    now = timezone.now()
    # A worker claimed the step and died: the claim is in the future, nothing is due yet.
    Workspace.objects.filter(pk=workspace.pk).update(operation_due_at=now + timedelta(seconds=60))
    assert operations.enqueue_due_operations() == 0
    with time_machine.travel(now + timedelta(seconds=61)):
        with django_capture_on_commit_callbacks(execute=True):
            assert operations.enqueue_due_operations() == 1
        assert enqueued[-1] == (str(workspace.pk), 0.0)
        assert operations.perform_due_operation(workspace_id=workspace.pk) == "ready"


def test_idle_ready_workspaces_are_hibernated_by_the_sweep(make_workspace, tenant, settings) -> None:
    settings.WORKSPACE_IDLE_HIBERNATE_MINUTES = 30
    make_workspace(tenant, name="idle")
    busy = make_workspace(tenant, name="busy")
    locked = make_workspace(tenant, name="locked")
    with time_machine.travel(timezone.now() + timedelta(minutes=20)):
        services.hibernate_idle_workspaces()  # nothing idle yet
        locks.acquire_lock(workspace_id=busy.pk, owner="a", lease_seconds=1)
        locks.release_lock(workspace_id=busy.pk, owner="a")
    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        locks.acquire_lock(workspace_id=locked.pk, owner="b", lease_seconds=3600)
        assert services.hibernate_idle_workspaces() == 1
    statuses = dict(Workspace.objects.values_list("name", "status"))
    assert statuses == {"idle": "HIBERNATED", "busy": "READY", "locked": "READY"}
    assert AuditLog.objects.get(action="workspace.hibernated").reason == "idle"


def test_idle_hibernation_can_be_turned_off(make_workspace, tenant, settings) -> None:
    settings.WORKSPACE_IDLE_HIBERNATE_MINUTES = 0
    make_workspace(tenant)
    with time_machine.travel(timezone.now() + timedelta(days=3)):
        assert services.hibernate_idle_workspaces() == 0


def test_sweep_task_reports_what_it_did(make_workspace, tenant) -> None:
    from workspaces.tasks import perform_workspace_operation, sweep_workspaces

    make_workspace(tenant)
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert sweep_workspaces.run() == {"hibernated": 1, "requeued": 1}
        workspace = Workspace.objects.get()
        assert perform_workspace_operation.run(str(workspace.pk)) == "done"


def test_workspaces_gauge_counts_by_status_at_scrape_time(make_workspace, tenant) -> None:
    make_workspace(tenant)
    services.create_workspace(tenant_id=tenant.pk)
    text = render_metrics().decode()
    assert 'workspaces{status="READY"} 1.0' in text
    assert 'workspaces{status="PENDING"} 1.0' in text
    assert 'workspaces{status="TERMINATED"} 0.0' in text
