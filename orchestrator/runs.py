"""Workflow run lifecycle (SPEC §3): create, start, cancel, and the manual retry of a failed node.

Every transition is a compare-and-set (a conditional UPDATE whose WHERE and new status are a move of the tables
in ``orchestrator.transitions``; zero rows means someone else won). What happens when nodes finish is in
``orchestrator.completion`` (attempts) and ``orchestrator.progress`` (successors, the end of the run).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone

from approvals import gate
from orchestrator import definitions, graph, metrics, wakeups
from orchestrator.executors import catalogue
from orchestrator.lib import context
from orchestrator.lib.auth import Caller
from orchestrator.lib.errors import InvalidInput, InvalidStateError, NotFoundError
from orchestrator.lib.ids import parse_uuid
from orchestrator.lib.waiting import run_changed
from orchestrator.models import NodeStatus, RunStatus, Tenant, WorkflowNode, WorkflowRun
from orchestrator.progress import MAX_ERROR_CHARS, finish_workspace, maybe_finish_run, run_event, stop_nodes
from orchestrator.transitions import NODE, RUN, NodeAction, RunAction
from workspaces.models import Workspace
from workspaces.selectors import get_workspace_for


class DefinitionInvalid(InvalidInput):
    """A workflow definition with one or more problems, each with its field path."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__(f"The workflow definition is invalid ({len(errors)} problem(s)).", field=errors[0]["field"])
        self.errors = errors


def _actor_dict() -> dict[str, str]:
    return context.current().actor.as_dict()


def create_run(*, tenant: Tenant, definition: Any, caller: Caller | None = None) -> WorkflowRun:
    """Validate ``definition`` (SPEC §3.1) and store the run and all its nodes atomically (all or nothing).

    Raises ``DefinitionInvalid`` (400, every problem with its field path); a ``workspace_id`` that is not a
    workspace of ``tenant`` readable by ``caller`` (when given, through ``workspaces.selectors``) is a 400 on
    ``workspace_id``. Emits ``workflow.created``; with ``"start": true`` also starts the run in the same
    transaction. The creator is the request's actor.
    """
    try:
        spec = definitions.validate_definition(definition, tool_validators=catalogue.checker())
    except definitions.DefinitionError as exc:
        raise DefinitionInvalid(exc.errors) from exc
    workspace_id = None
    if spec.workspace_id is not None:
        workspace_id = _check_workspace(tenant=tenant, caller=caller, workspace_id=spec.workspace_id)
    with transaction.atomic():
        run = WorkflowRun.objects.create(
            tenant=tenant,
            name=spec.name,
            description=spec.description,
            metadata=spec.metadata,
            workspace_id=workspace_id,
            created_by=_actor_dict(),
        )
        WorkflowNode.objects.bulk_create(
            [
                WorkflowNode(
                    run=run,
                    key=node.key,
                    position=position,
                    type=node.type,
                    name=node.name,
                    depends_on=node.depends_on,
                    config=node.config,
                    successors=node.successors,
                    continue_on_failure=node.continue_on_failure,
                    pending_dependencies=len(node.depends_on),
                )
                for position, node in enumerate(spec.nodes)
            ],
            batch_size=500,
        )
        run_event(
            "workflow.created",
            {"id": run.pk, "tenant_id": tenant.pk, "name": run.name},
            nodes=len(spec.nodes),
            status=run.status,
        )
        metrics.workflow_runs_total.labels(status=RunStatus.PENDING).inc()
        if spec.start:
            start_run(run=run)
    return run


def _check_workspace(*, tenant: Tenant, caller: Caller | None, workspace_id: str) -> uuid.UUID:
    problem = InvalidInput("No such workspace in this tenant.", field="workspace_id")
    candidate = parse_uuid(workspace_id)
    if candidate is None:
        raise problem
    if caller is not None:
        try:
            workspace = get_workspace_for(caller, candidate)
        except Http404:
            raise problem from None
        if workspace.tenant_id != tenant.pk:
            raise problem
    elif not Workspace.objects.filter(pk=candidate, tenant=tenant).exists():
        raise problem
    return candidate


def start_run(*, run: WorkflowRun) -> WorkflowRun:
    """PENDING → RUNNING; nodes without dependencies become READY and the scheduler is woken on commit.

    Raises ``InvalidStateError`` (409) unless the run is PENDING. Emits ``workflow.started``.
    """
    now = timezone.now()
    with transaction.atomic():
        move = RUN[RunAction.START]
        started = WorkflowRun.objects.filter(pk=run.pk, **move.where()).update(
            status=move.target, started_at=now, started_by=_actor_dict(), updated_at=now
        )
        if not started:
            current = WorkflowRun.objects.filter(pk=run.pk).values_list("status", flat=True).first()
            raise InvalidStateError(f"Only a PENDING run can be started; this one is {current}.")
        run_changed(run.pk)
        unblock = NODE[NodeAction.UNBLOCK]
        WorkflowNode.objects.filter(run_id=run.pk, pending_dependencies=0, **unblock.where()).update(
            status=unblock.target, updated_at=now
        )
        run_event("workflow.started", {"id": run.pk, "tenant_id": run.tenant_id, "name": run.name})
        metrics.workflow_runs_total.labels(status=RunStatus.RUNNING).inc()
        wakeups.wake()
    run.refresh_from_db()
    return run


