"""Run services and the scheduler on the database: node semantics of SPEC §3.2-3.3, retries, cancel, approvals."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.models import AuditLog
from orchestrator import approval_outcomes, graph, reaper, retries, runs, scheduler, wakeups
from orchestrator.executors import runner
from orchestrator.lib.errors import InvalidStateError, NotFoundError
from orchestrator.models import NodeStatus, WorkflowNode, WorkflowNodeRun
from tests.factories import TenantFactory

from .engine_helpers import create_and_run, definition, drive, statuses, task

pytestmark = pytest.mark.django_db


def decision(key: str, deps: list[str], conditions: list[dict[str, Any]], default: str | None = None) -> dict:
    return {"key": key, "type": "DECISION", "depends_on": deps, "conditions": conditions, "default": default}


def when(path: str, op: str, value: Any = None, then: str = "") -> dict[str, Any]:
    clause: dict[str, Any] = {"path": path, "op": op}
    if value is not None:
        clause["value"] = value
    return {"when": clause, "then": then}


def event_types(run: Any) -> list[str]:
    return list(
        AuditLog.objects.filter(resource_id=str(run.pk)).order_by("created_at").values_list("action", flat=True)
    )


def test_chain_completes_in_order_with_events(tenant) -> None:
    run = create_and_run(tenant, definition(task("a"), task("b", depends_on=["a"]), task("c", depends_on=["b"])))
    assert run.status == "COMPLETED"
    assert run.finished_at is not None
    nodes = {n.key: n for n in run.nodes.all()}
    assert nodes["a"].finished_at <= nodes["b"].started_at <= nodes["b"].finished_at <= nodes["c"].started_at
    assert event_types(run) == ["workflow.created", "workflow.started", "workflow.completed"]
    assert WorkflowNodeRun.objects.filter(run=run).count() == 3


def test_task_output_is_stored_and_feeds_a_decision(tenant) -> None:
    run = create_and_run(
        tenant,
        definition(
            task("fetch", "echo", {"count": 2}),
            decision("check", ["fetch"], [when("fetch.output.count", "gt", 0, then="send")], default="skip_notice"),
            task("send", depends_on=["check"]),
            task("skip_notice", depends_on=["check"]),
            task("after_notice", depends_on=["skip_notice"]),
        ),
    )
    assert statuses(run) == {
        "fetch": "COMPLETED",
        "check": "COMPLETED",
        "send": "COMPLETED",
        "skip_notice": "SKIPPED",
        "after_notice": "SKIPPED",
    }
    assert run.status == "COMPLETED"
    assert run.nodes.get(key="check").output == {"branch": "send", "matched": 0}
    assert run.nodes.get(key="fetch").output == {"count": 2}


def test_decision_takes_default_when_nothing_matches(tenant) -> None:
    run = create_and_run(
        tenant,
        definition(
            task("fetch", "echo", {"count": 0}),
            decision("check", ["fetch"], [when("fetch.output.count", "gt", 0, then="send")], default="notice"),
            task("send"),
            task("notice"),
        ),
    )
    assert statuses(run)["send"] == "SKIPPED"
    assert statuses(run)["notice"] == "COMPLETED"


def test_run_completes_when_the_branch_not_taken_skips_the_taken_branch_too(tenant) -> None:
    """Regression: the taken branch ("notice") also waits for the branch not taken ("send"). The DECISION first
    advances "notice" (still PENDING: it waits for "send"), then skips "send" and, by cascade, "notice". That
    was the run's last active node, so the run must end here; it used to stay RUNNING for ever because the
    finish check was skipped whenever an advanced successor had been PENDING before the cascade."""
    run = create_and_run(
        tenant,
        definition(
            task("fetch", "echo", {"count": 0}),
            decision("check", ["fetch"], [when("fetch.output.count", "gt", 0, then="send")], default="notice"),
            task("send"),
            task("notice", depends_on=["send"]),
        ),
    )
    assert statuses(run) == {"fetch": "COMPLETED", "check": "COMPLETED", "send": "SKIPPED", "notice": "SKIPPED"}
    assert run.status == "COMPLETED"
    assert run.finished_at is not None
    assert event_types(run)[-1] == "workflow.completed"


def test_decision_without_match_or_default_fails_clearly(tenant) -> None:
    run = create_and_run(
        tenant,
        definition(
            task("fetch", "echo", {"count": 0}),
            decision("check", ["fetch"], [when("fetch.output.count", "gt", 0, then="send")]),
            task("send"),
            task("other"),
            task("slow", depends_on=["other"]),
        ),
    )
    check = run.nodes.get(key="check")
    assert check.status == "FAILED"
    assert "No condition matched" in check.error
    assert run.status == "FAILED"
    assert "check" in run.error
    assert "node.failed" in event_types(run) or AuditLog.objects.filter(action="node.failed").exists()
    assert "workflow.failed" in event_types(run)


def test_parallel_branches_and_join_waits_for_all(tenant) -> None:
    run = runs.create_run(
        tenant=tenant,
        definition=definition(
            task("a"),
            {"key": "fan", "type": "PARALLEL", "depends_on": ["a"], "branches": ["b1", "b2", "b3"]},
            task("b1"),
            task("b2"),
            task("b3"),
            task("join", depends_on=["b1", "b2", "b3"]),
        ),
    )
    runs.start_run(run=run)
    for _ in range(3):
        scheduler.tick(batch_size=100, dispatch=lambda ids: None)
    branch_runs = WorkflowNodeRun.objects.filter(run=run, node__key__in=["b1", "b2", "b3"], lease_owner="")
    # a ran first; after it the three branches are dispatched together.
    runner.execute(str(WorkflowNodeRun.objects.get(run=run, node__key="a").pk))
    for _ in range(2):
        scheduler.tick(batch_size=100, dispatch=lambda ids: None)
    assert branch_runs.count() == 3
    ids = list(branch_runs.values_list("id", flat=True))
    runner.execute(str(ids[0]))
    runner.execute(str(ids[1]))
    join = run.nodes.get(key="join")
    assert join.status == "PENDING"
    assert join.pending_dependencies == 1
    runner.execute(str(ids[2]))
    join.refresh_from_db()
    # On PostgreSQL the last branch's completion claims the join in the same transaction (its attempt exists).
    if connection.vendor == "postgresql":
        assert join.status == "RUNNING"
        assert WorkflowNodeRun.objects.filter(node=join, lease_owner="").count() == 1
    else:
        assert join.status == "READY"
    drive()
    run.refresh_from_db()
    assert run.status == "COMPLETED"


def test_wait_is_a_durable_timer(tenant) -> None:
    run = runs.create_run(
        tenant=tenant,
        definition=definition(
            {"key": "pause", "type": "WAIT", "wait": {"seconds": 30}}, task("after", depends_on=["pause"])
        ),
    )
    runs.start_run(run=run)
    scheduler.tick(dispatch=lambda ids: None)
    pause = run.nodes.get(key="pause")
    assert pause.status == "WAITING"
    assert pause.not_before > timezone.now() + timedelta(seconds=25)
    assert scheduler.tick(dispatch=lambda ids: None) == 0  # not due: nothing to claim
    with time_machine.travel(timezone.now() + timedelta(seconds=31), tick=False):
        scheduler.tick(dispatch=lambda ids: None)
    pause.refresh_from_db()
    assert pause.status == "COMPLETED"
    drive()
    run.refresh_from_db()
    assert run.status == "COMPLETED"


def test_wait_until_a_past_timestamp_completes_at_once(tenant) -> None:
    run = create_and_run(tenant, definition({"key": "w", "type": "WAIT", "wait": {"until": "2000-01-01T00:00:00Z"}}))
    assert run.status == "COMPLETED"


def test_failure_fails_the_run_and_cancels_the_rest(tenant) -> None:
    run = create_and_run(
        tenant,
        definition(
            task("bad", "fail", {"message": "boom"}),
            task("after", depends_on=["bad"]),
            {"key": "w", "type": "WAIT", "wait": {"seconds": 3600}},
        ),
    )
    assert run.status == "FAILED"
    assert statuses(run) == {"bad": "FAILED", "after": "CANCELLED", "w": "CANCELLED"}
    assert run.nodes.get(key="bad").error == "boom"
    assert "workflow.failed" in event_types(run)


def test_on_failure_continue_skips_dependents_and_the_run_completes(tenant) -> None:
    run = create_and_run(
        tenant,
        definition(
            task("bad", "fail", on_failure="continue"),
            task("after", depends_on=["bad"]),
            task("independent"),
        ),
    )
    assert statuses(run) == {"bad": "FAILED", "after": "SKIPPED", "independent": "COMPLETED"}
    assert run.status == "COMPLETED"


def test_retries_with_backoff_until_attempts_are_exhausted(tenant) -> None:
    run = runs.create_run(
        tenant=tenant,
        definition=definition(
            task("flaky", "fail", {"message": "nope"}, retry={"max_attempts": 3, "backoff_seconds": 10})
        ),
    )
    runs.start_run(run=run)
    scheduler.tick(dispatch=lambda ids: None)
    first = WorkflowNodeRun.objects.get(run=run)
    before = timezone.now()
    runner.execute(str(first.pk))
    node = run.nodes.get(key="flaky")
    assert node.status == "READY"
    # Equal jitter: between half and all of the 10 s base delay.
    assert before + timedelta(seconds=4.9) <= node.not_before <= timezone.now() + timedelta(seconds=10.1)
    assert scheduler.tick(dispatch=lambda ids: None) == 0  # backoff not over yet
    drive()
    node.refresh_from_db()
    run.refresh_from_db()
    assert node.status == "FAILED"
    assert node.attempts == 3
    assert list(WorkflowNodeRun.objects.filter(node=node).values_list("attempt", "status")) == [
        (1, "FAILED"),
        (2, "FAILED"),
        (3, "FAILED"),
    ]
    assert run.status == "FAILED"


def test_timeout_bounds_an_attempt(tenant) -> None:
    run = create_and_run(tenant, definition(task("slow", "sleep", {"seconds": 5}, timeout_seconds=0.2)))
    attempt = WorkflowNodeRun.objects.get(run=run)
    assert attempt.status == "FAILED"
    assert "timed out" in attempt.error
    assert run.status == "FAILED"


def test_reaper_fails_expired_leases_and_the_node_is_retried(tenant) -> None:
    run = runs.create_run(
        tenant=tenant, definition=definition(task("a", retry={"max_attempts": 2, "backoff_seconds": 0}))
    )
    runs.start_run(run=run)
    scheduler.tick(dispatch=lambda ids: None)
    attempt = WorkflowNodeRun.objects.get(run=run)
    WorkflowNodeRun.objects.filter(pk=attempt.pk).update(
        lease_owner="dead-host:1", lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert reaper.reap_expired_leases() == 1
    attempt.refresh_from_db()
    assert attempt.status == "FAILED"
    assert "dead-host:1" in attempt.error
    drive()
    run.refresh_from_db()
    assert run.status == "COMPLETED"
    assert list(WorkflowNodeRun.objects.filter(run=run).values_list("attempt", "status")) == [
        (1, "FAILED"),
        (2, "COMPLETED"),
    ]


def approve_pending(run: Any, make_api_key: Any) -> Any:
    """Approve the run's pending approval request as a reviewer key (not the requester), through the service."""
    from approvals import services as approval_services
    from approvals.models import ApprovalRequest
    from orchestrator.lib.auth import caller_for_api_key

    approval = ApprovalRequest.objects.get(run_id=run.pk, status="PENDING")
    reviewer_key, _ = make_api_key(run.tenant, ["approvals:decide"], name="reviewer")
    approval_services.decide_approval(caller=caller_for_api_key(reviewer_key), approval=approval, decision="approve")
    return approval


