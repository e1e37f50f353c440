"""Separation of duties holds for people, not credentials (issue 15), through the HTTP API.

A person's session, their personal keys and a service account they own are one principal: none of them may decide
what that person requested, and together they count once in a quorum.
"""

from __future__ import annotations

from typing import Any

import pytest

from approvals.models import ApprovalDecision, ApprovalRequest, ApprovalStatus
from orchestrator import governance
from orchestrator.models import Role, Scope
from tests.conftest import assert_problem
from tests.principals.conftest import CRITICAL_ACTION, HIGH_ACTION, MEDIUM_ACTION

pytestmark = pytest.mark.django_db

REQUEST_AND_DECIDE = [Scope.APPROVALS_REQUEST, Scope.APPROVALS_DECIDE, Scope.WORKFLOWS]


def approve(client: Any, approval_id: str, **body: Any) -> Any:
    return client.post(f"/api/v1/approvals/{approval_id}/approve", body or {"reason": "ok"}, format="json")


def test_none_of_a_persons_credentials_can_approve_what_they_requested(tenant, person, ask) -> None:
    alice = person(Role.OPERATOR)
    first_key = alice.mint_key(REQUEST_AND_DECIDE)
    second_key = alice.mint_key(REQUEST_AND_DECIDE)
    account, _ = governance.create_service_account(tenant=tenant, name="alice-bot", owner=alice.user)
    owned_account_key = alice.mint_key(REQUEST_AND_DECIDE, personal=False, service_account_id=str(account.pk))
    approval = ask(first_key, MEDIUM_ACTION)  # MEDIUM: keys may decide by default, so only SoD can refuse

    for credential in (first_key, second_key, owned_account_key, alice.session):
        assert_problem(approve(credential, approval["id"]), 403, "self_approval_forbidden")
    assert not ApprovalDecision.objects.filter(approval_id=approval["id"]).exists()

    bob = person(Role.REVIEWER)
    assert approve(bob.session, approval["id"]).json()["status"] == ApprovalStatus.APPROVED


def test_a_service_account_key_minted_by_the_requester_cannot_approve_their_request(tenant, person, ask) -> None:
    alice = person(Role.OPERATOR)
    approval = ask(alice.mint_key(REQUEST_AND_DECIDE), MEDIUM_ACTION)
    # A key of an ownerless service account, but minted by Alice: it speaks for her too.
    minted = alice.mint_key(REQUEST_AND_DECIDE, personal=False)
    assert_problem(approve(minted, approval["id"]), 403, "self_approval_forbidden")


def test_a_quorum_counts_distinct_principals_not_credentials(tenant, person, ask, key_client) -> None:
    operator = person(Role.OPERATOR)
    put = operator.session.put(
        f"/api/v1/tenants/{tenant.pk}/risk-policy",
        {"risk_policy": {"required_approvers": {"MEDIUM": 2}}},
        format="json",
    )
    assert put.status_code == 200, put.content
    approval = ask(key_client(tenant, [Scope.APPROVALS_REQUEST]), MEDIUM_ACTION)
    assert approval["quorum"]["required"] == 2

    bob = person(Role.OPERATOR)
    bobs_key = bob.mint_key([Scope.APPROVALS_DECIDE])
    account, _ = governance.create_service_account(tenant=tenant, name="bob-bot", owner=bob.user)
    bobs_bot = bob.mint_key([Scope.APPROVALS_DECIDE], personal=False, service_account_id=str(account.pk))

    assert approve(bobs_key, approval["id"]).json()["status"] == ApprovalStatus.PENDING  # 1 of 2
    assert_problem(approve(bobs_bot, approval["id"]), 409, "already_decided")
    assert_problem(approve(bob.session, approval["id"]), 409, "already_decided")
    assert ApprovalRequest.objects.get(pk=approval["id"]).status == ApprovalStatus.PENDING

    carol = person(Role.REVIEWER)
    assert approve(carol.session, approval["id"]).json()["status"] == ApprovalStatus.APPROVED
    principals = [d.principals for d in ApprovalDecision.objects.filter(approval_id=approval["id"])]
    assert principals == [[f"user:{bob.user.pk}"], [f"user:{carol.user.pk}"]]


@pytest.mark.parametrize("action", [HIGH_ACTION, CRITICAL_ACTION], ids=["HIGH", "CRITICAL"])
def test_a_service_key_is_refused_on_high_and_critical_by_default(tenant, key_client, action, ask) -> None:
    approval = ask(key_client(tenant, [Scope.APPROVALS_REQUEST]), action)
    decider = key_client(tenant, [Scope.APPROVALS_DECIDE])
    body = assert_problem(approve(decider, approval["id"]), 403, "decider_not_allowed")
    assert body["risk_level"] == approval["risk_level"]


