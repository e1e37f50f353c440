"""Issue 21 in a real Chromium: an e-mail and an HTTP request read as themselves, HIGH risk takes a confirmation
naming the action, a decision made elsewhere appears on an open page without a reload, nothing is clipped on a
390 px phone, and axe-core finds no serious or critical violation on any console page.

Screenshots go to var/ci/screenshots (see conftest).
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from approvals import services as approval_services
from approvals.models import ApprovalRequest, ApprovalStatus
from orchestrator.models import Role
from tests.browser.conftest import assert_accessible, screenshot, sign_in
from tests.console.helpers import pending_approval, running_step, service_caller
from tests.factories import MembershipFactory, TenantFactory

pytestmark = pytest.mark.django_db(transaction=True)

EMAIL = {
    "to": ["finance@example.com", "controller@example.com"],
    "subject": "Q3 report for the supervisory board, final version",
    "body": "Hello,\n\nattached is the Q3 report.\nRevenue: 1.2M EUR\n\nRegards,\nThe reporting agent",
    "attachments": [{"filename": "q3-report.pdf"}, {"filename": "q3-figures.xlsx"}],
}
HTTP = {
    "method": "POST",
    "url": "https://payments.example.com/v1/transfers",
    "headers": {"Authorization": "Bearer sk_live_123", "Content-Type": "application/json"},
    "json": {"amount": 1200, "currency": "EUR", "to": "DE89370400440532013000"},
}


def ask(tenant: Any, tool: str, params: dict[str, Any]) -> ApprovalRequest:
    run = running_step(tenant, name="Quarter close with a rather long workflow name to test wrapping")
    answer = approval_services.request_action_approval(
        caller=service_caller(tenant), workflow_id=run.pk, node_key="send", tool=tool, params=params, reasoning=""
    )
    assert answer.approval is not None
    return answer.approval


def reviewer_of(tenant: Any) -> str:
    return MembershipFactory(tenant=tenant, role=Role.REVIEWER).user.username


def test_email_and_http_previews_show_the_thing_itself(page, live_server) -> None:
    tenant = TenantFactory()
    email = pending_approval(tenant, **EMAIL)
    http = ask(tenant, "http.request", HTTP)
    sign_in(page, live_server.url, reviewer_of(tenant))

    page.goto(f"{live_server.url}/console/approvals/{email.pk}/")
    card = page.locator('[data-card="email"]')
    text = card.inner_text()
    assert "To\nfinance@example.com, controller@example.com" in text and "Subject\nQ3 report" in text
    assert "Revenue: 1.2M EUR" in page.locator(".email-body").inner_text()
    assert page.locator(".email-body br").count() >= 2  # line breaks, not a literal \n
    assert page.locator(".attachments li").all_inner_texts() == ["q3-report.pdf", "q3-figures.xlsx"]
    assert not page.locator("pre.params").is_visible()  # full parameters collapsed below
    page.get_by_text("Full parameters (JSON)").click()
    assert page.locator("pre.params").is_visible()
    assert '["finance@example.com"' not in page.title() and "finance@example.com, controller" in page.title()
    screenshot(page, "preview-email")
    assert_accessible(page, "approval detail (e-mail)")

    page.goto(f"{live_server.url}/console/approvals/{http.pk}/")
    card = page.locator('[data-card="http"]')
    assert card.locator(".request-line").inner_text() == "POST https://payments.example.com/v1/transfers"
    assert "Content-Type\napplication/json" in card.inner_text()
    assert "sk_live_123" not in card.inner_text() and "(hidden)" in card.inner_text()
    assert '"currency": "EUR"' in card.locator("pre.body").inner_text()
    screenshot(page, "preview-http")
    assert_accessible(page, "approval detail (HTTP)")


def test_high_risk_approval_asks_for_confirmation_naming_the_action(page, live_server) -> None:
    tenant = TenantFactory()
    approval = pending_approval(tenant, **EMAIL)
    sign_in(page, live_server.url, reviewer_of(tenant))
    page.goto(f"{live_server.url}/console/approvals/{approval.pk}/")
    page.get_by_label("Why you approve (optional)").fill("Checked with the controller.")
    page.get_by_role("button", name="Approve…").click()
    page.wait_for_url(f"**/console/approvals/{approval.pk}/approve/")
    assert "You are about to approve" in page.locator(".confirm-action").inner_text()
    assert "finance@example.com, controller@example.com" in page.locator("#confirm-action").inner_text()
    assert page.get_by_label("Why you approve (optional)").input_value() == "Checked with the controller."
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING
    screenshot(page, "approve-confirmation")
    assert_accessible(page, "approval confirmation")
    page.get_by_role("button", name="Yes, approve").click()
    assert page.get_by_role("status").filter(has_text="Approved").is_visible()
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.APPROVED and approval.decision_reason == "Checked with the controller."


def test_a_decision_made_elsewhere_appears_on_an_open_page(browser, page, live_server) -> None:
    tenant = TenantFactory()
    approval = pending_approval(tenant, **EMAIL)
    url = f"{live_server.url}/console/approvals/{approval.pk}/"
    other = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    try:
        sign_in(page, live_server.url, reviewer_of(tenant))
        sign_in(other, live_server.url, reviewer_of(tenant))
        page.goto(url)
        page.get_by_label("Why you reject (required)").fill("I was about to say no")
        assert page.get_by_role("button", name="Reject").is_visible()
        other.goto(url)
        other.get_by_label("Why you reject (required)").fill("Wrong recipients.")
        other.get_by_role("button", name="Reject").click()
        assert other.get_by_role("status").filter(has_text="Rejected").is_visible()
        # No reload: the open page polls the request's state and notices.
        expect(page.locator("#live-note")).to_contain_text("rejected", timeout=20_000)
        assert "decided elsewhere" in page.locator("#live-note").inner_text()
        assert page.get_by_role("button", name="Reject").count() == 0
        assert page.get_by_role("button", name="Approve…").count() == 0
        assert page.locator("#approval-status").inner_text() == "Rejected"
        screenshot(page, "decided-elsewhere")
        assert_accessible(page, "approval decided elsewhere")
    finally:
        other.context.close()


def test_phone_layout_clips_nothing(phone_page, live_server) -> None:
    tenant = TenantFactory()
    approval = pending_approval(tenant, **EMAIL)
    http = ask(tenant, "http.request", HTTP)
    sign_in(phone_page, live_server.url, reviewer_of(tenant))
    for path, name in (
        ("/console/", "queue-phone"),
        (f"/console/approvals/{approval.pk}/", "email-phone"),
        (f"/console/approvals/{http.pk}/", "http-phone"),
        ("/console/history/", "history-phone"),
        ("/console/runs/", "runs-phone"),
        (f"/console/runs/{approval.run_id}/", "run-phone"),
    ):
        phone_page.goto(f"{live_server.url}{path}")
        assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390, path
        screenshot(phone_page, name)
    phone_page.goto(f"{live_server.url}/console/")
    row = phone_page.locator(f'tr[data-approval="{approval.pk}"]')
    for selector in (".badge", "a.strong"):
        box = row.locator(selector).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, selector


def test_state_colours_differ_and_the_focus_ring_has_contrast(page, live_server) -> None:
    tenant = TenantFactory()
    approval = pending_approval(tenant)
    sign_in(page, live_server.url, reviewer_of(tenant))
    page.goto(f"{live_server.url}/console/runs/{approval.run_id}/")
    colours = page.evaluate(
        """() => ["PENDING", "RUNNING", "WAITING_APPROVAL", "WAITING"].map(s => {
            const el = document.createElement("span"); el.className = "state state-" + s; document.body.append(el);
            const c = getComputedStyle(el).backgroundColor; el.remove(); return c; })"""
    )
    assert len(set(colours)) == 4, colours
    page.goto(f"{live_server.url}/console/approvals/{approval.pk}/")
    page.locator("#reject-reason").focus()
    ring = page.evaluate(
        """() => { const s = getComputedStyle(document.activeElement);
                   return [s.outlineStyle, s.outlineWidth, s.outlineColor,
                           getComputedStyle(document.querySelector('.card')).backgroundColor]; }"""
    )
    assert ring[0] == "solid" and float(ring[1].rstrip("px")) >= 2
    assert contrast(ring[2], ring[3]) >= 3, ring
    assert contrast(ring[2], "rgb(246, 248, 250)") >= 3  # the page background


def contrast(a: str, b: str) -> float:
    def luminance(colour: str) -> float:
        parts = [float(x) / 255 for x in colour[colour.index("(") + 1 : colour.index(")")].split(",")[:3]]
        lin = [p / 12.92 if p <= 0.03928 else ((p + 0.055) / 1.055) ** 2.4 for p in parts]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_axe_finds_nothing_serious_on_any_console_page(page, live_server) -> None:
    tenant = TenantFactory()
    approval = pending_approval(tenant, **EMAIL)
    decided = pending_approval(tenant)
    username = reviewer_of(tenant)
    page.goto(f"{live_server.url}/console/login/")
    assert_accessible(page, "sign-in")
    sign_in(page, live_server.url, username)
    page.goto(f"{live_server.url}/console/approvals/{decided.pk}/")
    page.get_by_label("Why you reject (required)").fill("Not needed.")
    page.get_by_role("button", name="Reject").click()
    pages = {
        "queue": "/console/",
        "history": "/console/history/",
        "approval detail": f"/console/approvals/{approval.pk}/",
        "decided approval": f"/console/approvals/{decided.pk}/",
        "runs": "/console/runs/",
        "run detail": f"/console/runs/{approval.run_id}/",
        "settings": "/console/profile/",
        "step-up": f"/console/step-up/?next=/console/approvals/{approval.pk}/",
    }
    for name, path in pages.items():
        page.goto(f"{live_server.url}{path}")
        assert_accessible(page, name)
        screenshot(page, "axe-" + name.replace(" ", "-"))