def test_duplicate_delivery_runs_the_tool_once(tenant, make_api_key) -> None:
    run = runs.create_run(
        tenant=tenant,
        definition=definition(task("a", "email.send", {"to": "a@example.com", "subject": "s", "body": "b"})),
    )
    runs.start_run(run=run)
    scheduler.tick(dispatch=lambda ids: None)
    # email.send is HIGH risk: the node waits for a real approval request, decided by someone else.
    assert run.nodes.get(key="a").status == "WAITING_APPROVAL"
    approval = approve_pending(run, make_api_key)
    scheduler.tick(dispatch=lambda ids: None)
    attempt = WorkflowNodeRun.objects.get(run=run)
    assert attempt.approval_id == str(approval.pk)
    assert runner.execute(str(attempt.pk)) == "completed"
    assert runner.execute(str(attempt.pk)) == "duplicate"
    assert len(mail.outbox) == 1
    approval.refresh_from_db()
    assert approval.status == "EXECUTED"


def test_cancel_stops_everything_and_emits(tenant) -> None:
    run = runs.create_run(
        tenant=tenant,
        definition=definition(
            task("a"), task("b", depends_on=["a"]), {"key": "w", "type": "WAIT", "wait": {"seconds": 99}}
        ),
    )
    runs.start_run(run=run)
    scheduler.tick(dispatch=lambda ids: None)
    attempt = WorkflowNodeRun.objects.get(run=run, node__key="a")
    runs.cancel_run(run=run, reason="operator said so")
    run.refresh_from_db()
    attempt.refresh_from_db()
    assert run.status == "CANCELLED"
    assert run.cancel_reason == "operator said so"
    assert set(statuses(run).values()) == {"CANCELLED"}
    assert attempt.status == "CANCELLED"
    # The worker that picks the cancelled attempt up does nothing.
    assert runner.execute(str(attempt.pk)) == "duplicate"
    assert "workflow.cancelled" in event_types(run)
    with pytest.raises(InvalidStateError):
        runs.cancel_run(run=run)


