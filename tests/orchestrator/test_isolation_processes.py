"""Chaos (issue 16): one tenant's run is poisoned at the database level while real scheduler/worker processes
run everyone's work; the other tenant's runs complete on time, the poisoned run ends FAILED with
``internal_error`` after the threshold, and ``orchestrator_unit_failures_total{job}`` counted the failures.

The processes are ``tests/orchestrator/engine_worker.py`` (the real tick, executor and reaper loop) on the test
PostgreSQL database; the poison is a trigger that refuses to move that run's nodes to RUNNING (every claim of it
fails in the database, as a value the database refuses would).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, multiprocess

from orchestrator import runs
from orchestrator.models import NodeStatus, RunStatus, WorkflowNode, WorkflowRun
from tests.factories import TenantFactory
from tests.poison import poison
from tests.polling import poll

from .engine_helpers import definition, task
from .test_scheduler_processes import spawn, stop

pytestmark = [pytest.mark.chaos, pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

THRESHOLD = 3


def unit_failures(metric_dirs: list[Path], job: str) -> float:
    total = 0.0
    for folder in metric_dirs:
        if not folder.is_dir():
            continue
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(folder))
        total += registry.get_sample_value("orchestrator_unit_failures_total", {"job": job}) or 0.0
    return total


def test_a_poisoned_tenant_does_not_stall_anyone_else(tmp_path: Path) -> None:
    poisoned_tenant, healthy_tenant = TenantFactory(), TenantFactory()
    poisoned = runs.create_run(
        tenant=poisoned_tenant, definition=definition(task("first"), task("second", depends_on=["first"]))
    )
    healthy = [
        runs.create_run(
            tenant=healthy_tenant,
            definition=definition(task("a"), task("b", depends_on=["a"]), task("c", depends_on=["b"]), name=f"ok {i}"),
        )
        for i in range(8)
    ]
    logs = [tmp_path / f"worker{i}.log" for i in range(2)]
    environment = {"UNIT_QUARANTINE_AFTER_FAILURES": str(THRESHOLD), "SCHEDULER_BATCH_SIZE": "4"}
    with poison(WorkflowNode, poisoned.pk, column="run_id", status=NodeStatus.RUNNING):
        processes = [spawn(log, tmp_path, f"w{i}", **environment) for i, log in enumerate(logs)]
        try:
            poll(lambda: all(log.exists() and "START" in log.read_text() for log in logs), 60, "the workers")
            started = time.monotonic()
            runs.start_run(run=poisoned)  # first, so its node is due before the others
            for run in healthy:
                runs.start_run(run=run)
            poll(
                lambda: (
                    set(WorkflowRun.objects.filter(tenant=healthy_tenant).values_list("status", flat=True))
                    == {RunStatus.COMPLETED}
                ),
                30,
                "the healthy tenant's runs to complete",
            )
            healthy_seconds = time.monotonic() - started
            poll(
                lambda: WorkflowRun.objects.filter(pk=poisoned.pk, status=RunStatus.FAILED).exists(),
                30,
                "the poisoned run to be quarantined",
            )
            for process in processes:
                process.wait(timeout=60)  # they exit once no run is active: metrics files are complete
        finally:
            for process in processes:
                stop(process)
    poisoned.refresh_from_db()
    assert poisoned.error.startswith(f"internal_error: failed {THRESHOLD} times in a row in scheduler.tick")
    assert dict(poisoned.nodes.values_list("key", "status")) == {
        "first": NodeStatus.CANCELLED,
        "second": NodeStatus.CANCELLED,
    }
    assert healthy_seconds < 30
    failures = unit_failures([tmp_path / f"w{i}" / "metrics" for i in range(2)], "scheduler.tick")
    assert failures >= THRESHOLD
