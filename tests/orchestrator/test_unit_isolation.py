"""Issue 16: one unit's error neither rolls back nor blocks the other units of a batch job.

The mechanism (``orchestrator.lib.units``) and the engine's jobs: the scheduler tick (control nodes, TASK claims),
the successors a completion claims, the lease reaper. A unit is poisoned at the database level by a trigger that
refuses its row (``tests.poison``), on PostgreSQL and SQLite alike.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError, connection, transaction
from django.utils import timezone
from prometheus_client import REGISTRY

from audit.models import AuditLog
from orchestrator import reaper, runs, scheduler
from orchestrator.executors import runner
from orchestrator.lib import units
from orchestrator.models import (
    NodeRunStatus,
    NodeStatus,
    RunStatus,
    WorkflowNode,
    WorkflowNodeRun,
    WorkflowRun,
)
from tests.factories import TenantFactory
from tests.poison import poison

from .engine_helpers import definition, task

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _threshold(settings: Any) -> None:
    settings.UNIT_QUARANTINE_AFTER_FAILURES = 3


def failures(job: str) -> float:
    return REGISTRY.get_sample_value("orchestrator_unit_failures_total", {"job": job}) or 0.0


def quarantined(job: str) -> float:
    return REGISTRY.get_sample_value("orchestrator_unit_quarantined_total", {"job": job}) or 0.0


def started_run(*nodes: dict[str, Any], tenant: Any = None) -> WorkflowRun:
    run = runs.create_run(tenant=tenant or TenantFactory(), definition=definition(*nodes))
    return runs.start_run(run=run)


def node(run: WorkflowRun, key: str) -> WorkflowNode:
    return WorkflowNode.objects.get(run=run, key=key)


def tick() -> int:
    with transaction.atomic():
        return scheduler.tick(batch_size=100, dispatch=lambda ids: None)


# --- The mechanism --------------------------------------------------------------------------------------------


def test_a_failing_unit_is_rolled_back_alone_and_counted() -> None:
    bad, good = TenantFactory(), TenantFactory()
    guard = units.Guard("test.job")
    before = failures("test.job")
    with transaction.atomic():
        for tenant in (bad, good):
            with guard.unit(units.Unit(key=f"t:{tenant.pk}", ids={"tenant": tenant.pk})) as outcome:
                type(tenant).objects.filter(pk=tenant.pk).update(name="renamed")
                if tenant is bad:
                    raise ValueError("bad data")
            assert outcome.failed is (tenant is bad)
    bad.refresh_from_db()
    good.refresh_from_db()
    assert (bad.name, good.name) == (bad.slug.title(), "renamed")
    assert failures("test.job") == before + 1
    assert units.failure_count("test.job", f"t:{bad.pk}") == 1 and guard.failures == 1


def test_a_statement_the_database_refuses_does_not_abort_the_pass(tenant: Any) -> None:
    run = started_run(task("a"), tenant=tenant)
    guard = units.Guard("test.db")
    with transaction.atomic(), poison(WorkflowRun, run.pk):
        with guard.unit(units.Unit(key="run")) as outcome:
            WorkflowRun.objects.filter(pk=run.pk).update(name="x")
        assert outcome.failed
        assert WorkflowRun.objects.filter(pk=run.pk).count() == 1  # the transaction still answers


def test_after_the_threshold_the_unit_is_quarantined_once_and_its_count_cleared() -> None:
    calls: list[tuple[str, str]] = []
    guard = units.Guard("test.quarantine", quarantine=lambda unit, ids, reason: calls.append((unit.key, reason)))
    key = f"u:{timezone.now().timestamp()}"
    for _ in range(3):
        with guard.unit(units.Unit(key=key), sql=False):
            raise KeyError("missing")
    assert len(calls) == 1 and calls[0][1].startswith("internal_error: failed 3 times in a row in test.quarantine")
    assert units.failure_count("test.quarantine", key) == 0
    assert quarantined("test.quarantine") >= 1


def test_a_success_resets_the_consecutive_count() -> None:
    guard = units.Guard("test.reset", quarantine=lambda *args: pytest.fail("quarantined"))
    key = f"r:{timezone.now().timestamp()}"
    for fail in (True, True, False, True, True):
        with guard.unit(units.Unit(key=key), sql=False):
            if fail:
                raise RuntimeError("flaky")
    assert units.failure_count("test.reset", key) == 2


def test_transient_errors_are_counted_but_never_quarantine() -> None:
    guard = units.Guard("test.transient", quarantine=lambda *args: pytest.fail("quarantined"))
    before = failures("test.transient")
    for _ in range(5):
        with guard.unit(units.Unit(key="deadlock"), sql=False):
            raise OperationalError("deadlock detected")
    assert failures("test.transient") == before + 5
    assert units.failure_count("test.transient", "deadlock") == 0


def test_a_failing_quarantine_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError("cannot quarantine")

    guard = units.Guard("test.broken", quarantine=broken)
    for _ in range(3):
        with guard.unit(units.Unit(key="b"), sql=False):
            raise ValueError("bad")
    assert "quarantine failed job=test.broken" in caplog.text


@pytest.mark.postgres
def test_without_a_savepoint_an_aborted_transaction_is_not_hidden(tenant: Any) -> None:
    """``sql=False`` promises no SQL: a failing statement there leaves the transaction aborted, so the guard
    re-raises instead of letting the pass go on with a transaction that answers nothing."""
    guard = units.Guard("test.nosavepoint")
    with (
        pytest.raises(Exception, match="division by zero"),
        transaction.atomic(),
        guard.unit(units.Unit(key="x"), sql=False),
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT 1/0")


def test_a_batch_falls_back_to_unit_by_unit() -> None:
    a, b, c = TenantFactory(), TenantFactory(), TenantFactory()
    guard = units.Guard("test.batch")
    with transaction.atomic(), poison(type(b), b.pk):
        done = guard.batch(
            [a, b, c],
            lambda t: units.Unit(key=f"t:{t.pk}", ids={"tenant": t.pk}),
            lambda ts: type(a).objects.filter(pk__in=[t.pk for t in ts]).update(name="batched"),
        )
    assert done == [a, c]
    assert sorted(type(a).objects.filter(name="batched").values_list("pk", flat=True)) == sorted([a.pk, c.pk])


# --- The scheduler tick ---------------------------------------------------------------------------------------


def test_a_poisoned_claim_leaves_the_other_tenants_claims_dispatched() -> None:
    poisoned, healthy = started_run(task("a")), started_run(task("a"))
    bad = node(poisoned, "a")
    before = failures(scheduler.TICK_JOB)
    with poison(WorkflowNode, bad.pk, status=NodeStatus.RUNNING):
        tick()
        assert node(healthy, "a").status == NodeStatus.RUNNING
        assert WorkflowNodeRun.objects.filter(run=healthy).count() == 1
        bad.refresh_from_db()
        assert bad.status == NodeStatus.READY and not WorkflowNodeRun.objects.filter(run=poisoned).exists()
        assert failures(scheduler.TICK_JOB) == before + 1
        assert units.failure_count(scheduler.TICK_JOB, f"node:{bad.pk}") == 1


def test_a_unit_that_keeps_failing_fails_its_run_with_internal_error() -> None:
    poisoned = started_run(task("a"), task("b", depends_on=["a"]))
    bad = node(poisoned, "a")
    with poison(WorkflowNode, bad.pk, status=NodeStatus.RUNNING):
        for _ in range(3):
            tick()
    poisoned.refresh_from_db()
    assert poisoned.status == RunStatus.FAILED
    assert poisoned.error.startswith("internal_error: failed 3 times in a row in scheduler.tick")
    assert dict(poisoned.nodes.values_list("key", "status")) == {"a": NodeStatus.CANCELLED, "b": NodeStatus.CANCELLED}
    assert AuditLog.objects.filter(action="workflow.failed", resource_id=str(poisoned.pk)).exists()
    assert units.failure_count(scheduler.TICK_JOB, f"node:{bad.pk}") == 0
    assert tick() == 0  # nothing due any more


def test_a_poisoned_control_node_does_not_stop_the_tick() -> None:
    wait = {"key": "w", "type": "WAIT", "wait": {"seconds": 0}}
    poisoned, healthy = started_run(dict(wait)), started_run(dict(wait), task("a"))
    with poison(WorkflowNode, node(poisoned, "w").pk, status=NodeStatus.COMPLETED):
        tick()
    assert node(healthy, "w").status == NodeStatus.COMPLETED and node(healthy, "a").status == NodeStatus.RUNNING
    assert node(poisoned, "w").status == NodeStatus.READY


def test_a_bad_definition_value_fails_only_its_unit(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Python error while assessing one node (no SQL ran: no savepoint) is isolated too."""
    poisoned, healthy = started_run(task("a")), started_run(task("a"))
    real = scheduler._assess

    def assess(n: WorkflowNode, policies: Any) -> Any:
        if n.run_id == poisoned.pk:
            raise OverflowError("date value out of range")
        return real(n, policies)

    monkeypatch.setattr(scheduler, "_assess", assess)
    tick()
    assert node(healthy, "a").status == NodeStatus.RUNNING and node(poisoned, "a").status == NodeStatus.READY


