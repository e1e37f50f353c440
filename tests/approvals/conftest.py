"""Fixtures for approvals: runs and nodes made with the ORM, a recorder for the engine hook, and the skip of
``needs_engine`` tests while ``orchestrator.approval_hooks.apply_approval_decision`` is still the stub.

Detection: the stub's body (after its docstring) is a single ``raise NotImplementedError(...)``; we parse the
function's source with ``ast`` instead of calling it, because collection has no database and a real hook may need
one. Once the engine replaces the body, the tests run.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable
from typing import Any

import pytest

from orchestrator import approval_hooks
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


def engine_hook_is_stub() -> bool:
    source = textwrap.dedent(inspect.getsource(approval_hooks.apply_approval_decision))
    func = ast.parse(source).body[0]
    assert isinstance(func, ast.FunctionDef)
    body = [n for n in func.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
    if len(body) != 1 or not isinstance(body[0], ast.Raise) or body[0].exc is None:
        return False
    exc = body[0].exc
    name = exc.func if isinstance(exc, ast.Call) else exc
    return isinstance(name, ast.Name) and name.id == "NotImplementedError"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not engine_hook_is_stub():
        return
    skip = pytest.mark.skip(
        reason="needs the workflow engine: orchestrator.approval_hooks.apply_approval_decision is still the stub"
    )
    for item in items:
        if "needs_engine" in item.keywords:
            item.add_marker(skip)


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

    def record(*, node_id: Any, outcome: str, reason: str = "") -> None:
        calls.append({"node_id": node_id, "outcome": outcome, "reason": reason})

    monkeypatch.setattr(approval_hooks, "apply_approval_decision", record)
    return calls