def cancel_run(*, run: WorkflowRun, reason: str = "") -> WorkflowRun:
    """PENDING/RUNNING → CANCELLED: active nodes and running attempts are CANCELLED, pending approvals are
    withdrawn, and running work is told to stop (local tools at their next heartbeat, the task controller by
    a cancel call after commit). Raises ``InvalidStateError`` (409) when the run is already terminal."""
    now = timezone.now()
    with transaction.atomic():
        locked = (
            WorkflowRun.objects.select_for_update()
            .filter(pk=run.pk)
            .values("id", "status", "tenant_id", "name", "workspace_id")
        )
        current = locked.first()
        if current is None:
            raise NotFoundError("No such workflow run.")
        move = RUN[RunAction.CANCEL]
        if current["status"] not in move.sources:
            raise InvalidStateError(f"The run is already {current['status']}; only PENDING or RUNNING runs cancel.")
        WorkflowRun.objects.filter(pk=run.pk, **move.where()).update(
            status=move.target, cancel_reason=reason[:MAX_ERROR_CHARS], finished_at=now, updated_at=now
        )
        run_changed(run.pk)
        stop_nodes(run.pk, now, "run cancelled" + (f": {reason}" if reason else ""))
        gate.withdraw_for_run(run_id=run.pk)
        run_event("workflow.cancelled", current, reason=reason)
        metrics.workflow_runs_total.labels(status=RunStatus.CANCELLED).inc()
        finish_workspace(current)
    run.refresh_from_db()
    return run


def retry_node(*, run: WorkflowRun, key: str) -> WorkflowRun:
    """Re-run the FAILED node ``key`` of a FAILED run: the run goes back to RUNNING, the node to READY with a fresh
    retry budget, and nodes CANCELLED by the failure (or SKIPPED because of it) are resolved again.

    Raises ``NotFoundError`` for an unknown key and ``InvalidStateError`` (409) unless run and node are FAILED.
    """
    now = timezone.now()
    with transaction.atomic():
        current = WorkflowRun.objects.select_for_update().filter(pk=run.pk).values("id", "status", "tenant_id", "name")
        locked = current.first()
        if locked is None:
            raise NotFoundError("No such workflow run.")
        nodes = {
            n.key: n
            for n in WorkflowNode.objects.filter(run_id=run.pk).only(
                "id", "key", "type", "depends_on", "status", "config", "output", "attempts"
            )
        }
        if key not in nodes:
            raise NotFoundError(f"No node {key!r} in this run.")
        run_move = RUN[RunAction.RETRY]
        if locked["status"] not in run_move.sources or nodes[key].status not in NODE[NodeAction.RETRY].sources:
            raise InvalidStateError(
                f"Only a FAILED node of a FAILED run can be retried (run {locked['status']}, node {nodes[key].status})."
            )
        states = {
            k: graph.NodeState(type=n.type, depends_on=n.depends_on, status=n.status, config=n.config, output=n.output)
            for k, n in nodes.items()
        }
        plan = graph.plan_retry(states, key)
        run_changed(run.pk)
        final = {k: plan.get(k, n.status) for k, n in nodes.items()}
        by_status: dict[str, list[str]] = {}
        for k, status in plan.items():
            by_status.setdefault(status, []).append(k)
        for status, keys in by_status.items():
            if status == NodeStatus.PENDING:
                # Group by the new dependency count so each group is one UPDATE.
                groups: dict[int, list[str]] = {}
                for k in keys:
                    groups.setdefault(sum(final[d] != NodeStatus.COMPLETED for d in nodes[k].depends_on), []).append(k)
                for pending, group in groups.items():
                    WorkflowNode.objects.filter(run_id=run.pk, key__in=group).update(
                        status=status, pending_dependencies=pending, error="", finished_at=None, updated_at=now
                    )
            elif status == NodeStatus.READY:
                WorkflowNode.objects.filter(run_id=run.pk, key__in=keys).update(
                    status=status, pending_dependencies=0, not_before=None, finished_at=None, updated_at=now
                )
            else:
                WorkflowNode.objects.filter(run_id=run.pk, key__in=keys).update(
                    status=status, finished_at=now, updated_at=now
                )
        WorkflowNode.objects.filter(pk=nodes[key].pk).update(retry_base=F("attempts"), error="")
        WorkflowRun.objects.filter(pk=run.pk, **run_move.where()).update(
            status=run_move.target, error="", finished_at=None, updated_at=now
        )
        run_event("workflow.started", locked, retried_node=key)
        metrics.workflow_runs_total.labels(status=RunStatus.RUNNING).inc()
        wakeups.wake()
        # A retry that resolves every node at once (nothing left to run) still has to end the run.
        if all(s in graph.NODE_TERMINAL for s in final.values()):
            maybe_finish_run(run.pk, now)
    run.refresh_from_db()
    return run
