"""The admin for operators (issue 15): the ``operators`` group gives the permissions the README promises, and a
staff operator who is not a superuser sees and acts on their own tenants only (querysets, actions, lookups,
search); approve and reject in the admin go through the same service, rules and step-up as the console."""

from __future__ import annotations

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.utils import timezone

from approvals.models import ApprovalDecision, ApprovalRequest, ApprovalStatus
from orchestrator.models import Scope, WorkflowRun
from tests.console.helpers import pending_approval
from tests.factories import TenantFactory
from tests.principals.test_governance_audit import staff_operator

pytestmark = pytest.mark.django_db


def test_the_operators_group_exists_with_the_admin_permissions() -> None:
    codenames = set(Group.objects.get(name="operators").permissions.values_list("codename", flat=True))
    assert {"view_approvalrequest", "change_apikey", "change_membership", "view_workflowrun"} <= codenames
    assert "view_idempotentrequest" not in codenames  # cross-tenant records stay with superusers


def test_a_staff_operator_sees_only_their_tenants(tenant) -> None:
    elsewhere = TenantFactory(slug="elsewhere-co")
    mine = WorkflowRun.objects.create(tenant=tenant, name="mine-run")
    theirs = WorkflowRun.objects.create(tenant=elsewhere, name="theirs-run")
    mine_approval, theirs_approval = pending_approval(tenant), pending_approval(elsewhere)
    admin = staff_operator(tenant)

    assert admin.get("/admin/").status_code == 200
    runs = admin.get("/admin/orchestrator/workflowrun/").content.decode()
    assert "mine-run" in runs and "theirs-run" not in runs
    searched = admin.get("/admin/orchestrator/workflowrun/", {"q": "theirs"}).content.decode()
    assert "theirs-run" not in searched and "0 workflow runs" in searched
    approvals = admin.get("/admin/approvals/approvalrequest/").content.decode()
    assert str(mine_approval.pk) in approvals and str(theirs_approval.pk) not in approvals
    tenants = admin.get("/admin/orchestrator/tenant/").content.decode()
    assert tenant.slug in tenants and "elsewhere-co" not in tenants
    # The tenant filter offers only their tenants; another tenant's object page is not theirs to open.
    assert "elsewhere-co" not in admin.get("/admin/orchestrator/apikey/").content.decode()
    other_page = admin.get(f"/admin/orchestrator/workflowrun/{theirs.pk}/change/")
    assert other_page.status_code == 302  # "doesn't exist. Perhaps it was deleted?" → back to the list
    assert admin.get(f"/admin/orchestrator/workflowrun/{mine.pk}/change/").status_code == 200
    # Autocomplete lookups go through the same querysets.
    lookup = admin.get(
        "/admin/autocomplete/",
        {"app_label": "orchestrator", "model_name": "membership", "field_name": "tenant", "term": "else"},
    )
    assert "elsewhere-co" not in lookup.content.decode()


def test_actions_only_touch_the_operators_tenants(tenant) -> None:
    elsewhere = TenantFactory()
    theirs = pending_approval(elsewhere)
    admin = staff_operator(tenant)
    admin.post("/admin/approvals/approvalrequest/", {"action": "expire_selected", "_selected_action": [str(theirs.pk)]})
    assert ApprovalRequest.objects.get(pk=theirs.pk).status == ApprovalStatus.PENDING


def test_admin_approve_goes_through_the_service_with_step_up(tenant, settings) -> None:
    approval = pending_approval(tenant)  # HIGH: e-mail, asked by a service key
    admin = staff_operator(tenant)
    url = f"/admin/approvals/approvalrequest/{approval.pk}/decide/"
    page = admin.get(url)
    assert page.status_code == 200 and b"ceo@example.com" in page.content
    assert page["Cache-Control"].startswith("max-age=0") or "no-store" in page["Cache-Control"]
    later = timezone.now() + timezone.timedelta(seconds=settings.STEP_UP_MAX_AGE_SECONDS + 30)
    with time_machine.travel(later):
        response = admin.post(url, {"decision": "approve", "reason": "checked"})
        assert response.status_code == 302 and "/console/step-up/" in response["Location"]
        assert not ApprovalDecision.objects.filter(approval=approval).exists()
        step_up = admin.post(response["Location"], {"secret": "pw-for-tests-123", "next": url})
        assert step_up.status_code == 302 and step_up["Location"] == url
        admin.post(url, {"decision": "approve", "reason": "checked"})
    decision = ApprovalDecision.objects.get(approval=approval)
    assert decision.step_up == "password" and decision.decider_id == str(admin.user.pk)  # type: ignore[attr-defined]
    assert ApprovalRequest.objects.get(pk=approval.pk).status == ApprovalStatus.APPROVED


def test_admin_decide_refuses_the_requester_like_the_console(tenant) -> None:
    from orchestrator.lib.auth import caller_for_user

    admin = staff_operator(tenant)
    approval = pending_approval(tenant, requester=caller_for_user(admin.user))  # type: ignore[attr-defined]
    response = admin.post(
        f"/admin/approvals/approvalrequest/{approval.pk}/decide/", {"decision": "approve", "reason": "mine"}
    )
    assert response.status_code == 200 and b"you cannot decide it yourself" in response.content
    assert ApprovalRequest.objects.get(pk=approval.pk).status == ApprovalStatus.PENDING
    assert Scope.APPROVALS_DECIDE  # the operator role holds the scope: the refusal is separation of duties


def test_a_deleted_operators_group_is_recreated_with_its_permissions() -> None:
    from django.contrib.auth.models import Group

    from orchestrator import governance

    Group.objects.filter(name=governance.OPERATORS_GROUP).delete()
    group = governance.ensure_operators_group()
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert {"view_workflowrun", "change_approvalrequest", "delete_webhookendpoint"} <= codenames
    assert governance.ensure_operators_group().pk == group.pk  # idempotent
