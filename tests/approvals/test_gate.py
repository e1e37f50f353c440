"""The scheduler gate and the execution guard, without concurrency (that is test_exactly_once.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from approvals import execution, services
from approvals.errors import ActionMismatch, AlreadyExecuted, ApprovalExpired, ApprovalNotApproved
from approvals.gate import check_before_dispatch, claim_execution, record_execution_result
from approvals.models import ApprovalRequest, ApprovalSource, ApprovalStatus, ExecutionStatus, IdempotencyRecord
from audit.models import AuditLog
from orchestrator import metrics
from orchestrator.models import NodeStatus, RunStatus, Scope, WorkflowNode, WorkflowNodeRun

pytestmark = pytest.mark.django_db


def test_low_risk_task_proceeds_without_a_request(tenant, make_run) -> None:
    _, node, _ = make_run(tenant, tool="echo", params={"a": 1}, node_status=NodeStatus.READY, with_node_run=False)
    assert check_before_dispatch(node=node).proceed is True
    assert not ApprovalRequest.objects.exists()


def test_high_risk_task_waits_for_approval_with_a_request_by_the_run_starter(tenant, make_run) -> None:
    starter = {"type": "user", "id": "42", "display": "alice"}
    _, node, _ = make_run(tenant, node_status=NodeStatus.READY, with_node_run=False, started_by=starter)
    result = check_before_dispatch(node=node)
    assert result.proceed is False and result.approval_id is None
    node.refresh_from_db()
    assert node.status == NodeStatus.WAITING_APPROVAL
    approval = ApprovalRequest.objects.get(node=node)
    assert approval.source == ApprovalSource.SCHEDULER
    assert approval.requested_by == starter
    assert AuditLog.objects.filter(action="approval.requested", resource_id=str(approval.pk)).count() == 1


def test_requires_approval_flag_gates_a_low_risk_task(tenant, make_run) -> None:
    _, node, _ = make_run(
        tenant,
        tool="noop",
        params={},
        node_status=NodeStatus.READY,
        with_node_run=False,
        extra_config={"requires_approval": True},
    )
    assert check_before_dispatch(node=node).proceed is False


def test_gate_twice_reuses_the_request(tenant, make_run) -> None:
    _, node, _ = make_run(tenant, node_status=NodeStatus.READY, with_node_run=False)
    check_before_dispatch(node=node)
    check_before_dispatch(node=node)
    assert ApprovalRequest.objects.filter(node=node).count() == 1
    assert AuditLog.objects.filter(action="approval.requested").count() == 1


def test_gate_leaves_a_cancelled_node_alone(tenant, make_run) -> None:
    _, node, _ = make_run(tenant, node_status=NodeStatus.CANCELLED, with_node_run=False)
    assert check_before_dispatch(node=node).proceed is False
    assert not ApprovalRequest.objects.exists()


def test_approved_action_proceeds_with_its_approval_id_and_hash(tenant, make_run, reviewer, hook_calls) -> None:
    _, node, _ = make_run(tenant, node_status=NodeStatus.READY, with_node_run=False)
    check_before_dispatch(node=node)
    approval = ApprovalRequest.objects.get(node=node)
    services.decide_approval(caller=reviewer, approval=approval, decision="approve")
    assert hook_calls[-1]["outcome"] == "approved"
    # What the engine's listener does with the outcome: the node is READY again and holds the approval's id.
    WorkflowNode.objects.filter(pk=node.pk).update(status=NodeStatus.READY, approval_id=str(approval.pk))
    node.refresh_from_db()
    result = check_before_dispatch(node=node)
    assert (result.proceed, result.approval_id, result.action_hash) == (True, str(approval.pk), approval.action_hash)


def test_approval_past_its_validity_is_not_used_and_a_new_request_is_made(
    tenant, make_run, reviewer, hook_calls
) -> None:
    _, node, _ = make_run(tenant, node_status=NodeStatus.READY, with_node_run=False)
    check_before_dispatch(node=node)
    approval = ApprovalRequest.objects.get(node=node)
    services.decide_approval(caller=reviewer, approval=approval, decision="approve")
    WorkflowNode.objects.filter(pk=node.pk).update(status=NodeStatus.READY)
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        assert check_before_dispatch(node=node).proceed is False
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.EXPIRED
    assert ApprovalRequest.objects.filter(node=node, status="PENDING").count() == 1


def test_changed_action_needs_a_new_approval(tenant, make_run, reviewer, hook_calls) -> None:
    _, node, _ = make_run(tenant, node_status=NodeStatus.READY, with_node_run=False)
    check_before_dispatch(node=node)
    services.decide_approval(caller=reviewer, approval=ApprovalRequest.objects.get(node=node), decision="approve")
    node.config = {"action": {"tool": "email.send", "params": {"to": "someone-else@example.com"}}}
    node.status = NodeStatus.READY
    node.save()
    assert check_before_dispatch(node=node).proceed is False
    assert ApprovalRequest.objects.filter(node=node).count() == 2


@pytest.fixture
def approved(tenant, make_run, make_caller, reviewer):
    """An APPROVED service request (case b) with its run, node and node run."""
    run, node, node_run = make_run(tenant)
    requester = make_caller(tenant, scopes=[Scope.APPROVALS_REQUEST])
    approval = services.request_action_approval(
        caller=requester, workflow_id=run.pk, node_key=node.key, tool="email.send", params={"to": "a@example.com"}
    ).approval
    services.decide_approval(caller=reviewer, approval=approval, decision="approve")
    return approval, node_run


ACTION = {"tool": "email.send", "params": {"to": "a@example.com"}}


def test_claim_execution_is_true_exactly_once(approved) -> None:
    approval, node_run = approved
    checks = metrics.idempotency_checks_total.labels(result="replay")
    before = checks._value.get()
    assert claim_execution(approval_id=str(approval.pk), node_run_id=str(node_run.pk), action=ACTION) is True
    assert claim_execution(approval_id=str(approval.pk), node_run_id=str(node_run.pk), action=ACTION) is False
    assert checks._value.get() == before + 1
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.EXECUTED
    record = IdempotencyRecord.objects.get(approval=approval)
    assert (record.status, record.node_run_id, record.action_hash) == (
        ExecutionStatus.IN_PROGRESS,
        str(node_run.pk),
        approval.action_hash,
    )
    assert AuditLog.objects.filter(action="approval.executed", resource_id=str(approval.pk)).count() == 1


def test_claim_from_a_retry_node_run_is_refused(approved) -> None:
    approval, node_run = approved
    retry = WorkflowNodeRun.objects.create(node=node_run.node, run=node_run.run, attempt=2)
    assert claim_execution(approval_id=str(approval.pk), node_run_id=str(node_run.pk), action=ACTION) is True
    assert claim_execution(approval_id=str(approval.pk), node_run_id=str(retry.pk), action=ACTION) is False


def test_changed_action_is_refused_and_counted_as_mismatch(approved) -> None:
    approval, node_run = approved
    mismatch = metrics.idempotency_checks_total.labels(result="mismatch")
    before = mismatch._value.get()
    changed = {"tool": "email.send", "params": {"to": "a@example.com", "bcc": "spy@example.com"}}
    assert claim_execution(approval_id=str(approval.pk), node_run_id=str(node_run.pk), action=changed) is False
    assert mismatch._value.get() == before + 1
    with pytest.raises(ActionMismatch):
        execution.execute_approval(approval_id=approval.pk, action=changed)
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.APPROVED  # still executable with the right action


def test_claim_for_another_nodes_node_run_is_refused(approved, tenant, make_run) -> None:
    approval, _ = approved
    _, _, foreign = make_run(tenant, key="other")
    assert claim_execution(approval_id=str(approval.pk), node_run_id=str(foreign.pk), action=ACTION) is False


def test_claim_of_pending_rejected_or_unknown_requests_is_refused(tenant, make_run, make_caller) -> None:
    run, node, node_run = make_run(tenant)
    requester = make_caller(tenant, scopes=[Scope.APPROVALS_REQUEST])
    approval = services.request_action_approval(
        caller=requester, workflow_id=run.pk, node_key=node.key, tool="email.send", params={"to": "a@example.com"}
    ).approval
    assert claim_execution(approval_id=str(approval.pk), node_run_id=str(node_run.pk), action=ACTION) is False
    with pytest.raises(ApprovalNotApproved):
        execution.execute_approval(approval_id=approval.pk)
    assert claim_execution(approval_id="00000000-0000-0000-0000-000000000000", node_run_id="", action=ACTION) is False


def test_claim_after_the_validity_window_is_expired(approved) -> None:
    approval, node_run = approved
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        assert claim_execution(approval_id=str(approval.pk), node_run_id=str(node_run.pk), action=ACTION) is False
        with pytest.raises(ApprovalExpired):
            execution.execute_approval(approval_id=approval.pk)
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.EXPIRED


def test_claim_in_a_cancelled_run_is_refused(approved) -> None:
    approval, node_run = approved
    node_run.run.status = RunStatus.CANCELLED
    node_run.run.save()
    assert claim_execution(approval_id=str(approval.pk), node_run_id=str(node_run.pk), action=ACTION) is False


def test_result_is_recorded_once_and_the_first_report_wins(approved) -> None:
    approval, node_run = approved
    claim_execution(approval_id=str(approval.pk), node_run_id=str(node_run.pk), action=ACTION)
    record_execution_result(
        approval_id=str(approval.pk), node_run_id=str(node_run.pk), succeeded=True, output={"id": 7}
    )
    record_execution_result(approval_id=str(approval.pk), node_run_id=str(node_run.pk), succeeded=False, error="late")
    record = IdempotencyRecord.objects.get(approval=approval)
    assert (record.status, record.output, record.error) == (ExecutionStatus.COMPLETED, {"id": 7}, "")
    with pytest.raises(AlreadyExecuted) as excinfo:
        execution.execute_approval(approval_id=approval.pk)
    assert excinfo.value.extra["execution"]["status"] == "COMPLETED"


def test_pruning_keeps_in_progress_records_and_never_reenables_execution(approved) -> None:
    approval, node_run = approved
    claim_execution(approval_id=str(approval.pk), node_run_id=str(node_run.pk), action=ACTION)
    later = timezone.now() + timedelta(hours=25)
    assert execution.prune_execution_records(now=later) == 0  # IN_PROGRESS stays for an operator
    record_execution_result(approval_id=str(approval.pk), node_run_id=str(node_run.pk), succeeded=True)
    assert execution.prune_execution_records(now=later) == 1
    assert claim_execution(approval_id=str(approval.pk), node_run_id=str(node_run.pk), action=ACTION) is False


def test_operator_resolves_a_stuck_execution(approved) -> None:
    approval, node_run = approved
    claim_execution(approval_id=str(approval.pk), node_run_id=str(node_run.pk), action=ACTION)
    record = IdempotencyRecord.objects.get(approval=approval)
    resolved = execution.resolve_stuck_execution(record=record, succeeded=False, note="ops: mail never left")
    assert resolved.status == ExecutionStatus.FAILED and "ops" in resolved.error
