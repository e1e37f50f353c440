"""Issue 22: the transaction that approves a waiting node claims it itself (no scheduler tick between the approval
and the executor). Exactly once under real races on PostgreSQL: each party is a thread with its own connection,
released together (``run_concurrently``); the executor messages are collected instead of sent."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from approvals import services
from approvals.gate import check_before_dispatch, claim_execution
from approvals.models import ApprovalRequest
from orchestrator import scheduler, wakeups
from orchestrator.models import NodeStatus, Role, WorkflowNode, WorkflowNodeRun
from tests.approvals.helpers import run_concurrently

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The attempt ids handed to the executor queue after commit (by a decide or by a tick)."""
    ids: list[str] = []
    monkeypatch.setattr(wakeups, "dispatch_to_executors", lambda node_run_ids: ids.extend(node_run_ids))
    monkeypatch.setattr(wakeups, "enqueue_tick", lambda countdown=None: None)  # ticks are run by the tests
    return ids


@pytest.fixture
def waiting_node(tenant, make_run):
    """A TASK the scheduler's gate parked in WAITING_APPROVAL, with its PENDING request (source SCHEDULER)."""

    def make(**policy: Any) -> tuple[WorkflowNode, ApprovalRequest]:
        if policy:
            tenant.risk_policy = policy
            tenant.save()
        _run, node, _ = make_run(tenant, node_status=NodeStatus.READY, with_node_run=False)
        assert check_before_dispatch(node=node).proceed is False
        node.refresh_from_db()
        assert node.status == NodeStatus.WAITING_APPROVAL
        return node, ApprovalRequest.objects.get(node=node)

    return make


def _decide(caller: Any, approval: ApprovalRequest) -> str:
    try:
        return services.decide_approval(caller=caller, approval=approval, decision="approve").status
    except Exception as exc:
        return type(exc).__name__


def test_racing_approvers_dispatch_the_node_once(tenant, waiting_node, make_caller, sent) -> None:
    node, approval = waiting_node(required_approvers={"HIGH": 2})
    reviewers = [make_caller(tenant, role=Role.REVIEWER) for _ in range(12)]
    results = run_concurrently([lambda c=c: _decide(c, approval) for c in reviewers])
    assert Counter(results) == {"PENDING": 1, "APPROVED": 1, "ApprovalNotPending": 10}, results
    node.refresh_from_db()
    attempts = list(WorkflowNodeRun.objects.filter(node=node))
    assert node.status == NodeStatus.RUNNING and node.attempts == 1 and len(attempts) == 1
    assert attempts[0].approval_id == str(approval.pk)
    assert sent == [str(attempts[0].pk)]


def test_approve_racing_expiry_either_dispatches_or_fails_never_both(tenant, waiting_node, reviewer, sent) -> None:
    """The sweep thinks the request is overdue (its clock is 6 minutes ahead), the decider does not: whichever
    locks the row first wins, and the node ends RUNNING with one attempt or FAILED with none."""
    outcomes: Counter[str] = Counter()
    for _ in range(6):
        node, approval = waiting_node()
        ApprovalRequest.objects.filter(pk=approval.pk).update(expires_at=timezone.now() + timedelta(minutes=5))
        approval.refresh_from_db()
        later = timezone.now() + timedelta(minutes=6)
        swept, decided = run_concurrently(
            [lambda t=later: services.expire_overdue_approvals(now=t), lambda a=approval: _decide(reviewer, a)]
        )
        node.refresh_from_db()
        approval.refresh_from_db()
        attempts = WorkflowNodeRun.objects.filter(node=node).count()
        if decided == "APPROVED":
            assert swept == 0 and approval.status == "APPROVED"
            assert node.status == NodeStatus.RUNNING and attempts == 1
        else:
            assert decided in ("ApprovalExpired", "ApprovalNotPending") and swept == 1, (decided, swept)
            assert approval.status == "EXPIRED" and node.status == NodeStatus.FAILED and attempts == 0
        outcomes[decided] += 1
    assert len(sent) == outcomes["APPROVED"]


def test_approve_racing_scheduler_ticks_creates_one_attempt(tenant, waiting_node, reviewer, sent) -> None:
    """Ticks running throughout the approval never claim the node a second time (it is READY only inside the
    deciding transaction, under its row lock), and the single attempt may claim the execution once."""
    for _ in range(4):
        node, approval = waiting_node()
        before = len(sent)

        def ticks() -> int:
            return sum(scheduler.tick() for _ in range(15))

        results = run_concurrently([ticks, ticks, lambda a=approval: _decide(reviewer, a), ticks])
        assert results[2] == "APPROVED", results
        assert scheduler.tick() == 0  # nothing left for a tick to claim
        node.refresh_from_db()
        attempts = list(WorkflowNodeRun.objects.filter(node=node))
        assert node.status == NodeStatus.RUNNING and node.attempts == 1 and len(attempts) == 1
        assert sent[before:] == [str(attempts[0].pk)]
        action = node.config["action"]
        assert claim_execution(approval_id=str(approval.pk), node_run_id=str(attempts[0].pk), action=action)
        assert not claim_execution(approval_id=str(approval.pk), node_run_id=str(attempts[0].pk), action=action)


def test_a_node_left_ready_is_claimed_by_exactly_one_racing_tick(waiting_node, reviewer, sent, settings) -> None:
    """The safety net: when the approval does not claim the node (here the scheduler was off at that moment),
    racing ticks claim it exactly once, with the approval handed to the attempt."""
    node, approval = waiting_node()
    settings.SCHEDULER_ENABLED = False
    assert _decide(reviewer, approval) == "APPROVED"
    node.refresh_from_db()
    assert node.status == NodeStatus.READY and not sent
    settings.SCHEDULER_ENABLED = True
    claimed = run_concurrently([scheduler.tick for _ in range(6)])
    assert sum(claimed) == 1, claimed
    attempt = WorkflowNodeRun.objects.get(node=node)
    assert attempt.approval_id == str(approval.pk) and sent == [str(attempt.pk)]
