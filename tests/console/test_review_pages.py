"""What a reviewer reads and how they decide (issue 21): actions shown as the thing itself, the diff against an
earlier request, the confirmation step, absolute times in the reviewer's zone, the live state endpoint."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from approvals import services as approval_services
from approvals.models import ApprovalRequest, ApprovalStatus
from orchestrator.models import ConsoleProfile, Role
from tests.console.helpers import pending_approval, running_step, service_caller
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def signed_in(tenant: Any, role: str = Role.REVIEWER) -> tuple[Client, Any]:
    client = Client()
    user = MembershipFactory(tenant=tenant, role=role).user
    client.force_login(user)
    return client, user


def ask(tenant: Any, tool: str, params: dict[str, Any], run: Any = None) -> ApprovalRequest:
    run = run or running_step(tenant)
    answer = approval_services.request_action_approval(
        caller=service_caller(tenant), workflow_id=run.pk, node_key="send", tool=tool, params=params, reasoning=""
    )
    assert answer.approval is not None
    return answer.approval


def page(client: Client, approval: ApprovalRequest) -> str:
    response = client.get(reverse("console:approval", args=[approval.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_an_email_reads_as_an_email_with_recipients_as_text(tenant) -> None:
    approval = pending_approval(
        tenant,
        to=["finance@example.com", "cfo@example.com"],
        body="Hello,\nthe numbers are attached.\n\nRegards",
        attachments=[{"filename": "q3.xlsx"}],
    )
    client, _ = signed_in(tenant)
    html = page(client, approval)
    assert 'data-card="email"' in html
    assert "<dt>To</dt><dd>finance@example.com, cfo@example.com</dd>" in html
    assert "<dt>Subject</dt><dd>Quarterly numbers</dd>" in html
    assert "Hello,<br>the numbers are attached.</p>" in html and "<p>Regards</p>" in html
    assert "<li>q3.xlsx</li>" in html
    assert "<h3>Preview</h3>" not in html  # no second copy of the parameters
    assert '<details class="full-params"><summary>Full parameters (JSON)</summary>' in html
    assert "[&quot;finance@example.com&quot;" not in html.split("<details")[0]  # no JSON list in the title
    queue = client.get(reverse("console:home")).content.decode()
    assert "email.send to finance@example.com, cfo@example.com: Quarterly numbers" in queue
    assert "\\n" not in approval.preview and "Hello,\nthe numbers are attached." in approval.preview


def test_an_http_request_reads_as_method_url_headers_and_pretty_body(tenant) -> None:
    approval = ask(
        tenant,
        "http.request",
        {
            "method": "post",
            "url": "https://billing.example.com/invoices",
            "headers": {"Authorization": "Bearer s3cr3t-token", "X-Trace": "abc"},
            "json": {"amount": 120, "currency": "EUR"},
        },
    )
    client, _ = signed_in(tenant)
    html = page(client, approval)
    assert 'data-card="http"' in html and "<code>POST https://billing.example.com/invoices</code>" in html
    assert "<dt>X-Trace</dt><dd>abc</dd>" in html
    card = html.split('data-card="http"')[1].split("</div>")[0]
    assert "s3cr3t-token" not in card and "Bearer •••• (hidden)" in card
    assert "{\n  &quot;amount&quot;: 120,\n  &quot;currency&quot;: &quot;EUR&quot;\n}" in html


def test_a_desktop_action_shows_its_target_and_typed_text(tenant) -> None:
    approval = ask(
        tenant,
        "desktop.type",
        {"url": "https://bank.example.com/transfer", "target": "#iban", "text": "DE89 3704 0044 0532 0130 00"},
    )
    client, _ = signed_in(tenant)
    html = page(client, approval)
    assert 'data-card="desktop"' in html and "<dt>Target</dt><dd>#iban</dd>" in html
    assert "<h3>Typed text</h3>" in html and "DE89 3704 0044 0532 0130 00" in html
    assert "Typed text:\nDE89" in approval.preview


def test_a_request_that_supersedes_an_earlier_one_shows_the_diff(tenant) -> None:
    run = running_step(tenant)
    mail = {"to": "ceo@example.com", "subject": "Quarterly numbers", "body": "Draft"}
    first = ask(tenant, "email.send", mail, run=run)
    second = ask(tenant, "email.send", {**mail, "to": "board@example.com"}, run=run)
    client, _ = signed_in(tenant)
    html = page(client, second)
    assert "What changed since the earlier request" in html
    assert reverse("console:approval", args=[first.pk]) in html
    assert "<del>- To: ceo@example.com</del>" in html and "<ins>+ To: board@example.com</ins>" in html
    assert "What changed" not in page(client, first)


def test_high_risk_approval_takes_a_confirmation_naming_the_action(tenant) -> None:
    approval = pending_approval(tenant)
    client, _ = signed_in(tenant)
    assert "Approve…" in page(client, approval)
    url = reverse("console:approve", args=[approval.pk])
    confirm = client.post(url, {"reason": "Checked"})
    html = confirm.content.decode()
    assert "You are about to approve" in html and 'name="confirmed" value="yes"' in html
    assert ">Checked</textarea>" in html  # the reason comes along
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING
    client.post(url, {"reason": "Checked", "confirmed": "yes"})
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.APPROVED and approval.decision_reason == "Checked"


def test_medium_risk_approves_in_one_step(tenant) -> None:
    approval = ask(tenant, "http.request", {"method": "POST", "url": "https://api.example.com/x"})
    assert approval.risk_level == "MEDIUM"
    client, _ = signed_in(tenant)
    assert "Approve…" not in page(client, approval)
    client.post(reverse("console:approve", args=[approval.pk]), {"reason": ""})
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.APPROVED


def test_reasons_are_labelled_and_shortcuts_listed(tenant) -> None:
    client, _ = signed_in(tenant)
    html = page(client, pending_approval(tenant))
    assert '<label for="approve-reason">Why you approve (optional)</label>' in html
    assert '<label for="reject-reason">Why you reject (required)</label>' in html
    assert "Keyboard shortcuts" in html and "<kbd>a</kbd>" in html and "<kbd>r</kbd>" in html


def test_rejected_decisions_read_rejected_by(tenant) -> None:
    approval = pending_approval(tenant)
    client, _ = signed_in(tenant)
    client.post(reverse("console:reject", args=[approval.pk]), {"reason": "Wrong recipient"})
    html = page(client, approval)
    assert "<strong>Rejected</strong> by" in html and "Rejectd" not in html


def test_expiry_is_shown_in_the_reviewers_time_zone(tenant) -> None:
    approval = pending_approval(tenant)
    client, user = signed_in(tenant)
    assert " UTC</time>" in page(client, approval)
    response = client.post(reverse("console:profile"), {"time_zone": "Asia/Tokyo"}, follow=True)
    assert response.status_code == 200 and ConsoleProfile.objects.get(user=user).time_zone == "Asia/Tokyo"
    html = page(client, approval)
    assert "Decide by" in html and " JST</time>" in html and 'class="countdown"' in html
    assert client.post(reverse("console:profile"), {"time_zone": "Mars/Olympus"}).status_code == 400


def test_state_endpoint_reports_a_decision_made_elsewhere(tenant, other_tenant) -> None:
    approval = pending_approval(tenant)
    client, _ = signed_in(tenant)
    html = page(client, approval)
    state_url = reverse("console:approval_state", args=[approval.pk])
    assert f'data-live-url="{state_url}"' in html
    assert client.get(state_url).json()["pending"] is True
    other, _ = signed_in(tenant)
    other.post(reverse("console:reject", args=[approval.pk]), {"reason": "Not now"})
    state = client.get(state_url).json()
    assert state["pending"] is False and state["status"] == ApprovalStatus.REJECTED
    assert state["message"].startswith("This request was rejected by")
    stranger, _ = signed_in(other_tenant)
    assert stranger.get(state_url).status_code == 404
