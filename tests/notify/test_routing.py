"""Routing rules (issue 20): a request routed to reviewer groups is decided only by their members or their
delegates (403 ``not_routed_reviewer``), lists ``assigned_groups``, and a rule's quorum only raises the policy's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from approvals import delegation
from approvals.models import ApprovalDecision, ApprovalRequest, ApprovalStatus
from approvals.routing_config import InvalidRouting, routing_for_tenant, set_tenant_routing
from audit.models import AuditLog
from orchestrator.models import Role, Scope
from tests.conftest import assert_problem
from tests.notify.conftest import MEDIUM_ACTION, rule

pytestmark = pytest.mark.django_db


def approve(client, approval_id: str, reason: str = "ok"):
    return client.post(f"/api/v1/approvals/{approval_id}/approve", {"reason": reason}, format="json")


def test_only_members_of_the_routed_group_decide_and_the_api_lists_the_groups(routing, reviewer_in, ask) -> None:
    routing(rule(groups=["finance"]))
    alice, bob = reviewer_in("finance"), reviewer_in("support")
    approval = ask(MEDIUM_ACTION)
    assert approval["assigned_groups"] == ["finance"]
    listed = alice.session.get("/api/v1/approvals").json()["results"]
    assert [row["assigned_groups"] for row in listed] == [["finance"]]

    body = assert_problem(approve(bob.session, approval["id"]), 403, "not_routed_reviewer")
    assert "finance" in body["detail"]
    assert not ApprovalDecision.objects.exists()
    assert approve(alice.session, approval["id"]).json()["status"] == ApprovalStatus.APPROVED


def test_a_request_no_rule_matches_is_decided_by_any_reviewer(routing, reviewer_in, ask) -> None:
    routing(rule(groups=["finance"], match={"tools": ["payments.*"]}))
    approval = ask(MEDIUM_ACTION)
    assert approval["assigned_groups"] == []
    assert approve(reviewer_in().session, approval["id"]).json()["status"] == ApprovalStatus.APPROVED


def test_rules_match_risk_level_workflow_and_tags_first_match_wins(routing, reviewer_in, ask) -> None:
    routing(
        rule("by-tag", ["tagged"], match={"tags": ["finance"]}),
        rule("by-workflow", ["ops"], match={"workflows": ["Nightly *"], "risk_levels": ["MEDIUM"]}),
        rule("fallback", ["everyone"], match={}),
    )
    assert ask(MEDIUM_ACTION, tags=["finance", "eu"])["assigned_groups"] == ["tagged"]
    assert ask(MEDIUM_ACTION, name="Nightly export")["assigned_groups"] == ["ops"]
    assert ask(MEDIUM_ACTION, name="Other")["assigned_groups"] == ["everyone"]


def test_a_rule_quorum_raises_the_policys_but_never_lowers_it(settings, routing, ask) -> None:
    routing(rule(quorum=2))
    assert ask(MEDIUM_ACTION)["required_approvals"] == 2
    settings.APPROVAL_RISK_POLICY = {
        **settings.APPROVAL_RISK_POLICY,
        "required_approvers": {**settings.APPROVAL_RISK_POLICY["required_approvers"], "MEDIUM": 3},
    }
    assert ask(MEDIUM_ACTION)["required_approvals"] == 3


def test_a_service_account_key_is_never_a_routed_reviewer(routing, ask, tenant, key_client) -> None:
    routing(rule())
    approval = ask(MEDIUM_ACTION)
    decider = key_client(tenant, [Scope.APPROVALS_DECIDE])
    assert_problem(approve(decider, approval["id"]), 403, "not_routed_reviewer")


def test_a_delegate_decides_on_behalf_of_the_absent_member(tenant, routing, reviewer_in, ask) -> None:
    routing(rule(quorum=2))
    alice, carol, dan = reviewer_in("finance"), reviewer_in(), reviewer_in("finance")
    now = timezone.now()
    delegation.create_delegation(
        tenant=tenant,
        delegator=alice.user,
        delegate=carol.user,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1),
    )
    approval = ask(MEDIUM_ACTION)
    response = approve(carol.session, approval["id"])
    assert response.status_code == 200, response.content
    vote = response.json()["decisions"][0]
    assert vote["by"]["display"] == carol.user.username
    assert vote["on_behalf_of"] == {"type": "user", "id": str(alice.user.pk), "display": alice.user.username}
    # The stand-in's vote is Alice's too: she cannot add a second one; Dan completes the quorum.
    assert_problem(approve(alice.session, approval["id"]), 409, "already_decided")
    assert approve(dan.session, approval["id"]).json()["status"] == ApprovalStatus.APPROVED
    entry = AuditLog.objects.filter(action="approval.approved", resource_id=approval["id"]).get()
    votes = entry.metadata["data"]["approvals"]
    assert votes[0]["on_behalf_of"]["id"] == str(alice.user.pk)
    page = dan.session.get(f"/console/approvals/{approval['id']}/").content.decode()
    assert f"by {carol.user.username} on behalf of {alice.user.username}" in page
    assert "Routed to" in page and "finance" in page


def test_a_delegation_outside_its_window_or_revoked_gives_nothing(tenant, routing, reviewer_in, ask) -> None:
    routing(rule())
    alice, carol = reviewer_in("finance"), reviewer_in()
    now = timezone.now()
    later = delegation.create_delegation(
        tenant=tenant,
        delegator=alice.user,
        delegate=carol.user,
        starts_at=now + timedelta(hours=1),
        ends_at=now + timedelta(days=1),
    )
    current = delegation.create_delegation(
        tenant=tenant,
        delegator=alice.user,
        delegate=carol.user,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1),
    )
    delegation.revoke_delegation(delegation=current)
    assert later.revoked_at is None
    approval = ask(MEDIUM_ACTION)
    assert_problem(approve(carol.session, approval["id"]), 403, "not_routed_reviewer")


def test_a_delegate_can_never_decide_their_own_request(tenant, routing, reviewer_in, ask) -> None:
    routing(rule())
    alice, dave = reviewer_in("finance"), reviewer_in(role=Role.OPERATOR)
    now = timezone.now()
    delegation.create_delegation(
        tenant=tenant,
        delegator=alice.user,
        delegate=dave.user,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1),
    )
    approval = ask(MEDIUM_ACTION, client=dave.mint_key([Scope.APPROVALS_REQUEST]))
    assert_problem(approve(dave.session, approval["id"]), 403, "self_approval_forbidden")
    assert ApprovalRequest.objects.get(pk=approval["id"]).status == ApprovalStatus.PENDING


def test_the_console_queue_filters_assigned_to_me_and_my_groups(tenant, routing, reviewer_in, ask) -> None:
    routing(rule("fin", ["finance"], match={"tags": ["fin"]}), rule("ops", ["ops"], match={}))
    alice, carol = reviewer_in("finance"), reviewer_in("ops")
    now = timezone.now()
    delegation.create_delegation(
        tenant=tenant,
        delegator=alice.user,
        delegate=carol.user,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1),
    )
    fin = ask(MEDIUM_ACTION, tags=["fin"])
    ops = ask(MEDIUM_ACTION)

    def shown(person, assigned: str) -> set[str]:
        page = person.session.get(f"/console/?assigned={assigned}").content.decode()
        return {a["id"] for a in (fin, ops) if f'data-approval="{a["id"]}"' in page}

    assert shown(alice, "me") == {fin["id"]}
    assert shown(alice, "groups") == {fin["id"]}
    assert shown(carol, "groups") == {ops["id"]}
    assert shown(carol, "me") == {fin["id"], ops["id"]}  # her group, and Alice's while Alice is away


def test_a_tenant_override_is_validated_merged_and_audited(tenant) -> None:
    with pytest.raises(InvalidRouting) as caught:
        set_tenant_routing(tenant=tenant, config={"rules": [{"name": "x"}], "reminder_fraction": 2})
    fields = {e["field"] for e in caught.value.errors}
    assert fields == {"routing.rules.0", "routing.reminder_fraction"}
    assert not AuditLog.objects.filter(action="tenant.approval_routing_changed").exists()

    set_tenant_routing(tenant=tenant, config={"rules": [rule()], "expiry_minutes": {"HIGH": 30}})
    effective = routing_for_tenant(tenant.pk)
    assert effective["rules"][0]["groups"] == ["finance"]
    assert effective["expiry_minutes"]["HIGH"] == 30 and effective["expiry_minutes"]["LOW"] == 60
    entry = AuditLog.objects.get(action="tenant.approval_routing_changed")
    assert {d["path"] for d in entry.metadata["data"]["diff"]} == {"rules", "expiry_minutes"}


def test_operators_replace_the_routing_over_the_api_with_field_errors(tenant, reviewer_in) -> None:
    operator, reviewer = reviewer_in(role=Role.OPERATOR), reviewer_in()
    url = f"/api/v1/tenants/{tenant.pk}/approval-routing"
    assert operator.session.get(url).json() == {"routing": {}}
    bad = operator.session.put(url, {"routing": {"rules": [{"name": "x", "groups": []}]}}, format="json")
    body = assert_problem(bad, 400, "validation_error")
    assert [e["field"] for e in body["errors"]] == ["routing.rules.0.groups"]
    good = operator.session.put(url, {"routing": {"rules": [rule()]}}, format="json")
    assert good.status_code == 200, good.content
    assert good.json()["routing"]["rules"][0]["groups"] == ["finance"]
    assert_problem(reviewer.session.put(url, {"routing": {}}, format="json"), 403)