def test_start_twice_is_invalid_state(tenant) -> None:
    run = runs.create_run(tenant=tenant, definition=definition(task("a")))
    runs.start_run(run=run)
    with pytest.raises(InvalidStateError):
        runs.start_run(run=run)


def test_retry_of_a_failed_node_resumes_the_run(tenant) -> None:
    run = create_and_run(
        tenant,
        definition(
            task("a"),
            task("bad", "fail", depends_on=["a"]),
            task("after", depends_on=["bad"]),
            task("other", depends_on=["a"]),
        ),
    )
    assert run.status == "FAILED"
    with pytest.raises(InvalidStateError):
        runs.retry_node(run=run, key="a")
    with pytest.raises(NotFoundError):
        runs.retry_node(run=run, key="ghost")
    # Fix the cause: the retried node now succeeds.
    WorkflowNode.objects.filter(run=run, key="bad").update(
        config={**run.nodes.get(key="bad").config, "action": {"tool": "noop", "params": {}}}
    )
    WorkflowNode.objects.filter(run=run, key="bad").update(
        config={"action": {"tool": "noop", "params": {}}, "retry": retries.DEFAULT_RETRY, "on_failure": "fail"}
    )
    runs.retry_node(run=run, key="bad")
    run.refresh_from_db()
    assert run.status == "RUNNING"
    drive()
    run.refresh_from_db()
    assert run.status == "COMPLETED"
    assert set(statuses(run).values()) == {"COMPLETED"}
    assert run.nodes.get(key="bad").attempts == 2