# --- Successors claimed by a completion, and the reaper -------------------------------------------------------


def test_a_successor_the_database_refuses_is_left_to_the_tick_and_the_completion_commits() -> None:
    run = started_run(task("a"), task("b", depends_on=["a"]))
    tick()
    attempt = WorkflowNodeRun.objects.get(node__run=run, node__key="a")
    with poison(WorkflowNode, node(run, "b").pk, status=NodeStatus.RUNNING):
        assert runner.execute(str(attempt.pk)) == "completed"
    assert node(run, "a").status == NodeStatus.COMPLETED
    assert node(run, "b").status == NodeStatus.READY  # claimed by the next tick
    tick()
    assert node(run, "b").status == NodeStatus.RUNNING


def test_the_reaper_reaps_the_other_attempts_when_one_is_poisoned() -> None:
    poisoned, healthy = started_run(task("a")), started_run(task("a"))
    tick()
    past = timezone.now() - timedelta(seconds=5)
    # Timed out, so that crash recovery (issue 24) does not take them over: the reaper itself must fail them.
    WorkflowNodeRun.objects.update(lease_expires_at=past, timeout_at=past)
    bad = WorkflowNodeRun.objects.get(run=poisoned)
    with poison(WorkflowNodeRun, bad.pk, status=NodeRunStatus.FAILED):
        for _ in range(3):
            reaper.reap_expired_leases()
    assert WorkflowNodeRun.objects.get(run=healthy).status == NodeRunStatus.FAILED  # reaped (and retried)
    poisoned.refresh_from_db()
    assert poisoned.status == RunStatus.FAILED and poisoned.error.startswith("internal_error:")
    assert "reaper.leases" in poisoned.error


@pytest.mark.postgres
def test_a_run_row_python_cannot_read_is_isolated_and_quarantined() -> None:
    """The issue's case: a timestamp PostgreSQL stores but Python cannot read (year 10000) in one run fails the
    batch SELECT itself; the tick then loads node by node, so the other tenant's node is claimed, and the poisoned
    run ends FAILED after the threshold."""
    poisoned, healthy = started_run(task("a")), started_run(task("a"))
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{WorkflowRun._meta.db_table}" SET "started_at" = %s::timestamptz WHERE "id" = %s',  # noqa: S608
            ["10000-01-01T00:00:00Z", poisoned.pk],
        )
    tick()
    assert node(healthy, "a").status == NodeStatus.RUNNING
    assert WorkflowNodeRun.objects.filter(run=healthy).count() == 1
    tick()
    tick()
    status, error = WorkflowRun.objects.filter(pk=poisoned.pk).values_list("status", "error").get()
    assert status == RunStatus.FAILED and error.startswith("internal_error: failed 3 times in a row in scheduler.tick")
    assert tick() == 0
