"""Each statement with a PostgreSQL and a portable variant (``orchestrator/statements.py``): both variants run the
same scenario and leave the same rows (on SQLite only the portable one runs)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from orchestrator import runs, statements
from orchestrator.models import NodeRunStatus, NodeStatus, WorkflowNode, WorkflowNodeRun
from orchestrator.transitions import ATTEMPT, AttemptAction

from .engine_helpers import definition, task

pytestmark = pytest.mark.django_db
VARIANTS = ["portable", "postgresql"]


def variant(statement: statements.Statement[Any, Any], name: str) -> Any:
    if name == "postgresql" and connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL variant needs PostgreSQL")
    chosen = getattr(statement, name)
    assert chosen is not None
    return chosen


def ready_node(tenant: Any) -> WorkflowNode:
    run = runs.create_run(tenant=tenant, definition=definition(task("a", timeout_seconds=120)))
    runs.start_run(run=run)
    return WorkflowNode.objects.get(run=run, key="a", status=NodeStatus.READY)


def new_attempt(node: WorkflowNode, now: Any, owner: str = "") -> statements.NewAttempt:
    return statements.NewAttempt(
        node_id=node.pk,
        run_id=node.run_id,
        attempts=node.attempts,
        attempt_id=uuid.uuid4(),
        input=node.config["action"],
        approval_id="",
        fencing_token=None,
        owner=owner,
        lease=now + timedelta(seconds=30),
        timeout_at=now + timedelta(seconds=120),
    )


@pytest.mark.parametrize("name", VARIANTS)
@pytest.mark.parametrize("owner", ["", "worker-1"])
def test_create_attempts(tenant: Any, name: str, owner: str) -> None:
    node, now = ready_node(tenant), timezone.now()
    attempt = new_attempt(node, now, owner)
    with transaction.atomic():
        variant(statements.create_attempts, name)([attempt], now)
    node.refresh_from_db()
    assert (node.status, node.attempts, node.not_before) == (NodeStatus.RUNNING, 1, None)
    row = WorkflowNodeRun.objects.get(pk=attempt.attempt_id)
    assert (row.node_id, row.run_id, row.attempt, row.status, row.input) == (
        node.pk,
        node.run_id,
        1,
        NodeRunStatus.RUNNING,
        {"tool": "noop", "params": {}},
    )
    assert (row.lease_owner, row.lease_expires_at) == (owner, attempt.lease)
    # Only an attempt created already started carries its timeout; a dispatched one gets it when started.
    assert row.timeout_at == (attempt.timeout_at if owner else None)


@pytest.mark.parametrize("name", VARIANTS)
def test_start_attempts_takes_each_attempt_once(tenant: Any, name: str) -> None:
    node, now = ready_node(tenant), timezone.now()
    attempt = new_attempt(node, now)
    statements.create_attempts([attempt], now)
    start = variant(statements.start_attempts, name)
    taken = start([str(attempt.attempt_id)], "worker-1", False, now)
    row = taken[str(attempt.attempt_id)]
    assert row["id"] == str(attempt.attempt_id)
    assert row["node__id"] == node.pk and row["node__key"] == "a" and row["attempt"] == 1
    assert row["timeout_at"] == now + timedelta(seconds=120)
    stored = WorkflowNodeRun.objects.get(pk=attempt.attempt_id)
    assert stored.lease_owner == "worker-1" and stored.external_task_id == ""
    assert stored.lease_expires_at is not None and stored.lease_expires_at <= now + timedelta(seconds=120)
    assert start([str(attempt.attempt_id)], "worker-2", False, now) == {}  # a duplicate delivery takes nothing


@pytest.mark.parametrize("name", VARIANTS)
def test_finish_attempt_is_a_compare_and_set_on_the_owner(tenant: Any, name: str) -> None:
    node, now = ready_node(tenant), timezone.now()
    attempt = new_attempt(node, now, owner="worker-1")
    statements.create_attempts([attempt], now)
    finish = variant(statements.finish_attempt, name)
    complete = ATTEMPT[AttemptAction.COMPLETE]
    assert finish(attempt.attempt_id, complete, now, output={"x": 1}, owner="worker-2", expired_before=None) is None
    done = finish(attempt.attempt_id, complete, now, output={"x": 1}, owner="worker-1", expired_before=None)
    assert done == (node.pk, None)
    row = WorkflowNodeRun.objects.get(pk=attempt.attempt_id)
    assert (row.status, row.output, row.lease_expires_at) == (NodeRunStatus.COMPLETED, {"x": 1}, None)
    fail = ATTEMPT[AttemptAction.FAIL]
    assert finish(attempt.attempt_id, fail, now, error="late", owner=None, expired_before=None) is None


@pytest.mark.parametrize("name", VARIANTS)
def test_finish_attempt_reaps_only_an_expired_lease(tenant: Any, name: str) -> None:
    node, now = ready_node(tenant), timezone.now()
    attempt = new_attempt(node, now, owner="worker-1")
    statements.create_attempts([attempt], now)
    finish = variant(statements.finish_attempt, name)
    fail = ATTEMPT[AttemptAction.FAIL]
    assert finish(attempt.attempt_id, fail, now, error="reaped", owner=None, expired_before=now) is None
    later = now + timedelta(seconds=31)
    assert finish(attempt.attempt_id, fail, later, error="reaped", owner=None, expired_before=later) == (node.pk, None)
    assert WorkflowNodeRun.objects.get(pk=attempt.attempt_id).error == "reaped"


def test_the_one_statement_completion_exists_only_on_postgresql() -> None:
    assert statements.complete_attempt.portable is None
    assert statements.complete_attempt.specialised() == (connection.vendor == "postgresql")
