"""E-mail notifications (issue 20) through a real SMTP server on 127.0.0.1: exactly one message per request and
reviewer, text and HTML parts, sent by the Celery task after commit, retried after a failure, never twice."""

from __future__ import annotations

from typing import Any

import pytest

from approvals import notifications, tasks
from approvals.models import NotificationOutbox, OutboxStatus
from orchestrator.celery import app as celery_app
from orchestrator.models import Role, Scope
from tests.notify.conftest import MEDIUM_ACTION, rule
from tests.notify.smtp import free_port, smtp_server

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp_settings(settings: Any) -> Any:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    return settings


@pytest.fixture
def eager_tasks() -> Any:
    """The worker's part, in-process: the task runs where it is sent (the message path is Celery's own)."""
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


def parts(message: Any) -> dict[str, str]:
    return {
        part.get_content_type(): part.get_payload(decode=True).decode()
        for part in message.walk()
        if not part.is_multipart()
    }


def test_each_routed_reviewer_gets_exactly_one_message_sent_after_commit(
    smtp_settings, eager_tasks, routing, reviewer_in, ask, django_capture_on_commit_callbacks
) -> None:
    routing(rule(groups=["finance"]))
    alice, bob = reviewer_in("finance"), reviewer_in("finance")
    reviewer_in("support")  # another group: not told
    with smtp_server() as (server, port):
        smtp_settings.EMAIL_PORT = port
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            approval = ask(MEDIUM_ACTION)
            assert len(server.messages) == 0  # nothing before the commit
        assert callbacks
        # Duplicate deliveries of the task, the sweep, asking again for the same action: still one each.
        for row in NotificationOutbox.objects.all():
            assert tasks.send_notification.apply(args=[str(row.pk)]).get() == "skipped"
        assert notifications.send_pending(older_than_seconds=0) == 0
        assert len(server.messages) == 2

    by_rcpt = {r.rcpt_tos[0]: r.message for r in server.messages}
    assert set(by_rcpt) == {alice.user.email, bob.user.email}
    message = by_rcpt[alice.user.email]
    assert message["Subject"].startswith("[MEDIUM] Approval needed: ")
    assert message["X-Approval-Id"] == approval["id"]
    body = parts(message)
    assert set(body) == {"text/plain", "text/html"}
    for text in body.values():
        assert approval["summary"] in text.replace("&#x27;", "'")
        assert "MEDIUM" in text
        assert f"/console/approvals/{approval['id']}/" in text  # the console link
        assert f"/console/approvals/{approval['id']}/link/" in text  # the decision links
        assert "Expires" in text
    rows = NotificationOutbox.objects.filter(approval_id=approval["id"])
    assert sorted(rows.values_list("status", flat=True)) == [OutboxStatus.SENT, OutboxStatus.SENT]


def test_a_failed_send_is_retried_and_then_delivered_once(smtp_settings, routing, reviewer_in, ask) -> None:
    routing(rule(groups=["finance"]))
    reviewer = reviewer_in("finance")
    approval = ask(MEDIUM_ACTION)
    row = NotificationOutbox.objects.get(approval_id=approval["id"])
    port = free_port()
    smtp_settings.EMAIL_PORT = port
    assert notifications.send(row.pk) == "retry"  # nobody listens on the port yet
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.PENDING, 1)
    assert row.last_error
    with smtp_server(port) as (server, _):
        assert notifications.send(row.pk) == OutboxStatus.SENT
        assert notifications.send(row.pk) == "skipped"
    assert [r.rcpt_tos for r in server.messages] == [[reviewer.user.email]]


def test_a_row_gives_up_after_the_maximum_attempts(smtp_settings, routing, reviewer_in, ask) -> None:
    smtp_settings.NOTIFICATION_MAX_ATTEMPTS = 2
    smtp_settings.EMAIL_PORT = free_port()
    routing(rule(groups=["finance"]))
    reviewer_in("finance")
    row = NotificationOutbox.objects.get(approval_id=ask(MEDIUM_ACTION)["id"])
    assert notifications.send(row.pk) == "retry"
    assert notifications.send(row.pk) == OutboxStatus.FAILED
    assert notifications.send(row.pk) == "skipped"


def test_the_requester_and_people_without_a_deciding_role_are_not_told(routing, reviewer_in, tenant, ask) -> None:
    routing(rule(groups=["finance"]))
    operator = reviewer_in("finance", role=Role.OPERATOR)
    viewer = reviewer_in("finance", role=Role.VIEWER)
    reviewer = reviewer_in("finance")
    approval = ask(MEDIUM_ACTION, client=operator.mint_key([Scope.APPROVALS_REQUEST]))
    recipients = set(NotificationOutbox.objects.filter(approval_id=approval["id"]).values_list("recipient", flat=True))
    assert recipients == {reviewer.user.email}
    assert viewer.user.email not in recipients
