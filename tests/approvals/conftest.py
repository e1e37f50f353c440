"""Fixtures for approvals: runs and nodes made with the ORM, and a recorder in place of the engine's listener."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from approvals import outcomes
from orchestrator.lib.auth import Caller, caller_for_api_key, caller_for_user
from orchestrator.models import (
    NodeRunStatus,
    NodeStatus,
    NodeType,
    Role,
    RunStatus,
    Scope,
    Tenant,
    WorkflowNode,
    WorkflowNodeRun,
    WorkflowRun,
)
from tests.conftest import signed_in
from tests.factories import MembershipFactory


@pytest.fixture
def make_run(db: Any) -> Callable[..., tuple[WorkflowRun, WorkflowNode, WorkflowNodeRun | None]]:
    """``make_run(tenant, tool=..., params=..., node_status=RUNNING, ...)`` → (run, node, node_run|None)."""

    def make(
        tenant: Tenant,
        *,
        tool: str = "email.send",
        params: dict[str, Any] | None = None,
        key: str = "send",
        run_status: str = RunStatus.RUNNING,
        node_status: str = NodeStatus.RUNNING,
        with_node_run: bool = True,
        started_by: dict[str, Any] | None = None,
        extra_config: dict[str, Any] | None = None,
    ) -> tuple[WorkflowRun, WorkflowNode, WorkflowNodeRun | None]:
        run = WorkflowRun.objects.create(
            tenant=tenant,
            name="invoice run",
            status=run_status,
            started_by=started_by or {"type": "api_key", "id": "starter-key", "display": "starter"},
        )
        config = {"action": {"tool": tool, "params": params if params is not None else {"to": "a@example.com"}}}
        config.update(extra_config or {})
        node = WorkflowNode.objects.create(run=run, key=key, type=NodeType.TASK, config=config, status=node_status)
        node_run = None
        if with_node_run:
            node_run = WorkflowNodeRun.objects.create(node=node, run=run, attempt=1, status=NodeRunStatus.RUNNING)
        return run, node, node_run

    return make


@pytest.fixture
def make_caller(db: Any, make_api_key: Callable[..., Any]) -> Callable[..., Caller]:
    """``make_caller(tenant, role=None, scopes=None)``: a person with ``role`` or a key with ``scopes``."""

    def make(tenant: Tenant, *, role: str | None = None, scopes: list[str] | None = None) -> Caller:
        if role is not None:
            return signed_in(caller_for_user(MembershipFactory(tenant=tenant, role=role).user))
        api_key, _ = make_api_key(tenant, scopes if scopes is not None else [Scope.APPROVALS_DECIDE])
        return caller_for_api_key(api_key)

    return make


@pytest.fixture
def reviewer(tenant: Tenant, make_caller: Callable[..., Caller]) -> Caller:
    return make_caller(tenant, role=Role.REVIEWER)


@pytest.fixture
def hook_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Replace the engine hook with a recorder (for tests of OUR side of the contract, not the engine's)."""
    calls: list[dict[str, Any]] = []

    def record(decided: outcomes.ApprovalOutcome) -> None:
        calls.append({"node_id": decided.node_id, "outcome": decided.outcome, "reason": decided.reason})

    monkeypatch.setattr(outcomes.decided, "_listeners", [record])
    return calls