def test_retry_of_a_node_in_a_running_run_is_refused(tenant) -> None:
    run = runs.create_run(tenant=tenant, definition=definition(task("a")))
    runs.start_run(run=run)
    with pytest.raises(InvalidStateError):
        runs.retry_node(run=run, key="a")


# --- Approvals contract -------------------------------------------------------------------------------------------


def waiting_for_approval(tenant: Any, **extra: Any) -> tuple[Any, WorkflowNode]:
    run = runs.create_run(tenant=tenant, definition=definition(task("pay", **extra), task("after", depends_on=["pay"])))
    runs.start_run(run=run)
    node = run.nodes.get(key="pay")
    WorkflowNode.objects.filter(pk=node.pk).update(status=NodeStatus.WAITING_APPROVAL)
    return run, node


def test_approved_node_is_dispatched(tenant) -> None:
    run, node = waiting_for_approval(tenant)
    assert scheduler.tick(dispatch=lambda ids: None) == 0
    approval_outcomes.apply_approval_outcome(node_id=node.pk, outcome="approved")
    node.refresh_from_db()
    assert node.status == "READY"
    drive()
    run.refresh_from_db()
    assert run.status == "COMPLETED"


def test_rejected_node_fails_the_run_with_the_reason(tenant) -> None:
    run, node = waiting_for_approval(tenant)
    approval_outcomes.apply_approval_outcome(node_id=node.pk, outcome="rejected", reason="too expensive")
    node.refresh_from_db()
    run.refresh_from_db()
    assert node.status == "FAILED"
    assert "too expensive" in node.error
    assert run.status == "FAILED"