def test_a_persons_own_key_is_not_an_interactive_session_on_high(tenant, person, ask, key_client) -> None:
    approval = ask(key_client(tenant, [Scope.APPROVALS_REQUEST]), HIGH_ACTION)
    bob = person(Role.REVIEWER)
    assert_problem(approve(bob.mint_key([Scope.APPROVALS_DECIDE]), approval["id"]), 403, "decider_not_allowed")
    decided = approve(bob.session, approval["id"])
    assert decided.json()["status"] == ApprovalStatus.APPROVED
    assert decided.json()["decisions"][0]["step_up"] == "password"
    assert decided.json()["decisions"][0]["principals"] == [f"user:{bob.user.pk}"]


def test_a_service_key_may_decide_high_where_the_tenant_policy_says_so(tenant, person, ask, key_client) -> None:
    operator = person(Role.OPERATOR)
    operator.session.put(
        f"/api/v1/tenants/{tenant.pk}/risk-policy",
        {"risk_policy": {"deciders": {"HIGH": "humans_or_services"}}},
        format="json",
    )
    high = ask(key_client(tenant, [Scope.APPROVALS_REQUEST]), HIGH_ACTION)
    critical = ask(key_client(tenant, [Scope.APPROVALS_REQUEST]), CRITICAL_ACTION)
    decider = key_client(tenant, [Scope.APPROVALS_DECIDE])
    assert approve(decider, high["id"]).json()["status"] == ApprovalStatus.APPROVED
    assert ApprovalDecision.objects.get(approval_id=high["id"]).step_up == ""  # keys cannot step up
    assert_problem(approve(decider, critical["id"]), 403, "decider_not_allowed")


def test_step_up_is_asked_after_the_recent_sign_in_ages(tenant, person, ask, key_client, settings) -> None:
    import time_machine
    from django.utils import timezone

    approval = ask(key_client(tenant, [Scope.APPROVALS_REQUEST]), HIGH_ACTION)
    bob = person(Role.REVIEWER)
    later = timezone.now() + timezone.timedelta(seconds=settings.STEP_UP_MAX_AGE_SECONDS + 60)
    with time_machine.travel(later):
        assert_problem(approve(bob.session, approval["id"]), 403, "step_up_required")
    assert approve(bob.session, approval["id"]).json()["status"] == ApprovalStatus.APPROVED  # within the window


def test_medium_needs_no_step_up(tenant, person, ask, key_client, settings) -> None:
    import time_machine
    from django.utils import timezone

    approval = ask(key_client(tenant, [Scope.APPROVALS_REQUEST]), MEDIUM_ACTION)
    bob = person(Role.REVIEWER)
    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=30)):
        assert approve(bob.session, approval["id"]).json()["status"] == ApprovalStatus.APPROVED
    assert ApprovalDecision.objects.get(approval_id=approval["id"]).step_up == ""


@pytest.mark.parametrize("verb", ["approve", "reject"])
def test_unknown_fields_in_a_decision_are_a_400_naming_them(tenant, person, ask, key_client, verb) -> None:
    approval = ask(key_client(tenant, [Scope.APPROVALS_REQUEST]), MEDIUM_ACTION)
    bob = person(Role.REVIEWER)
    response = bob.session.post(
        f"/api/v1/approvals/{approval['id']}/{verb}", {"reasno": "typo", "comment": "x"}, format="json"
    )
    body = assert_problem(response, 400, "validation_error")
    assert sorted(e["field"] for e in body["errors"]) == ["comment", "reasno"]
    assert ApprovalRequest.objects.get(pk=approval["id"]).status == ApprovalStatus.PENDING


def test_a_reviewer_cannot_mint_a_personal_key_beyond_their_role(tenant, person) -> None:
    bob = person(Role.REVIEWER)
    response = bob.session.post(
        "/api/v1/api-keys", {"name": "mine", "scopes": [Scope.WORKFLOWS], "personal": True}, format="json"
    )
    assert_problem(response, 403)
    created = bob.session.post(
        "/api/v1/api-keys", {"name": "mine", "scopes": [Scope.APPROVALS_DECIDE], "personal": True}, format="json"
    )
    assert created.status_code == 201
    assert created.json()["owner"] == f"user:{bob.user.pk}"
    assert created.json()["created_by"] == f"user:{bob.user.pk}"
    listed = bob.session.get("/api/v1/api-keys").json()
    assert [k["id"] for k in listed["results"]] == [created.json()["id"]]
