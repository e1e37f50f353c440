"""Helpers for console tests: a running workflow step and a pending approval asked for through the service."""

from __future__ import annotations

from typing import Any

from approvals import services as approval_services
from approvals.models import ApprovalRequest
from orchestrator import services as core_services
from orchestrator.lib.auth import Caller, caller_for_api_key
from orchestrator.models import (
    NodeRunStatus,
    NodeStatus,
    NodeType,
    Scope,
    Tenant,
    WorkflowNode,
    WorkflowNodeRun,
    WorkflowRun,
)


def running_step(tenant: Tenant, *, key: str = "send", name: str = "Invoice reminders") -> WorkflowRun:
    """A RUNNING run with a finished ``fetch`` step and a RUNNING ``key`` step after it."""
    run = WorkflowRun.objects.create(tenant=tenant, name=name, status="RUNNING")
    WorkflowNode.objects.create(run=run, key="fetch", type=NodeType.TASK, status=NodeStatus.COMPLETED)
    node = WorkflowNode.objects.create(
        run=run,
        key=key,
        type=NodeType.TASK,
        status=NodeStatus.RUNNING,
        depends_on=["fetch"],
        config={"action": {"tool": "email.send", "params": {"to": "ceo@example.com"}}},
    )
    WorkflowNodeRun.objects.create(node=node, run=run, attempt=1, status=NodeRunStatus.RUNNING)
    return run


def service_caller(tenant: Tenant) -> Caller:
    api_key, _ = core_services.create_api_key(tenant=tenant, name="agent", scopes=[Scope.APPROVALS_REQUEST])
    return caller_for_api_key(api_key)


def pending_approval(tenant: Tenant, *, requester: Caller | None = None, **params: Any) -> ApprovalRequest:
    """A PENDING approval for ``email.send`` (HIGH risk), asked for by ``requester`` (a fresh API key by default)."""
    run = running_step(tenant)
    ask = approval_services.request_action_approval(
        caller=requester or service_caller(tenant),
        workflow_id=run.pk,
        node_key="send",
        tool="email.send",
        params={"to": "ceo@example.com", "subject": "Quarterly numbers", "body": "See attached.", **params},
        reasoning="The customer asked for the numbers.",
    )
    assert ask.approval is not None
    return ask.approval
