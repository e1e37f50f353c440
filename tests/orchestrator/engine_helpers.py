"""Helpers for engine tests: drive a run to quiescence in-process (scheduler ticks + inline execution)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from orchestrator import runs, scheduler
from orchestrator.executors import runner
from orchestrator.models import NodeRunStatus, WorkflowNodeRun, WorkflowRun


def task(key: str, tool: str = "noop", params: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"key": key, "type": "TASK", "action": {"tool": tool, "params": params or {}}, **extra}


def definition(*nodes: dict[str, Any], name: str = "wf", **extra: Any) -> dict[str, Any]:
    return {"name": name, "nodes": list(nodes), **extra}


def drive(max_rounds: int = 200, dispatched: list[str] | None = None) -> None:
    """Tick and execute attempts until nothing is claimable any more (retry backoffs are skipped by clearing
    ``not_before``, like a clock jumping forward)."""
    from orchestrator.models import NodeStatus, WorkflowNode

    for _ in range(max_rounds):
        batch: list[str] = []
        with transaction.atomic():
            claimed = scheduler.tick(batch_size=100, dispatch=batch.extend)
        # on_commit does not fire inside a test transaction; pick up what was created instead.
        pending = list(
            WorkflowNodeRun.objects.filter(status=NodeRunStatus.RUNNING, lease_owner="").values_list("id", flat=True)
        )
        for node_run_id in pending:
            if dispatched is not None:
                dispatched.append(str(node_run_id))
            runner.execute(str(node_run_id))
        if not claimed and not pending:
            backoff = WorkflowNode.objects.filter(status=NodeStatus.READY, not_before__isnull=False)
            if not backoff.update(not_before=None):
                return
    raise AssertionError("the run did not settle")


def create_and_run(tenant: Any, body: dict[str, Any]) -> WorkflowRun:
    run = runs.create_run(tenant=tenant, definition=body)
    runs.start_run(run=run)
    drive()
    run.refresh_from_db()
    return run


def statuses(run: WorkflowRun) -> dict[str, str]:
    return dict(run.nodes.values_list("key", "status"))