def test_rejected_node_with_on_reject_skip_is_skipped_and_the_run_completes(tenant) -> None:
    run, node = waiting_for_approval(tenant, on_reject="skip")
    approval_outcomes.apply_approval_outcome(node_id=node.pk, outcome="rejected", reason="no")
    run.refresh_from_db()
    assert statuses(run) == {"pay": "SKIPPED", "after": "SKIPPED"}
    assert run.status == "COMPLETED"


def test_expired_approval_fails_with_approval_expired(tenant) -> None:
    _run, node = waiting_for_approval(tenant)
    approval_outcomes.apply_approval_outcome(node_id=node.pk, outcome="expired")
    node.refresh_from_db()
    assert node.status == "FAILED"
    assert node.error.startswith("approval_expired")


def test_withdrawn_changes_nothing_and_late_decisions_are_ignored(tenant) -> None:
    run, node = waiting_for_approval(tenant)
    approval_outcomes.apply_approval_outcome(node_id=node.pk, outcome="withdrawn")
    node.refresh_from_db()
    assert node.status == "WAITING_APPROVAL"
    runs.cancel_run(run=run)
    approval_outcomes.apply_approval_outcome(node_id=node.pk, outcome="approved")
    node.refresh_from_db()
    assert node.status == "CANCELLED"


def test_gate_refusal_keeps_the_node_waiting(tenant, monkeypatch) -> None:
    from approvals import gate

    def hold(*, node: WorkflowNode, **_: Any) -> gate.GateResult:
        WorkflowNode.objects.filter(pk=node.pk).update(status=NodeStatus.WAITING_APPROVAL)
        return gate.GateResult(proceed=False)

    monkeypatch.setattr(gate, "check_before_dispatch", hold)
    # A low-risk action is let through by the scheduler without consulting the gate; this one asks for approval.
    run = runs.create_run(tenant=tenant, definition=definition(task("pay", requires_approval=True)))
    runs.start_run(run=run)
    scheduler.tick(dispatch=lambda ids: None)
    assert run.nodes.get(key="pay").status == "WAITING_APPROVAL"
    assert not WorkflowNodeRun.objects.filter(run=run).exists()


def test_claim_refused_means_the_tool_does_not_run(tenant, monkeypatch) -> None:
    from approvals import gate

    monkeypatch.setattr(gate, "check_before_dispatch", lambda *, node, **_: gate.GateResult(True, approval_id="ap-1"))
    monkeypatch.setattr(gate, "claim_execution", lambda **kw: False)
    run = create_and_run(
        tenant, definition(task("pay", "email.send", {"to": "a@example.com", "subject": "s", "body": "b"}))
    )
    assert len(mail.outbox) == 0
    assert run.status == "FAILED"
    assert "approval_already_executed" in WorkflowNodeRun.objects.get(run=run).error


def test_claimed_execution_is_recorded(tenant, make_api_key) -> None:
    from approvals.models import IdempotencyRecord

    run = runs.create_run(tenant=tenant, definition=definition(task("pay", "echo", {"v": 1}, requires_approval=True)))
    runs.start_run(run=run)
    drive()
    assert run.nodes.get(key="pay").status == "WAITING_APPROVAL"
    approval = approve_pending(run, make_api_key)
    drive()
    run.refresh_from_db()
    assert run.status == "COMPLETED"
    attempt = WorkflowNodeRun.objects.get(run=run)
    record = IdempotencyRecord.objects.get(approval=approval)
    assert record.node_run_id == str(attempt.pk)
    assert record.status == "COMPLETED"
    assert record.output == {"v": 1}
    approval.refresh_from_db()
    assert approval.status == "EXECUTED"


def test_low_risk_tasks_are_dispatched_without_consulting_the_gate(tenant, monkeypatch) -> None:
    from approvals import gate

    asked: list[str] = []
    real = gate.check_before_dispatch
    monkeypatch.setattr(
        gate, "check_before_dispatch", lambda *, node, **kw: asked.append(node.key) or real(node=node, **kw)
    )
    run = create_and_run(
        tenant,
        definition(task("low"), task("high", "email.send", {"to": "a@example.com", "subject": "s", "body": "b"})),
    )
    assert asked == ["high"]
    assert statuses(run) == {"low": "COMPLETED", "high": "WAITING_APPROVAL"}


