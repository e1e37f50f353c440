"""The engine's units of work and their quarantine (issue 16; the mechanism is ``orchestrator.lib.units``).

A unit of the scheduler tick is a due node; of the lease reaper and the poller, an attempt. A unit that keeps
failing is quarantined by failing its **run**: RUNNING → FAILED with ``internal_error: …`` as the run's error, its
active nodes and running attempts CANCELLED, ``workflow.failed`` emitted (the run-failure path of
``progress.fail_run``). The run is the smallest thing whose end a client sees and can act on (retry the node, or
create the run again); a node alone cannot be failed without its run following (SPEC §3.3).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator import progress
from orchestrator.lib.units import Unit
from orchestrator.models import WorkflowNode, WorkflowNodeRun


def node_unit(node: WorkflowNode) -> Unit:
    """A due node of the tick (its run came along with the claim: no query)."""
    return Unit(
        key=f"node:{node.pk}",
        ids={"tenant": node.run.tenant_id, "run": node.run_id, "node": node.pk, "node_key": node.key},
    )


def node_ref_unit(node_id: Any) -> Unit:
    """A node known by id only (a completion's successor); tenant and run looked up when it fails."""

    def lookup() -> Mapping[str, Any]:
        row = dict(WorkflowNode.objects.filter(pk=node_id).values("run_id", "run__tenant_id", "key").first() or {})
        return {"tenant": row.get("run__tenant_id"), "run": row.get("run_id"), "node_key": row.get("key")}

    return Unit(key=f"node:{node_id}", ids={"node": node_id}, lookup=lookup)


def attempt_unit(node_run_id: Any) -> Unit:
    """An attempt the reaper or the poller knows by id; its tenant, run and node are looked up when it fails."""

    def lookup() -> Mapping[str, Any]:
        row = dict(
            WorkflowNodeRun.objects.filter(pk=node_run_id)
            .values("run_id", "run__tenant_id", "node_id", "node__key")
            .first()
            or {}
        )
        return {
            "tenant": row.get("run__tenant_id"),
            "run": row.get("run_id"),
            "node": row.get("node_id"),
            "node_key": row.get("node__key"),
        }

    return Unit(key=f"attempt:{node_run_id}", ids={"attempt": node_run_id}, lookup=lookup)


def fail_run_of(unit: Unit, ids: Mapping[str, Any], reason: str) -> None:
    """The quarantine of every engine unit: the unit's run → FAILED with ``reason`` (``internal_error: …``).
    Precondition: ``ids`` holds ``run`` (a unit whose run is unknown, or already ended, is left alone)."""
    run_id = ids.get("run")
    if run_id is not None:
        progress.fail_run(run_id=run_id, error=reason)
