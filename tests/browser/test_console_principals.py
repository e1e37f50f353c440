"""Issue 15 in the real browser: step-up before a HIGH decision (password, or TOTP when enrolled) that comes back
to the decision, and a person's own key making them the requester the console refuses."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from approvals.models import ApprovalDecision, ApprovalStatus
from orchestrator import governance
from orchestrator.lib.auth import caller_for_api_key
from orchestrator.models import Role, Scope
from tests.browser.conftest import screenshot, sign_in
from tests.console.helpers import pending_approval
from tests.factories import MembershipFactory, TenantFactory

pytestmark = pytest.mark.django_db(transaction=True)


def later() -> time_machine.travel:
    """After the sign-in stopped counting as recent (the clock keeps ticking from there)."""
    return time_machine.travel(timezone.now() + timedelta(seconds=settings.STEP_UP_MAX_AGE_SECONDS + 60), tick=True)


def test_step_up_with_the_password_then_back_to_the_decision(page, live_server) -> None:
    tenant = TenantFactory()
    reviewer = MembershipFactory(tenant=tenant, role=Role.REVIEWER)
    approval = pending_approval(tenant)  # e-mail: HIGH
    sign_in(page, live_server.url, reviewer.user.username)
    with later():
        page.goto(f"{live_server.url}/console/approvals/{approval.pk}/")
        page.get_by_label("Why you approve (optional)").fill("Numbers checked with finance.")
        page.get_by_role("button", name="Approve").click()
        page.wait_for_url(lambda url: "/console/step-up/" in url)
        assert page.get_by_role("heading", name="Confirm it's you").is_visible()
        assert not ApprovalDecision.objects.filter(approval=approval).exists()
        screenshot(page, "step-up-password")
        page.get_by_label("Password").fill("not-my-password")
        page.get_by_role("button", name="Confirm").click()
        assert "did not match" in page.get_by_role("alert").inner_text()
        page.get_by_label("Password").fill("pw-for-tests-123")
        page.get_by_role("button", name="Confirm").click()
        page.wait_for_url(lambda url: f"/console/approvals/{approval.pk}/" in url)
        # Back on the decision with what was typed before.
        assert page.get_by_label("Why you approve (optional)").input_value() == "Numbers checked with finance."
        page.get_by_role("button", name="Approve…").click()
        page.get_by_role("button", name="Yes, approve").click()  # HIGH: confirmed last, after the step-up
        assert page.get_by_role("status").filter(has_text="Approved").is_visible()
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.APPROVED
    decision = ApprovalDecision.objects.get(approval=approval)
    assert (decision.step_up, decision.reason) == ("password", "Numbers checked with finance.")


def test_step_up_asks_for_the_totp_code_when_the_person_enrolled_one(page, live_server) -> None:
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    tenant = TenantFactory()
    reviewer = MembershipFactory(tenant=tenant, role=Role.REVIEWER)
    device = TOTPDevice.objects.create(user=reviewer.user, name="phone", confirmed=True)
    approval = pending_approval(tenant)
    sign_in(page, live_server.url, reviewer.user.username)
    with later():
        page.goto(f"{live_server.url}/console/approvals/{approval.pk}/")
        page.get_by_role("button", name="Approve").click()
        page.wait_for_url(lambda url: "/console/step-up/" in url)
        assert page.get_by_label("Password").count() == 0
        code = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
        page.get_by_label("Authenticator code").fill(f"{code:0{device.digits}d}")
        page.get_by_role("button", name="Confirm").click()
        page.wait_for_url(lambda url: f"/console/approvals/{approval.pk}/" in url)
        page.get_by_role("button", name="Approve…").click()
        page.get_by_role("button", name="Yes, approve").click()
        assert page.get_by_role("status").filter(has_text="Approved").is_visible()
    assert ApprovalDecision.objects.get(approval=approval).step_up == "totp"


def test_a_person_whose_personal_key_asked_cannot_approve_in_the_console(page, live_server) -> None:
    tenant = TenantFactory()
    operator = MembershipFactory(tenant=tenant, role=Role.OPERATOR)
    personal_key, _ = governance.create_api_key(
        tenant=tenant,
        name="my laptop",
        scopes=[Scope.APPROVALS_REQUEST],
        owner_user=operator.user,
        created_by=operator.user,
    )
    approval = pending_approval(tenant, requester=caller_for_api_key(personal_key))
    sign_in(page, live_server.url, operator.user.username)
    page.goto(f"{live_server.url}/console/approvals/{approval.pk}/")
    assert "You requested this action" in page.locator("main").inner_text()
    page.get_by_role("button", name="Approve").click()
    assert "cannot decide it yourself" in page.get_by_role("alert").inner_text()
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING
    screenshot(page, "personal-key-requester-refused")