def test_tenant_policy_override_sends_a_low_risk_tool_to_approval(tenant) -> None:
    tenant.risk_policy = {"tools": {"noop": {"level": "HIGH", "reason": "tenant says so"}}}
    tenant.save()
    run = create_and_run(tenant, definition(task("a")))
    assert statuses(run) == {"a": "WAITING_APPROVAL"}


def test_scheduler_disabled_claims_nothing(tenant, settings) -> None:
    settings.SCHEDULER_ENABLED = False
    run = runs.create_run(tenant=tenant, definition=definition(task("a")))
    runs.start_run(run=run)
    assert scheduler.tick(dispatch=lambda ids: None) == 0
    assert run.nodes.get(key="a").status == "READY"


def test_ready_gauge_counts_claimable_nodes(tenant) -> None:
    run = runs.create_run(tenant=tenant, definition=definition(task("a"), task("b")))
    runs.start_run(run=run)
    assert scheduler.ready_node_count() == 2
    from orchestrator.metrics import render_metrics

    assert b"scheduler_ready_nodes 2.0" in render_metrics()


# --- Property: random DAGs through the real services and SQL -----------------------------------------------------


@st.composite
def random_workflows(draw: Any) -> dict[str, Any]:
    size = draw(st.integers(min_value=1, max_value=8))
    keys = [f"n{i}" for i in range(size)]
    nodes: list[dict[str, Any]] = []
    claimed_targets: set[str] = set()
    for i, key in enumerate(keys):
        deps = sorted(draw(st.sets(st.sampled_from(keys[:i]), max_size=2))) if i else []
        later = [k for k in keys[i + 1 :] if k not in claimed_targets]
        kind = draw(st.sampled_from(["ok", "ok", "fail", "decision", "parallel", "wait"]))
        if kind == "decision" and deps and len(later) >= 1:
            targets = draw(st.lists(st.sampled_from(later), min_size=1, max_size=2, unique=True))
            claimed_targets.update(targets)
            node = {
                "key": key,
                "type": "DECISION",
                "depends_on": deps,
                "conditions": [{"when": {"path": f"{deps[0]}.output.v", "op": "eq", "value": 1}, "then": targets[0]}],
                "default": targets[-1] if draw(st.booleans()) else None,
            }
        elif kind == "parallel" and later:
            node = {"key": key, "type": "PARALLEL", "depends_on": deps, "branches": later[:2]}
        elif kind == "wait":
            node = {"key": key, "type": "WAIT", "depends_on": deps, "wait": {"seconds": 0}}
        elif kind == "fail":
            node = task(key, "fail", depends_on=deps, on_failure=draw(st.sampled_from(["fail", "continue"])))
        else:
            node = task(key, "echo", {"v": draw(st.integers(0, 1))}, depends_on=deps)
        nodes.append(node)
    return definition(*nodes)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(random_workflows())
def test_random_workflows_settle_correctly_through_the_database(db, body: dict[str, Any]) -> None:
    tenant = TenantFactory()
    run = create_and_run(tenant, body)
    nodes = {n.key: n for n in run.nodes.all()}
    assert all(n.status in graph.NODE_TERMINAL for n in nodes.values()), {k: n.status for k, n in nodes.items()}
    hard_failures = [n for n in nodes.values() if n.status == "FAILED" and not n.continue_on_failure]
    assert run.status == ("FAILED" if hard_failures else "COMPLETED"), (
        run.status,
        {k: n.status for k, n in nodes.items()},
    )
    for node in nodes.values():
        if node.started_at is None:
            continue
        for dep in node.depends_on:
            assert nodes[dep].status == "COMPLETED", (node.key, dep)
            assert nodes[dep].finished_at <= node.started_at
    if not hard_failures:
        # Without a hard failure nothing was cancelled, and the SQL agrees with the pure resolver.
        states = {
            k: graph.NodeState(
                n.type, n.depends_on, "PENDING" if n.status == "SKIPPED" else n.status, n.config, n.output
            )
            for k, n in nodes.items()
        }
        predicted = graph.resolve(states)
        assert {k for k, s in predicted.items() if s == "SKIPPED"} == {
            k for k, n in nodes.items() if n.status == "SKIPPED"
        }


