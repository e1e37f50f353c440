"""Per-level expiry, reminders and escalation (issue 20) with an injected clock: each exactly once, escalation
recorded and announced (``approval.escalated``), after which the escalation group may decide."""

from __future__ import annotations

from datetime import timedelta

import pytest

from approvals import reminders
from approvals.models import ApprovalRequest, NotificationKind, NotificationOutbox
from audit.models import AuditLog
from tests.approvals.helpers import run_concurrently
from tests.conftest import assert_problem
from tests.notify.conftest import HIGH_ACTION, MEDIUM_ACTION, rule


def approve(client, approval_id: str):
    return client.post(f"/api/v1/approvals/{approval_id}/approve", {"reason": "ok"}, format="json")


def kinds(approval_id: str) -> list[tuple[str, str]]:
    rows = NotificationOutbox.objects.filter(approval_id=approval_id).order_by("kind", "recipient")
    return list(rows.values_list("kind", "recipient"))


@pytest.mark.django_db
def test_expiry_is_per_level_and_reminder_and_escalation_happen_once_each(routing, reviewer_in, ask) -> None:
    routing(
        rule(groups=["finance"], escalation_groups=["leads"]),
        expiry_minutes={"MEDIUM": 100, "HIGH": 20},
    )
    member, lead = reviewer_in("finance"), reviewer_in("leads")
    approval = ApprovalRequest.objects.get(pk=ask(MEDIUM_ACTION)["id"])
    created = approval.created_at
    assert approval.expires_at == created + timedelta(minutes=100)
    assert approval.remind_at == created + timedelta(minutes=50)  # default: 50% of the time
    assert approval.escalate_at == created + timedelta(minutes=75)  # default: 75%
    high = ApprovalRequest.objects.get(pk=ask(HIGH_ACTION)["id"])
    assert high.expires_at == high.created_at + timedelta(minutes=20)  # no rule matched: expiry per level still

    assert reminders.remind_and_escalate(now=created + timedelta(minutes=49)) == {"reminded": 0, "escalated": 0}
    assert reminders.remind_and_escalate(now=created + timedelta(minutes=51)) == {"reminded": 1, "escalated": 0}
    assert reminders.remind_and_escalate(now=created + timedelta(minutes=52)) == {"reminded": 0, "escalated": 0}
    assert (NotificationKind.REMINDER, member.user.email) in kinds(approval.pk)

    assert_problem(approve(lead.session, str(approval.pk)), 403, "not_routed_reviewer")  # not escalated yet
    assert reminders.remind_and_escalate(now=created + timedelta(minutes=76)) == {"reminded": 0, "escalated": 1}
    assert reminders.remind_and_escalate(now=created + timedelta(minutes=90)) == {"reminded": 0, "escalated": 0}
    assert kinds(approval.pk) == [
        (NotificationKind.ESCALATED, lead.user.email),
        (NotificationKind.REMINDER, member.user.email),
        (NotificationKind.REQUESTED, member.user.email),
    ]
    entry = AuditLog.objects.get(action="approval.escalated", resource_id=str(approval.pk))
    assert entry.metadata["data"]["escalated_to"] == ["leads"]
    assert entry.actor_type == "system"

    listed = lead.session.get(f"/api/v1/approvals/{approval.pk}").json()
    assert listed["assigned_groups"] == ["finance", "leads"]
    assert listed["escalated_at"] is not None
    assert approve(lead.session, str(approval.pk)).json()["status"] == "APPROVED"


@pytest.mark.django_db
def test_a_decided_or_unrouted_request_is_neither_reminded_nor_escalated(routing, reviewer_in, ask) -> None:
    routing(rule(groups=["finance"], escalation_groups=["leads"], match={"tags": ["fin"]}))
    member = reviewer_in("finance")
    unrouted = ApprovalRequest.objects.get(pk=ask(MEDIUM_ACTION)["id"])
    decided = ask(MEDIUM_ACTION, tags=["fin"])
    assert approve(member.session, decided["id"]).status_code == 200
    later = unrouted.created_at + timedelta(minutes=59)
    assert reminders.remind_and_escalate(now=later) == {"reminded": 0, "escalated": 0}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_periodic_runs_escalate_exactly_once(routing, reviewer_in, ask) -> None:
    routing(rule(groups=["finance"], escalation_groups=["leads"]))
    reviewer_in("finance")
    reviewer_in("leads")
    approval = ApprovalRequest.objects.get(pk=ask(MEDIUM_ACTION)["id"])
    when = approval.created_at + timedelta(minutes=59)
    results = run_concurrently([lambda: reminders.remind_and_escalate(now=when) for _ in range(3)])
    assert all(isinstance(r, dict) for r in results), results
    assert sum(r["reminded"] for r in results) == 1
    assert sum(r["escalated"] for r in results) == 1
    assert AuditLog.objects.filter(action="approval.escalated", resource_id=str(approval.pk)).count() == 1
    assert NotificationOutbox.objects.filter(approval=approval, kind=NotificationKind.ESCALATED).count() == 1
