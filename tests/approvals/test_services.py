"""Services: asking (case b), deciding, quorum, separation of duties, expiry, validity, withdrawal, events."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from approvals import services
from approvals.errors import AlreadyDecided, ApprovalExpired, ApprovalNotPending, SelfApprovalForbidden
from approvals.gate import withdraw_for_run
from approvals.hashing import action_hash
from approvals.models import ApprovalRequest, ApprovalSource, ApprovalStatus
from audit.models import AuditLog
from orchestrator import metrics
from orchestrator.lib.errors import InvalidInput, InvalidStateError, NotFoundError, PermissionDeniedError
from orchestrator.models import NodeStatus, Role, RunStatus, Scope

pytestmark = pytest.mark.django_db


@pytest.fixture
def requester(tenant, make_caller):
    return make_caller(tenant, scopes=[Scope.APPROVALS_REQUEST])


def ask(requester, run, node, tool="email.send", params=None):
    return services.request_action_approval(
        caller=requester,
        workflow_id=run.pk,
        node_key=node.key,
        tool=tool,
        params=params if params is not None else {"to": "ceo@example.com", "subject": "Q3"},
        request_context={"agent": "invoice-bot"},
        reasoning="the customer asked for the report",
    )


def test_high_risk_action_creates_a_pending_request_with_full_record(tenant, make_run, requester) -> None:
    run, node, node_run = make_run(tenant)
    result = ask(requester, run, node)
    approval = result.approval
    assert result.created is True
    assert approval.status == ApprovalStatus.PENDING
    assert (approval.tenant_id, approval.run_id, approval.node_id, approval.node_run_id) == (
        tenant.pk,
        run.pk,
        node.pk,
        node_run.pk,
    )
    assert approval.source == ApprovalSource.SERVICE
    assert approval.risk_level == "HIGH" and approval.risk_reasons
    assert approval.requested_by == requester.actor.as_dict()
    assert approval.action_hash == action_hash(
        tenant_id=tenant.pk, run_id=run.pk, node_key="send", tool="email.send", params=approval.params
    )
    assert len(approval.action_hash) == 64
    assert "ceo@example.com" in approval.summary and "Q3" in approval.preview
    assert approval.expires_at - approval.created_at == timedelta(minutes=60)


def test_asking_again_for_the_same_action_returns_the_same_request(tenant, make_run, requester) -> None:
    run, node, _ = make_run(tenant)
    first = ask(requester, run, node)
    again = ask(requester, run, node, params={"subject": "Q3", "to": "ceo@example.com"})  # key order irrelevant
    assert again.created is False and again.approval.pk == first.approval.pk
    other = ask(requester, run, node, params={"to": "ceo@example.com", "subject": "Q4"})
    assert other.created is True and other.approval.pk != first.approval.pk


def test_low_risk_action_needs_no_request(tenant, make_run, requester) -> None:
    run, node, _ = make_run(tenant)
    result = ask(requester, run, node, tool="http.request", params={"method": "GET", "url": "https://x"})
    assert result.approval is None and result.assessment.level == "LOW"
    assert not ApprovalRequest.objects.exists()


def test_asking_outside_a_running_node_is_invalid_state(tenant, make_run, requester) -> None:
    run, node, _ = make_run(tenant, node_status=NodeStatus.COMPLETED)
    with pytest.raises(InvalidStateError):
        ask(requester, run, node)


def test_asking_about_another_tenants_run_is_not_found(tenant, other_tenant, make_run, requester) -> None:
    run, node, _ = make_run(other_tenant)
    with pytest.raises(NotFoundError):
        ask(requester, run, node)


def test_asking_with_unknown_node_key_is_a_validation_error(tenant, make_run, requester) -> None:
    run, node, _ = make_run(tenant)
    node.key = "nope"
    with pytest.raises(InvalidInput) as excinfo:
        ask(requester, run, node)
    assert excinfo.value.errors[0]["field"] == "node_key"


def test_one_approval_approves_and_sets_the_validity_window(tenant, make_run, requester, reviewer) -> None:
    run, node, _ = make_run(tenant)
    approval = ask(requester, run, node).approval
    decided = services.decide_approval(caller=reviewer, approval=approval, decision="approve", reason="")
    assert decided.status == ApprovalStatus.APPROVED
    assert decided.valid_until - decided.decided_at == timedelta(minutes=60)


def test_reject_needs_a_reason(tenant, make_run, requester, reviewer) -> None:
    run, node, _ = make_run(tenant)
    approval = ask(requester, run, node).approval
    with pytest.raises(InvalidInput):
        services.decide_approval(caller=reviewer, approval=approval, decision="reject", reason="   ")
    decided = services.decide_approval(caller=reviewer, approval=approval, decision="reject", reason="wrong client")
    assert decided.status == ApprovalStatus.REJECTED and decided.decision_reason == "wrong client"


def test_requester_cannot_decide_their_own_request(tenant, make_run, make_caller) -> None:
    both = make_caller(tenant, scopes=[Scope.APPROVALS_REQUEST, Scope.APPROVALS_DECIDE])
    run, node, _ = make_run(tenant)
    approval = ask(both, run, node).approval
    with pytest.raises(SelfApprovalForbidden):
        services.decide_approval(caller=both, approval=approval, decision="approve")


def test_viewer_cannot_decide(tenant, make_run, requester, make_caller) -> None:
    run, node, _ = make_run(tenant)
    approval = ask(requester, run, node).approval
    with pytest.raises(PermissionDeniedError):
        services.decide_approval(caller=make_caller(tenant, role=Role.VIEWER), approval=approval, decision="approve")


def test_quorum_of_two_needs_two_distinct_approvers(tenant, make_run, requester, make_caller) -> None:
    tenant.risk_policy = {"required_approvers": {"HIGH": 2}}
    tenant.save()
    run, node, _ = make_run(tenant)
    approval = ask(requester, run, node).approval
    assert approval.required_approvals == 2
    first, second = make_caller(tenant, role=Role.REVIEWER), make_caller(tenant, role=Role.OPERATOR)
    assert services.decide_approval(caller=first, approval=approval, decision="approve").status == "PENDING"
    with pytest.raises(AlreadyDecided):
        services.decide_approval(caller=first, approval=approval, decision="approve")
    assert services.decide_approval(caller=second, approval=approval, decision="approve").status == "APPROVED"
    assert approval.decisions.count() == 2


def test_one_rejection_rejects_a_quorum_request(tenant, make_run, requester, make_caller) -> None:
    tenant.risk_policy = {"required_approvers": {"HIGH": 2}}
    tenant.save()
    run, node, _ = make_run(tenant)
    approval = ask(requester, run, node).approval
    services.decide_approval(caller=make_caller(tenant, role=Role.REVIEWER), approval=approval, decision="approve")
    decided = services.decide_approval(
        caller=make_caller(tenant, role=Role.REVIEWER), approval=approval, decision="reject", reason="no"
    )
    assert decided.status == ApprovalStatus.REJECTED


def test_deciding_a_decided_request_is_not_pending(tenant, make_run, requester, reviewer, make_caller) -> None:
    run, node, _ = make_run(tenant)
    approval = ask(requester, run, node).approval
    services.decide_approval(caller=reviewer, approval=approval, decision="approve")
    with pytest.raises(ApprovalNotPending):
        services.decide_approval(
            caller=make_caller(tenant, role=Role.REVIEWER), approval=approval, decision="reject", reason="late"
        )


def test_overdue_request_refuses_decisions_with_expired_before_the_periodic_task(
    tenant, make_run, requester, reviewer
) -> None:
    run, node, _ = make_run(tenant)
    approval = ask(requester, run, node).approval
    with time_machine.travel(timezone.now() + timedelta(minutes=61)), pytest.raises(ApprovalExpired):
        services.decide_approval(caller=reviewer, approval=approval, decision="approve")
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.EXPIRED  # the expiry was committed, not rolled back with the 410
    assert AuditLog.objects.filter(action="approval.expired", resource_id=str(approval.pk)).count() == 1
    with pytest.raises(ApprovalExpired):
        services.decide_approval(caller=reviewer, approval=approval, decision="approve")


def test_periodic_expiry_expires_pending_and_unused_approved_requests(tenant, make_run, requester, reviewer) -> None:
    run, node, _ = make_run(tenant)
    pending = ask(requester, run, node).approval
    approved = ask(requester, run, node, params={"to": "x@example.com"}).approval
    services.decide_approval(caller=reviewer, approval=approved, decision="approve")
    now = timezone.now()
    assert services.expire_overdue_approvals(now=now + timedelta(minutes=30)) == 0
    assert services.expire_overdue_approvals(now=now + timedelta(minutes=61)) == 2
    assert services.expire_overdue_approvals(now=now + timedelta(minutes=62)) == 0
    pending.refresh_from_db()
    approved.refresh_from_db()
    assert (pending.status, approved.status) == ("EXPIRED", "EXPIRED")


def test_expired_request_does_not_block_a_new_request_for_the_same_action(tenant, make_run, requester) -> None:
    run, node, _ = make_run(tenant)
    first = ask(requester, run, node).approval
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        again = ask(requester, run, node)
    assert again.created is True and again.approval.pk != first.pk
    first.refresh_from_db()
    assert first.status == ApprovalStatus.EXPIRED


def test_withdraw_for_run_withdraws_only_pending_requests(tenant, make_run, requester, reviewer) -> None:
    run, node, _ = make_run(tenant)
    pending = ask(requester, run, node).approval
    approved = ask(requester, run, node, params={"to": "x@example.com"}).approval
    services.decide_approval(caller=reviewer, approval=approved, decision="approve")
    assert withdraw_for_run(run_id=run.pk) == 1
    pending.refresh_from_db()
    approved.refresh_from_db()
    assert (pending.status, approved.status) == ("WITHDRAWN", "APPROVED")
    with pytest.raises(ApprovalNotPending):
        services.decide_approval(caller=reviewer, approval=pending, decision="approve")


def test_admin_expiry_expires_a_live_request_and_refuses_a_final_one(tenant, make_run, requester) -> None:
    run, node, _ = make_run(tenant)
    approval = ask(requester, run, node).approval
    assert services.expire_approval(approval=approval, actor=requester.actor).status == "EXPIRED"
    with pytest.raises(ApprovalNotPending):
        services.expire_approval(approval=approval, actor=requester.actor)


def _data(action: str, approval: ApprovalRequest) -> dict[str, Any]:
    entry = AuditLog.objects.get(action=action, resource_type="approval", resource_id=str(approval.pk))
    return entry.metadata["data"]


def test_events_carry_the_spec_payload(tenant, make_run, requester, reviewer, settings) -> None:
    settings.CONSOLE_BASE_URL = "https://console.example.com"
    run, node, _ = make_run(tenant)
    approval = ask(requester, run, node).approval
    requested = _data("approval.requested", approval)
    for key in ("approval_id", "run_id", "node_key", "tool", "risk_level", "summary", "decision", "console_url"):
        assert key in requested
    assert requested["console_url"] == f"https://console.example.com/console/approvals/{approval.pk}/"
    assert requested["decision"] is None and requested["node_key"] == "send"
    services.decide_approval(caller=reviewer, approval=approval, decision="approve", reason="fine")
    approved = _data("approval.approved", approval)
    assert approved["decision"]["by"] == reviewer.actor.as_dict()
    assert approved["decision"]["reason"] == "fine" and approved["decision"]["at"]
    entry = AuditLog.objects.get(action="approval.approved", resource_id=str(approval.pk))
    assert (entry.actor_type, entry.actor_id) == ("user", reviewer.id)
    assert entry.before == {"status": "PENDING"} and entry.after == {"status": "APPROVED"}


def test_decision_metrics_are_counted_on_commit(
    tenant, make_run, requester, reviewer, django_capture_on_commit_callbacks
) -> None:
    counter = metrics.approvals_total.labels(status="REJECTED", risk_level="HIGH")
    latency = metrics.approval_latency_seconds.labels(status="REJECTED")
    before, before_latency = counter._value.get(), latency._sum.get()
    run, node, _ = make_run(tenant)
    approval = ask(requester, run, node).approval
    later = timezone.now() + timedelta(seconds=30)
    with django_capture_on_commit_callbacks(execute=True), time_machine.travel(later):
        services.decide_approval(caller=reviewer, approval=approval, decision="reject", reason="no")
    assert counter._value.get() == before + 1
    assert latency._sum.get() - before_latency >= 29


def test_decision_on_a_scheduler_request_calls_the_engine_hook(tenant, make_run, reviewer, hook_calls) -> None:
    from approvals.gate import check_before_dispatch

    _run, node, _ = make_run(tenant, node_status=NodeStatus.READY, with_node_run=False)
    assert check_before_dispatch(node=node).proceed is False
    approval = ApprovalRequest.objects.get(node=node)
    services.decide_approval(caller=reviewer, approval=approval, decision="reject", reason="not today")
    assert hook_calls == [
        {"node_id": node.pk, "outcome": "rejected", "reason": f"rejected by {reviewer.display}: not today"}
    ]


def test_expiry_of_a_scheduler_request_tells_the_engine(tenant, make_run, hook_calls) -> None:
    from approvals.gate import check_before_dispatch

    _run, node, _ = make_run(tenant, node_status=NodeStatus.READY, with_node_run=False)
    check_before_dispatch(node=node)
    assert services.expire_overdue_approvals(now=timezone.now() + timedelta(hours=2)) == 1
    assert [c["outcome"] for c in hook_calls] == ["expired"]
    assert hook_calls[0]["reason"].startswith("approval_expired")


def test_service_requests_never_call_the_engine_hook(tenant, make_run, requester, reviewer, hook_calls) -> None:
    run, node, _ = make_run(tenant)
    approval = ask(requester, run, node).approval
    services.decide_approval(caller=reviewer, approval=approval, decision="approve")
    assert hook_calls == []
    assert run.status == RunStatus.RUNNING