@pytest.mark.django_db(transaction=True)
def test_worker_continues_with_one_successor_and_hands_out_the_rest(monkeypatch) -> None:
    sent: list[str] = []
    monkeypatch.setattr(wakeups, "dispatch_to_executors", sent.extend)
    monkeypatch.setattr(wakeups, "enqueue_tick", lambda countdown=None: None)
    run = runs.create_run(
        tenant=TenantFactory(),
        definition=definition(
            task("a"), task("b1", depends_on=["a"]), task("b2", depends_on=["a"]), task("c", depends_on=["b1", "b2"])
        ),
    )
    runs.start_run(run=run)
    scheduler.tick(dispatch=lambda ids: None)
    first = WorkflowNodeRun.objects.get(run=run, node__key="a")
    runner.execute_in_worker(str(first.pk))
    # a ran, then one of b1/b2 ran in-process; the other was handed to the executor queue.
    ran = list(WorkflowNodeRun.objects.filter(run=run, status="COMPLETED").values_list("node__key", flat=True))
    assert sorted(ran)[0] == "a"
    assert len(ran) == 2
    assert len(sent) == 1
    runner.execute_in_worker(sent[0])  # the other worker: runs its branch, then the join in-process
    run.refresh_from_db()
    assert run.status == "COMPLETED"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_worker_continues_with_a_prestarted_successor_exactly_once(monkeypatch) -> None:
    """A worker that completes a node claims its successors in the same transaction; the first one is created
    already started by that worker and runs next in-process (no message), the others go to the queue."""
    tenant = TenantFactory()
    sent: list[str] = []
    monkeypatch.setattr(wakeups, "dispatch_to_executors", sent.extend)
    run = runs.create_run(
        tenant=tenant,
        definition=definition(
            task("a"), task("b", depends_on=["a"]), task("c1", depends_on=["b"]), task("c2", depends_on=["b"])
        ),
    )
    runs.start_run(run=run)
    scheduler.tick(dispatch=lambda ids: None)
    first = WorkflowNodeRun.objects.get(run=run, node__key="a")
    assert runner.execute_in_worker(str(first.pk)) == "completed"
    attempts = {a.node.key: a for a in WorkflowNodeRun.objects.filter(run=run).select_related("node")}
    # a, b and one of c1/c2 ran here; the other c was handed to the executor queue, not started.
    assert len(sent) == 1
    queued = WorkflowNodeRun.objects.get(pk=sent[0])
    assert queued.lease_owner == "" and queued.status == "RUNNING"
    ran_here = [a for a in attempts.values() if a.status == "COMPLETED"]
    assert len(ran_here) == 3
    assert {a.lease_owner for a in ran_here} == {runner.worker_identity()}
    assert all(a.attempt == 1 for a in attempts.values())
    assert runner.execute(str(ran_here[1].pk)) == "duplicate"  # a prestarted attempt cannot be taken twice
    assert runner.execute(sent[0]) == "completed"
    run.refresh_from_db()
    assert run.status == "COMPLETED"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_batch_message_takes_its_attempts_in_one_statement_and_runs_each_once(monkeypatch) -> None:
    tenant = TenantFactory()
    monkeypatch.setattr(wakeups, "dispatch_to_executors", lambda ids: None)
    run = runs.create_run(tenant=tenant, definition=definition(*[task(f"t{i}") for i in range(5)]))
    runs.start_run(run=run)
    scheduler.tick(batch_size=10, dispatch=lambda ids: None)
    ids = [str(i) for i in WorkflowNodeRun.objects.filter(run=run).values_list("id", flat=True)]
    taken_elsewhere = ids[0]
    assert runner.execute(taken_elsewhere) == "completed"
    from django.db import connection as db

    with CaptureQueriesContext(db) as queries:
        outcomes = runner.execute_batch(ids)
    assert outcomes[0] == "duplicate"
    assert outcomes[1:] == ["completed"] * 4
    starts = [q for q in queries.captured_queries if 'SET "lease_owner"' in q["sql"]]
    assert len(starts) == 1
    assert runner.execute_batch(ids) == ["duplicate"] * 5
    run.refresh_from_db()
    assert run.status == "COMPLETED"
