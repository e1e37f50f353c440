"""Issue 20 in the real browser: bulk decisions on LOW/MEDIUM requests (several selected, one reason, each decided
by the service with its own checks and audit entry, a result per row); HIGH never offered."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group

from approvals import services as approval_services
from approvals.models import ApprovalDecision, ApprovalRequest, ApprovalStatus
from audit.models import AuditLog
from orchestrator.models import Role
from tests.browser.conftest import screenshot, sign_in
from tests.console.helpers import pending_approval, running_step, service_caller
from tests.factories import MembershipFactory, TenantFactory

pytestmark = pytest.mark.django_db(transaction=True)


def medium(tenant: Any, *, tags: list[str] | None = None, path: str = "orders") -> ApprovalRequest:
    run = running_step(tenant, name="Order sync")
    if tags:
        run.metadata = {"tags": tags}
        run.save(update_fields=["metadata"])
    ask = approval_services.request_action_approval(
        caller=service_caller(tenant),
        workflow_id=run.pk,
        node_key="send",
        tool="http.request",
        params={"method": "POST", "url": f"https://api.example.com/{path}"},
    )
    assert ask.approval is not None
    return ask.approval


def test_bulk_approve_low_and_medium_with_one_reason_and_a_result_per_row(page, live_server, settings) -> None:
    settings.APPROVAL_ROUTING = {
        **settings.APPROVAL_ROUTING,
        "rules": [{"name": "legal", "match": {"tags": ["legal"]}, "groups": ["legal"]}],
    }
    tenant = TenantFactory()
    reviewer = MembershipFactory(tenant=tenant, role=Role.REVIEWER)
    reviewer.user.groups.add(Group.objects.get_or_create(name="finance")[0])
    first, second = medium(tenant, path="a"), medium(tenant, path="b")
    routed_elsewhere = medium(tenant, tags=["legal"], path="c")
    high = pending_approval(tenant)
    sign_in(page, live_server.url, reviewer.user.username)
    page.goto(f"{live_server.url}/console/bulk/")
    rows = page.locator("#bulk-form tbody tr")
    assert rows.count() == 3
    assert page.locator(f'tr[data-approval="{high.pk}"]').count() == 0  # HIGH: never in bulk
    for approval in (first, second, routed_elsewhere):
        page.locator(f'input[name="ids"][value="{approval.pk}"]').check()
    page.get_by_label("Reason (required to reject)").fill("Routine order sync, checked.")
    page.get_by_role("button", name="Approve selected").click()
    results = page.locator("#bulk-results li")
    results.first.wait_for()
    assert results.count() == 3
    assert page.locator('#bulk-results li[data-ok="true"]').count() == 2
    refused = page.locator(f'#bulk-results li[data-result="{routed_elsewhere.pk}"]')
    assert refused.get_attribute("data-ok") == "false"
    assert "routed to other reviewer groups" in refused.inner_text()
    screenshot(page, "bulk-decisions")
    for approval in (first, second):
        approval.refresh_from_db()
        assert approval.status == ApprovalStatus.APPROVED
        assert ApprovalDecision.objects.get(approval=approval).reason == "Routine order sync, checked."
        assert AuditLog.objects.filter(action="approval.approved", resource_id=str(approval.pk)).count() == 1
    routed_elsewhere.refresh_from_db()
    high.refresh_from_db()
    assert (routed_elsewhere.status, high.status) == (ApprovalStatus.PENDING, ApprovalStatus.PENDING)


def test_bulk_reject_needs_a_reason(page, live_server) -> None:
    tenant = TenantFactory()
    reviewer = MembershipFactory(tenant=tenant, role=Role.REVIEWER)
    approval = medium(tenant)
    sign_in(page, live_server.url, reviewer.user.username)
    page.goto(f"{live_server.url}/console/bulk/")
    page.locator(f'input[name="ids"][value="{approval.pk}"]').check()
    page.get_by_role("button", name="Reject selected").click()
    assert "Say why you reject" in page.get_by_role("alert").inner_text()
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING
