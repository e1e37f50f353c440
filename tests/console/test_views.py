"""Console views: sign-in required, tenancy (another tenant's request is 404), who may decide, and every
refusal of the decide service shown as a message on the page (never an error page)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from approvals.models import ApprovalRequest, ApprovalStatus
from orchestrator.lib.auth import caller_for_user
from orchestrator.models import Role
from tests.console.helpers import pending_approval
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def signed_in(tenant, role: str) -> Client:
    client = Client()
    client.force_login(MembershipFactory(tenant=tenant, role=role).user)
    return client


def page_messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.mark.parametrize(
    "name,args",
    [("console:home", []), ("console:history", []), ("console:runs", []), ("console:approval", ["approval"])],
)
def test_anonymous_is_redirected_to_sign_in(tenant, name, args) -> None:
    approval = pending_approval(tenant)
    url = reverse(name, args=[approval.pk if a == "approval" else a for a in args])
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("console:login") + "?next=")


def test_anonymous_post_of_a_decision_is_redirected_and_decides_nothing(tenant) -> None:
    approval = pending_approval(tenant)
    response = Client().post(reverse("console:approve", args=[approval.pk]), {"reason": ""})
    assert response.status_code == 302 and "/console/login/" in response["Location"]
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING


def test_member_of_another_tenant_gets_404(tenant, other_tenant) -> None:
    approval = pending_approval(tenant)
    stranger = signed_in(other_tenant, Role.OPERATOR)
    assert stranger.get(reverse("console:approval", args=[approval.pk])).status_code == 404
    assert stranger.post(reverse("console:approve", args=[approval.pk])).status_code == 404
    assert stranger.get(reverse("console:run", args=[approval.run_id])).status_code == 404
    queue = stranger.get(reverse("console:home"))
    assert str(approval.pk) not in queue.content.decode()
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING


def test_queue_lists_pending_with_count_in_title_and_filters(tenant) -> None:
    approval = pending_approval(tenant)
    reviewer = signed_in(tenant, Role.REVIEWER)
    response = reviewer.get(reverse("console:home"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<title>(1) Pending approvals" in html
    assert f'data-approval="{approval.pk}"' in html and "badge risk-HIGH" in html
    assert 'data-autorefresh="' in html
    assert (
        f'data-approval="{approval.pk}"'
        not in reviewer.get(reverse("console:home") + "?risk_level=LOW").content.decode()
    )
    assert f'data-approval="{approval.pk}"' in reviewer.get(reverse("console:home") + "?q=invoice").content.decode()
    assert f'data-approval="{approval.pk}"' not in reviewer.get(reverse("console:home") + "?tool=sms").content.decode()


def test_viewer_sees_the_request_but_cannot_decide(tenant) -> None:
    approval = pending_approval(tenant)
    viewer = signed_in(tenant, Role.VIEWER)
    detail = viewer.get(reverse("console:approval", args=[approval.pk]))
    assert detail.status_code == 200
    html = detail.content.decode()
    assert "cannot decide" in html and 'action="' + reverse("console:approve", args=[approval.pk]) not in html
    response = viewer.post(reverse("console:approve", args=[approval.pk]), {"reason": "ok"}, follow=True)
    assert response.status_code == 200
    assert any("not decide" in m for m in page_messages(response))
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING and not approval.decisions.exists()


def test_detail_shows_params_preview_reasons_requester_dag_and_audit_trail(tenant) -> None:
    approval = pending_approval(tenant)
    html = signed_in(tenant, Role.REVIEWER).get(reverse("console:approval", args=[approval.pk])).content.decode()
    assert "ceo@example.com" in html and "Quarterly numbers" in html
    for reason in approval.risk_reasons:
        assert str(reason) in html
    assert approval.requested_by["display"] in html
    assert 'class="dag"' in html and 'data-key="send"' in html and 'aria-current="true"' in html
    assert "approval.requested" in html
    assert "csrfmiddlewaretoken" in html


def test_reviewer_approves_with_csrf_and_the_decision_is_recorded(tenant) -> None:
    approval = pending_approval(tenant)
    client = Client(enforce_csrf_checks=True)
    client.force_login(MembershipFactory(tenant=tenant, role=Role.REVIEWER).user)
    url = reverse("console:approve", args=[approval.pk])
    assert client.post(url, {"reason": "fine"}).status_code == 403  # no CSRF token
    token = client.get(reverse("console:approval", args=[approval.pk])).context["csrf_token"]
    # HIGH risk: the first post only asks for confirmation, naming the action; nothing is decided yet.
    confirm = client.post(url, {"reason": "fine", "csrfmiddlewaretoken": str(token)})
    assert confirm.status_code == 200 and "You are about to approve" in confirm.content.decode()
    assert "email.send to ceo@example.com: Quarterly numbers" in confirm.content.decode()
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING and not approval.decisions.exists()
    response = client.post(url, {"reason": "fine", "confirmed": "yes", "csrfmiddlewaretoken": str(token)}, follow=True)
    assert response.status_code == 200
    assert any(m.startswith("Approved") for m in page_messages(response))
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.APPROVED and approval.decision_reason == "fine"


def test_reject_without_reason_is_refused_with_a_message_then_with_a_reason_succeeds(tenant) -> None:
    approval = pending_approval(tenant)
    reviewer = signed_in(tenant, Role.REVIEWER)
    url = reverse("console:reject", args=[approval.pk])
    refused = reviewer.post(url, {"reason": "   "})
    assert refused.status_code == 400
    assert "Say why you reject" in refused.content.decode()
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING
    accepted = reviewer.post(url, {"reason": "Wrong recipient"}, follow=True)
    assert any(m.startswith("Rejected") for m in page_messages(accepted))
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.REJECTED and approval.decision_reason == "Wrong recipient"


def test_requester_sees_the_self_approval_refusal(tenant) -> None:
    operator = MembershipFactory(tenant=tenant, role=Role.OPERATOR).user
    approval = pending_approval(tenant, requester=caller_for_user(operator))
    client = Client()
    client.force_login(operator)
    response = client.post(reverse("console:approve", args=[approval.pk]), {"reason": ""}, follow=True)
    assert response.status_code == 200
    assert any("cannot decide it yourself" in m for m in page_messages(response))
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING


def test_an_overdue_request_shows_expired_before_anything_expires_the_row(tenant) -> None:
    """Reads never write (issue 14): the page and its live state say EXPIRED, with no buttons, while the row is
    still PENDING until the periodic task (or a decision) expires it."""
    approval = pending_approval(tenant)
    ApprovalRequest.objects.filter(pk=approval.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    reviewer = signed_in(tenant, Role.REVIEWER)
    html = reviewer.get(reverse("console:approval", args=[approval.pk])).content.decode()
    assert "expired</strong>" in html and "button approve" not in html and "button reject" not in html
    state = reviewer.get(reverse("console:approval_state", args=[approval.pk])).json()
    assert state["status"] == ApprovalStatus.EXPIRED and state["pending"] is False
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING


def test_expired_request_shows_expired_without_buttons_and_refuses_a_decision(tenant) -> None:
    approval = pending_approval(tenant)
    ApprovalRequest.objects.filter(pk=approval.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    reviewer = signed_in(tenant, Role.REVIEWER)
    stale_post = reviewer.post(reverse("console:approve", args=[approval.pk]), {"reason": ""}, follow=True)
    assert any("expired" in m for m in page_messages(stale_post))
    html = reviewer.get(reverse("console:approval", args=[approval.pk])).content.decode()
    assert "expired</strong>" in html and "button approve" not in html and "button reject" not in html
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.EXPIRED


def test_second_reviewer_after_the_first_sees_the_conflict_message(tenant) -> None:
    approval = pending_approval(tenant)
    first, second = signed_in(tenant, Role.REVIEWER), signed_in(tenant, Role.REVIEWER)
    assert "button approve" in second.get(reverse("console:approval", args=[approval.pk])).content.decode()
    first.post(reverse("console:approve", args=[approval.pk]), {"reason": "", "confirmed": "yes"})
    late = second.post(reverse("console:reject", args=[approval.pk]), {"reason": "no"}, follow=True)
    assert any("Someone else decided this request first" in m for m in page_messages(late))
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.APPROVED


def test_history_lists_decided_requests(tenant) -> None:
    approval = pending_approval(tenant)
    reviewer = signed_in(tenant, Role.REVIEWER)
    reviewer.post(reverse("console:reject", args=[approval.pk]), {"reason": "Not today"})
    html = reviewer.get(reverse("console:history")).content.decode()
    assert f'data-approval="{approval.pk}"' in html and "Not today" in html
    assert f'data-approval="{approval.pk}"' not in reviewer.get(reverse("console:home")).content.decode()
    filtered = reviewer.get(reverse("console:history") + "?status=APPROVED").content.decode()
    assert f'data-approval="{approval.pk}"' not in filtered


def test_static_assets_are_served_without_a_cdn(tenant) -> None:
    html = signed_in(tenant, Role.REVIEWER).get(reverse("console:home")).content.decode()
    assert "/static/console/console.css" in html and "/static/console/console.js" in html
    assert "https://" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
