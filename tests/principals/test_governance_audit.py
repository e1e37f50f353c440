"""Every governance change leaves an audit entry written through ``events.emit`` (issue 15), whichever interface
made it: the API, the admin (an operator's identity recorded) or a service."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from approvals.models import ApprovalRequest, ExecutionStatus, IdempotencyRecord
from audit.models import AuditLog
from orchestrator import governance
from orchestrator.models import ApiKey, Membership, Role, Scope, ServiceAccount
from tests.factories import MembershipFactory, UserFactory
from tests.principals.conftest import MEDIUM_ACTION

pytestmark = pytest.mark.django_db


def entries(action: str, **filters: Any) -> list[AuditLog]:
    return list(AuditLog.objects.filter(action=action, **filters).order_by("sequence"))


def staff_operator(tenant: Any) -> Client:
    """A staff operator of ``tenant`` (not a superuser) in the ``operators`` group, signed in to the admin."""
    from django.contrib.auth.models import Group

    membership = MembershipFactory(tenant=tenant, role=Role.OPERATOR)
    membership.user.is_staff = True
    membership.user.save(update_fields=["is_staff"])
    membership.user.groups.add(Group.objects.get(name="operators"))
    client = Client()
    client.force_login(membership.user)
    client.user = membership.user  # type: ignore[attr-defined]
    return client


def test_key_created_and_revoked_through_the_api_are_audited_with_the_operator(tenant, person) -> None:
    operator = person(Role.OPERATOR)
    created = operator.session.post(
        "/api/v1/api-keys", {"name": "ci", "scopes": [Scope.WORKFLOWS]}, format="json"
    ).json()
    operator.session.post(f"/api/v1/api-keys/{created['id']}/revoke")
    [made] = entries("api_key.created", resource_id=created["id"])
    assert (made.actor_type, made.actor_id) == ("user", str(operator.user.pk))
    assert made.after == {"scopes": [Scope.WORKFLOWS], "owner": created["owner"]}
    assert created["owner"].startswith("service_account:")
    [account] = entries("service_account.created", tenant=tenant)
    assert account.metadata["data"]["name"] == "ci"
    [revoked] = entries("api_key.revoked", resource_id=created["id"])
    assert revoked.actor_id == str(operator.user.pk)


def test_scope_changes_in_the_admin_are_audited_with_before_and_after(tenant) -> None:
    admin = staff_operator(tenant)
    api_key, _ = governance.create_api_key(tenant=tenant, name="ci", scopes=[Scope.WORKFLOWS])
    response = admin.post(
        f"/admin/orchestrator/apikey/{api_key.pk}/change/", {"scopes": '["workflows", "audit"]'}, follow=True
    )
    assert response.status_code == 200
    assert ApiKey.objects.get(pk=api_key.pk).scopes == ["audit", "workflows"]
    [changed] = entries("api_key.scopes_changed", resource_id=str(api_key.pk))
    assert (changed.before, changed.after) == ({"scopes": ["workflows"]}, {"scopes": ["audit", "workflows"]})
    assert changed.actor_id == str(admin.user.pk)  # type: ignore[attr-defined]


def test_membership_changes_in_the_admin_are_audited(tenant) -> None:
    admin = staff_operator(tenant)
    member = MembershipFactory(tenant=tenant, role=Role.VIEWER)
    admin.post(f"/admin/orchestrator/membership/{member.pk}/change/", {"role": Role.REVIEWER})
    assert Membership.objects.get(pk=member.pk).role == Role.REVIEWER
    [changed] = entries("membership.role_changed", resource_id=str(member.pk))
    assert (changed.before, changed.after) == ({"role": "viewer"}, {"role": "reviewer"})
    admin.post(f"/admin/orchestrator/membership/{member.pk}/delete/", {"post": "yes"})
    assert not Membership.objects.filter(pk=member.pk).exists()
    assert entries("membership.deleted", resource_id=str(member.pk))[0].before == {"role": "reviewer"}


def test_membership_created_and_service_account_created_by_services_are_audited(tenant) -> None:
    user = UserFactory()
    governance.set_membership(tenant=tenant, user=user, role=Role.REVIEWER)
    assert entries("membership.created", tenant=tenant)[0].after == {"role": "reviewer"}
    account, created = governance.create_service_account(tenant=tenant, name="agent", owner=user)
    assert created and ServiceAccount.objects.filter(pk=account.pk).exists()
    [entry] = entries("service_account.created", resource_id=str(account.pk))
    assert entry.metadata["data"]["owner"] == {"id": str(user.pk), "username": user.get_username()}


def test_service_account_created_in_the_admin_is_audited(tenant) -> None:
    admin = staff_operator(tenant)
    response = admin.post("/admin/orchestrator/serviceaccount/add/", {"tenant": str(tenant.pk), "name": "etl"})
    assert response.status_code == 302, response.content[:2000]
    account = ServiceAccount.objects.get(tenant=tenant, name="etl")
    [entry] = entries("service_account.created", resource_id=str(account.pk))
    assert entry.actor_id == str(admin.user.pk)  # type: ignore[attr-defined]


def test_risk_policy_change_is_audited_with_its_diff(tenant, person) -> None:
    operator = person(Role.OPERATOR)
    url = f"/api/v1/tenants/{tenant.pk}/risk-policy"
    operator.session.put(url, {"risk_policy": {"deciders": {"HIGH": "humans_or_services"}}}, format="json")
    operator.session.put(url, {"risk_policy": {"required_approvers": {"HIGH": 2}}}, format="json")
    first, second = entries("tenant.risk_policy_changed", tenant=tenant)
    assert first.metadata["data"]["diff"] == [
        {"path": "deciders", "before": None, "after": {"HIGH": "humans_or_services"}}
    ]
    assert second.metadata["data"]["diff"] == [
        {"path": "deciders", "before": {"HIGH": "humans_or_services"}, "after": None},
        {"path": "required_approvers", "before": None, "after": {"HIGH": 2}},
    ]
    assert second.before == {"risk_policy": {"deciders": {"HIGH": "humans_or_services"}}}
    assert second.actor_id == str(operator.user.pk)


def test_closing_a_stuck_execution_in_the_admin_records_the_operator_and_note(tenant, person, ask, key_client) -> None:
    from django.utils import timezone

    admin = staff_operator(tenant)
    approval = ApprovalRequest.objects.get(pk=ask(key_client(tenant, [Scope.APPROVALS_REQUEST]), MEDIUM_ACTION)["id"])
    record = IdempotencyRecord.objects.create(
        tenant=tenant,
        approval=approval,
        action_hash=approval.action_hash,
        created_at=timezone.now(),
        expires_at=timezone.now() + timezone.timedelta(hours=1),
    )
    changelist = "/admin/approvals/idempotencyrecord/"
    form = admin.post(changelist, {"action": "mark_failed", "_selected_action": [record.pk]})
    assert form.status_code == 200 and b"What did you check?" in form.content
    assert IdempotencyRecord.objects.get(pk=record.pk).status == ExecutionStatus.IN_PROGRESS  # nothing yet
    note = "checked the mail server log: nothing was sent"
    admin.post(changelist, {"action": "mark_failed", "_selected_action": [record.pk], "apply": "1", "note": note})
    assert IdempotencyRecord.objects.get(pk=record.pk).status == ExecutionStatus.FAILED
    [entry] = entries("approval.execution_resolved", resource_id=str(approval.pk))
    assert entry.actor_id == str(admin.user.pk)  # type: ignore[attr-defined]
    assert entry.reason == note
    assert entry.metadata["data"]["action_happened"] is False
