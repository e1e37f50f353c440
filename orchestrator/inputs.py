"""A person's values for an INPUT node (issue 19): who may submit them, and submitting them exactly once.

The node type itself (its form, its timer, what happens past the due time) is ``orchestrator/nodes/human_input.py``;
the console form (``orchestrator/console/inputs.py``) and ``POST /workflows/{id}/nodes/{key}/input`` both call
``submit_input``.

Exactly once: the submission is one compare-and-set (``WAITING`` and not yet due → ``COMPLETED``). Two concurrent
submitters queue on the node's row lock and the second finds it no longer WAITING (409 ``input_not_waiting``); the
scheduler expiring the node at the due time takes the same row lock (``FOR UPDATE SKIP LOCKED``), so a submission
and an expiry cannot both win either. A submission after the due time is refused (409 ``input_expired``) even before
the scheduler wrote the expiry: reads and refusals never write.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from approvals import routing
from orchestrator import events, metrics, wakeups
from orchestrator.lib.auth import Caller
from orchestrator.lib.errors import InvalidInput, InvalidStateError, PermissionDeniedError
from orchestrator.models import NodeStatus, NodeType, Scope, WorkflowNode
from orchestrator.nodes.human_input import value_errors
from orchestrator.progress import NodeRef, settle
from orchestrator.transitions import NODE, NodeAction


class NotInputAssignee(PermissionDeniedError):
    code, title = "not_input_assignee", "This input is assigned to other groups"


class InputNotWaiting(InvalidStateError):
    code, title = "input_not_waiting", "This step is not waiting for input"


class InputExpired(InvalidStateError):
    code, title = "input_expired", "This input is past its due time"


class InvalidValues(InvalidInput):
    """400 ``validation_error``: one entry per wrong field (``values.<field>``)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("The values do not fit the form: " + "; ".join(f"{f}: {m}" for f, m in problems[:5]))
        self.errors = [{"field": field, "message": message} for field, message in problems]


def groups_of(node: WorkflowNode) -> list[str]:
    """The groups an INPUT node is assigned to (empty: any reviewer of the tenant)."""
    return list(((node.config or {}).get("assignees") or {}).get("groups") or [])


def refusal(caller: Caller, node: WorkflowNode) -> PermissionDeniedError | None:
    """Why ``caller`` may not submit ``node``'s values, or None when it may: submitting needs the reviewer role (or a
    key with ``approvals:decide``) in the run's tenant and, when the node names groups, a person in one of them
    with that role (``approvals.routing.in_groups``, the membership rule of routed approvals).
    Precondition: ``node.run`` is loaded (one query for the groups when the node has any)."""
    tenant_id = node.run.tenant_id
    if not caller.has_scope(Scope.APPROVALS_DECIDE, tenant_id):
        return PermissionDeniedError(
            "Submitting input needs the reviewer or operator role (or a key with the 'approvals:decide' scope)."
        )
    groups = groups_of(node)
    if groups and not routing.in_groups(caller=caller, tenant_id=tenant_id, groups=groups):
        return NotInputAssignee(
            f"This input is assigned to {', '.join(groups)}; only their members (reviewers or operators) submit it.",
            groups=groups,
        )
    return None


def not_waiting_text(node: WorkflowNode) -> str:
    """Why ``node`` (an INPUT, not WAITING) takes no input now, for the problem's detail and the console."""
    if node.status == NodeStatus.COMPLETED and node.submitted_by:
        return f"Step {node.key!r} was already answered by {node.submitted_by.get('display') or 'someone else'}."
    if node.status == NodeStatus.COMPLETED:
        return f"Step {node.key!r} took its default answer: nobody answered before its due time."
    if node.status == NodeStatus.FAILED:
        return f"Step {node.key!r} failed ({node.error[:200]}); it takes no input."
    if node.status in (NodeStatus.PENDING, NodeStatus.READY):
        return f"Step {node.key!r} is not waiting for input yet ({node.status})."
    return f"Step {node.key!r} is {node.status}, not waiting for input."


def is_overdue(node: WorkflowNode, now: datetime) -> bool:
    return node.status == NodeStatus.WAITING and node.not_before is not None and node.not_before <= now


def submit_input(*, caller: Caller, node: WorkflowNode, values: Any) -> WorkflowNode:
    """Complete the INPUT ``node`` with ``values`` as its output, submitted by ``caller``; its successors advance
    (a DECISION after it reads ``<key>.output.<field>``) and the run ends when nothing is left.

    Preconditions: ``node`` was read through ``selectors.get_input_node_for`` (so the caller may see it; 404
    otherwise), with its run. Refusals, in this order: 409 ``input_not_waiting`` (not an INPUT, or not WAITING:
    not reached yet, already submitted, expired, cancelled), 403 ``permission_denied`` / ``not_input_assignee``
    (``refusal``), 409 ``input_expired`` past the due time, 400 ``validation_error`` naming each wrong field
    (``values.amount``). Side effects, in one transaction: the node row (``output``, ``submitted_by``), the
    ``input.submitted`` event (audit and webhooks; it announces the run to ``?wait=`` readers), successors.
    Returns the node as stored."""
    if node.type != NodeType.INPUT:
        raise InputNotWaiting(f"Step {node.key!r} is a {node.type} step; it takes no input.")
    if node.status != NodeStatus.WAITING:
        raise InputNotWaiting(not_waiting_text(node), node_status=node.status)
    denied = refusal(caller, node)
    if denied is not None:
        raise denied
    now = timezone.now()
    if is_overdue(node, now):
        wakeups.wake()  # the scheduler writes the expiry (or takes the default); a refusal does not
        raise InputExpired(f"The input of step {node.key!r} was due at {node.not_before:%Y-%m-%d %H:%M:%S} UTC.")
    problems = value_errors(node.config.get("form") or {}, values)
    if problems:
        raise InvalidValues(problems)
    submitted_by = caller.actor.as_dict()
    move = NODE[NodeAction.SUBMIT_INPUT]
    with transaction.atomic():
        moved = WorkflowNode.objects.filter(pk=node.pk, type=NodeType.INPUT, not_before__gt=now, **move.where()).update(
            status=move.target,
            output=values,
            submitted_by=submitted_by,
            error="",
            not_before=None,
            finished_at=now,
            updated_at=now,
        )
        if not moved:
            node.refresh_from_db(fields=["status", "submitted_by", "error"])
            if node.status == NodeStatus.WAITING:
                wakeups.wake()
                raise InputExpired(f"The input of step {node.key!r} is past its due time.")
            raise InputNotWaiting(not_waiting_text(node), node_status=node.status)
        metrics.workflow_nodes_total.labels(type=node.type, status=move.target).inc()
        events.emit(
            "input.submitted",
            tenant_id=node.run.tenant_id,
            resource_type="workflow_node",
            resource_id=node.pk,
            data={
                "run_id": str(node.run_id),
                "node_key": node.key,
                "type": node.type,
                "submitted_by": submitted_by,
                "values": values,
            },
            actor=caller.actor,
            after=values,
        )
        settle(NodeRef.from_node(node), now, succeeded=True, output=values)
    # What the UPDATE wrote, without reading the row back.
    node.status, node.output, node.submitted_by, node.error = move.target, values, submitted_by, ""
    node.not_before, node.finished_at, node.updated_at = None, now, now
    return node
