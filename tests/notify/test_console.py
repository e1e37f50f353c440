"""Console parts of issue 20: decision links (signed, single-purpose, expiring, never deciding on GET, through
sign-in and step-up) and the delegation page."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from approvals import delegation, links
from approvals.models import ApprovalDecision, ApprovalRequest, ApprovalStatus, Delegation
from audit.models import AuditLog
from orchestrator.lib import stepup
from tests.notify.conftest import HIGH_ACTION, MEDIUM_ACTION, rule

pytestmark = pytest.mark.django_db


def link_path(approval_id: str, decision: str, user_id) -> str:
    approval = ApprovalRequest.objects.get(pk=approval_id)
    return links.link_url(approval, decision, user_id).removeprefix("http://localhost:8000")


def test_a_decision_link_shows_a_confirmation_and_never_decides_on_get(routing, reviewer_in, ask) -> None:
    routing(rule())
    alice = reviewer_in("finance")
    approval = ask(MEDIUM_ACTION)
    page = alice.session.get(link_path(approval["id"], "approve", alice.user.pk))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Approve this action?" in html
    assert f'action="/console/approvals/{approval["id"]}/approve/"' in html
    assert not ApprovalDecision.objects.exists()  # GET decided nothing
    alice.session.post(f"/console/approvals/{approval['id']}/approve/", {"reason": "from the mail"})
    assert ApprovalRequest.objects.get(pk=approval["id"]).status == ApprovalStatus.APPROVED


def test_a_link_is_refused_when_forged_for_someone_else_or_expired(routing, reviewer_in, ask) -> None:
    routing(rule())
    alice, bob = reviewer_in("finance"), reviewer_in("finance")
    approval = ask(MEDIUM_ACTION)
    path = link_path(approval["id"], "reject", alice.user.pk)
    assert bob.session.get(path).status_code == 403
    assert b"decision_link_not_yours" in bob.session.get(path).content
    forged = path.replace("/link/", "/link/x")
    assert alice.session.get(forged).status_code == 400
    other = ask(MEDIUM_ACTION)
    swapped = link_path(other["id"], "reject", alice.user.pk).replace(other["id"], approval["id"])
    assert alice.session.get(swapped).status_code == 400  # a link names one request only
    ApprovalRequest.objects.filter(pk=approval["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert alice.session.get(path).status_code == 410


def test_a_link_goes_through_sign_in_and_step_up_then_lands_on_the_decision(routing, reviewer_in, ask) -> None:
    routing(rule(match={}))
    alice = reviewer_in("finance")
    approval = ask(HIGH_ACTION)
    path = link_path(approval["id"], "approve", alice.user.pk)
    anonymous = Client().get(path)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/console/login/")
    assert "next=" in anonymous["Location"]

    session = alice.session.session
    session[stepup.SESSION_AUTH_AT] = time.time() - 3600  # signed in an hour ago: too long for HIGH
    session.save()
    stale = alice.session.get(path)
    assert stale.status_code == 302 and stale["Location"].startswith("/console/step-up/")
    stepped = alice.session.post(stale["Location"], {"secret": "pw-for-tests-123"})
    assert stepped.status_code == 302 and stepped["Location"] == path
    assert "Approve this action?" in alice.session.get(path).content.decode()


def test_the_delegation_page_records_and_ends_an_absence(tenant, reviewer_in) -> None:
    alice, carol = reviewer_in("finance"), reviewer_in()
    now = timezone.now()
    form = {
        "tenant": str(tenant.pk),
        "delegate": carol.user.username,
        "starts_at": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (now + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
        "note": "holiday",
    }
    assert alice.session.post("/console/delegations/", form).status_code == 302
    row = Delegation.objects.get()
    assert (row.delegator, row.delegate, row.note) == (alice.user, carol.user, "holiday")
    assert AuditLog.objects.filter(action="approval.delegation_created").count() == 1
    assert carol.user.username in carol.session.get("/console/delegations/").content.decode()
    to_self = alice.session.post("/console/delegations/", {**form, "delegate": alice.user.username})
    assert to_self.status_code == 400
    outsider = reviewer_in()  # neither its delegator nor its delegate: the delegation does not exist for them
    assert outsider.session.post(f"/console/delegations/{row.pk}/revoke/").status_code == 404
    row.refresh_from_db()
    assert row.revoked_at is None
    assert alice.session.post(f"/console/delegations/{row.pk}/revoke/").status_code == 302
    row.refresh_from_db()
    assert row.revoked_at is not None


def test_the_admin_ends_selected_delegations_through_the_service_and_skips_an_ended_one(tenant, reviewer_in) -> None:
    alice, carol = reviewer_in(), reviewer_in()
    now = timezone.now()
    live, ended = (
        delegation.create_delegation(
            tenant=tenant,
            delegator=alice.user,
            delegate=carol.user,
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(days=offset),
        )
        for offset in (1, 2)
    )
    delegation.revoke_delegation(delegation=ended)
    admin_user = get_user_model().objects.create_superuser("root-delegations", "root@example.com", "x")
    client = Client()
    client.force_login(admin_user)
    response = client.post(
        "/admin/approvals/delegation/",
        {"action": "end_now", "_selected_action": [str(live.pk), str(ended.pk)]},
        follow=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Ended 1 delegation." in page and "already revoked" in page
    live.refresh_from_db()
    assert live.revoked_at is not None
    assert AuditLog.objects.filter(action="approval.delegation_revoked").count() == 2
