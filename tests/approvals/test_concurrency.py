"""Real concurrency on PostgreSQL: each caller is a thread with its own connection, released together."""

from __future__ import annotations

from collections import Counter

import pytest
from rest_framework.test import APIClient

from approvals import services
from approvals.models import ApprovalDecision, ApprovalRequest
from orchestrator.models import Role, Scope
from tests.approvals.helpers import run_concurrently

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

EMAIL = {"tool": "email.send", "params": {"to": "ceo@example.com", "subject": "Q3"}}


def _client(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def _ask(tenant, make_run, make_api_key):
    run, node, _ = make_run(tenant)
    _, raw = make_api_key(tenant, [Scope.APPROVALS_REQUEST])
    body = {"workflow_id": str(run.pk), "node_key": node.key, **EMAIL}
    response = _client(raw).post("/api/v1/approvals/request", body, format="json")
    assert response.status_code == 201
    return response.json()["id"]


def test_twenty_concurrent_decisions_have_exactly_one_winner(tenant, make_run, make_api_key) -> None:
    approval_id = _ask(tenant, make_run, make_api_key)
    keys = [make_api_key(tenant, [Scope.APPROVALS_DECIDE], name=f"decider-{i}")[1] for i in range(20)]

    def decide(i: int):
        client = _client(keys[i])
        if i % 2:
            response = client.post(f"/api/v1/approvals/{approval_id}/reject", {"reason": "no"}, format="json")
        else:
            response = client.post(f"/api/v1/approvals/{approval_id}/approve", {}, format="json")
        return response.status_code, response.json().get("code")

    results = run_concurrently([lambda i=i: decide(i) for i in range(20)])
    statuses = Counter(results)
    assert sum(n for (code, _), n in statuses.items() if code == 200) == 1, statuses
    assert statuses[(409, "approval_not_pending")] == 19, statuses
    approval = ApprovalRequest.objects.get(pk=approval_id)
    assert approval.status in ("APPROVED", "REJECTED")
    assert ApprovalDecision.objects.filter(approval=approval).count() == 1


def test_fifty_concurrent_requests_for_one_action_make_one_request(tenant, make_run, make_api_key) -> None:
    run, node, _ = make_run(tenant)
    _, raw = make_api_key(tenant, [Scope.APPROVALS_REQUEST])
    body = {"workflow_id": str(run.pk), "node_key": node.key, **EMAIL}

    def ask():
        response = _client(raw).post("/api/v1/approvals/request", body, format="json")
        return response.status_code, response.json().get("id")

    results = run_concurrently([ask for _ in range(50)])
    assert Counter(code for code, _ in results) == {201: 1, 200: 49}, results
    assert len({approval_id for _, approval_id in results}) == 1
    assert ApprovalRequest.objects.filter(run=run).count() == 1


def test_quorum_of_two_needs_two_distinct_approvers_and_refuses_the_requester(
    tenant, make_run, make_api_key, make_caller
) -> None:
    tenant.risk_policy = {"required_approvers": {"HIGH": 2}}
    tenant.save()
    run, node, _ = make_run(tenant)
    both_key, _ = make_api_key(tenant, [Scope.APPROVALS_REQUEST, Scope.APPROVALS_DECIDE])
    from orchestrator.lib.auth import caller_for_api_key

    requester = caller_for_api_key(both_key)
    approval = services.request_action_approval(
        caller=requester, workflow_id=run.pk, node_key=node.key, tool=EMAIL["tool"], params=EMAIL["params"]
    ).approval
    assert approval.required_approvals == 2
    reviewers = [make_caller(tenant, role=Role.REVIEWER) for _ in range(20)]

    def approve(caller):
        try:
            return services.decide_approval(caller=caller, approval=approval, decision="approve").status
        except Exception as exc:
            return type(exc).__name__

    assert approve(requester) == "SelfApprovalForbidden"
    results = run_concurrently([lambda c=requester: approve(c)] + [lambda c=c: approve(c) for c in reviewers])
    # Separation of duties holds in the race too: the requester never counts (refused, or too late).
    assert results[0] in ("SelfApprovalForbidden", "ApprovalNotPending")
    outcome = Counter(results[1:])
    assert outcome == {"PENDING": 1, "APPROVED": 1, "ApprovalNotPending": 18}, outcome
    approval.refresh_from_db()
    assert approval.status == "APPROVED"
    deciders = set(approval.decisions.values_list("decider_id", flat=True))
    assert len(deciders) == 2 and requester.id not in deciders


def test_same_approver_twice_at_once_counts_once(tenant, make_run, make_api_key, make_caller) -> None:
    tenant.risk_policy = {"required_approvers": {"HIGH": 2}}
    tenant.save()
    approval_id = _ask(tenant, make_run, make_api_key)
    approval = ApprovalRequest.objects.get(pk=approval_id)
    reviewer = make_caller(tenant, role=Role.REVIEWER)

    def approve():
        try:
            return services.decide_approval(caller=reviewer, approval=approval, decision="approve").status
        except Exception as exc:
            return type(exc).__name__

    assert sorted(run_concurrently([approve] * 5)) == ["AlreadyDecided"] * 4 + ["PENDING"]
    approval.refresh_from_db()
    assert approval.status == "PENDING"


def test_concurrent_expiry_sweeps_and_decisions_expire_once(tenant, make_run, make_api_key, make_caller) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from audit.models import AuditLog

    approval_id = _ask(tenant, make_run, make_api_key)
    ApprovalRequest.objects.filter(pk=approval_id).update(expires_at=timezone.now() - timedelta(seconds=1))
    approval = ApprovalRequest.objects.get(pk=approval_id)
    reviewer = make_caller(tenant, role=Role.REVIEWER)

    def decide():
        try:
            services.decide_approval(caller=reviewer, approval=approval, decision="approve")
        except Exception as exc:
            return type(exc).__name__

    results = run_concurrently([services.expire_overdue_approvals] * 5 + [decide] * 5)
    assert sum(r for r in results[:5]) <= 1
    assert results[5:] == ["ApprovalExpired"] * 5
    assert AuditLog.objects.filter(action="approval.expired", resource_id=str(approval_id)).count() == 1
