"""The gate with the real engine listening on ``approvals.outcomes.decided``."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from approvals import services
from approvals.errors import ApprovalExpired
from approvals.gate import check_before_dispatch, withdraw_for_run
from approvals.models import ApprovalRequest
from orchestrator.models import NodeStatus, NodeType, RunStatus, WorkflowNode, WorkflowNodeRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def waiting(tenant, make_run):
    def make(**config):
        run, node, _ = make_run(tenant, node_status=NodeStatus.READY, with_node_run=False, extra_config=config)
        WorkflowNode.objects.create(
            run=run,
            key="after",
            type=NodeType.TASK,
            depends_on=["send"],
            pending_dependencies=1,
            config={"action": {"tool": "noop", "params": {}}},
        )
        assert check_before_dispatch(node=node).proceed is False
        node.refresh_from_db()
        assert node.status == NodeStatus.WAITING_APPROVAL
        return run, node, ApprovalRequest.objects.get(node=node)

    return make


def test_approval_dispatches_the_node_in_the_deciding_transaction(waiting, reviewer) -> None:
    """Issue 22: the approving transaction claims the node itself (no scheduler tick in between): RUNNING, one
    attempt that executes this approval."""
    _run, node, approval = waiting()
    services.decide_approval(caller=reviewer, approval=approval, decision="approve")
    node.refresh_from_db()
    assert node.status == NodeStatus.RUNNING and node.approval_id == str(approval.pk) and node.attempts == 1
    attempt = WorkflowNodeRun.objects.get(node=node)
    assert attempt.status == "RUNNING" and attempt.approval_id == str(approval.pk) and attempt.lease_owner == ""
    assert attempt.input == node.config["action"]


def test_approval_leaves_the_node_ready_for_the_gate_when_the_scheduler_is_off(waiting, reviewer, settings) -> None:
    _run, node, approval = waiting()
    settings.SCHEDULER_ENABLED = False
    services.decide_approval(caller=reviewer, approval=approval, decision="approve")
    node.refresh_from_db()
    assert node.status == NodeStatus.READY and not WorkflowNodeRun.objects.filter(node=node).exists()
    result = check_before_dispatch(node=node)
    assert result.proceed is True and result.approval_id == str(approval.pk)


def test_approval_of_an_action_that_changed_leaves_the_node_to_the_gate(waiting, reviewer) -> None:
    """The node's action no longer hashes to the approved one: not claimed here; the gate asks afresh."""
    _run, node, approval = waiting()
    config = {**node.config, "action": {**node.config["action"], "params": {"to": "someone-else@example.com"}}}
    WorkflowNode.objects.filter(pk=node.pk).update(config=config)
    services.decide_approval(caller=reviewer, approval=approval, decision="approve")
    node.refresh_from_db()
    assert node.status == NodeStatus.READY and not WorkflowNodeRun.objects.filter(node=node).exists()
    assert check_before_dispatch(node=node).proceed is False


def test_rejection_fails_the_node_with_the_reason_and_the_run(waiting, reviewer) -> None:
    run, node, approval = waiting()
    services.decide_approval(caller=reviewer, approval=approval, decision="reject", reason="wrong customer")
    node.refresh_from_db()
    run.refresh_from_db()
    assert node.status == NodeStatus.FAILED and "wrong customer" in node.error
    assert run.status == RunStatus.FAILED


def test_rejection_skips_the_node_when_it_says_on_reject_skip(waiting, reviewer) -> None:
    _run, node, approval = waiting(on_reject="skip")
    services.decide_approval(caller=reviewer, approval=approval, decision="reject", reason="not needed")
    node.refresh_from_db()
    assert node.status == NodeStatus.SKIPPED


def test_expiry_fails_the_node_with_approval_expired_and_the_run_follows(waiting, reviewer) -> None:
    run, node, approval = waiting()
    with time_machine.travel(timezone.now() + timedelta(minutes=61)), pytest.raises(ApprovalExpired):
        services.decide_approval(caller=reviewer, approval=approval, decision="approve")
    node.refresh_from_db()
    run.refresh_from_db()
    assert node.status == NodeStatus.FAILED and "approval_expired" in node.error
    assert run.status == RunStatus.FAILED


def test_periodic_expiry_fails_the_waiting_node(waiting) -> None:
    _run, node, _approval = waiting(on_failure="continue")
    assert services.expire_overdue_approvals(now=timezone.now() + timedelta(hours=2)) == 1
    node.refresh_from_db()
    assert node.status == NodeStatus.FAILED and "approval_expired" in node.error


def test_cancelling_the_run_withdraws_pending_requests(waiting) -> None:
    run, _node, approval = waiting()
    assert withdraw_for_run(run_id=run.pk) == 1
    approval.refresh_from_db()
    assert approval.status == "WITHDRAWN"
