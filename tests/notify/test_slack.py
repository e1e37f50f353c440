"""Slack (issue 20): the Block Kit message posted to the rule's channel on a local stand-in for the Web API,
signed interactions deciding through the same service, forged or stale signatures refused with 401."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_sdk.signature import SignatureVerifier

from approvals import notifications
from approvals.models import (
    ApprovalDecision,
    ApprovalRequest,
    ApprovalStatus,
    NotificationChannel,
    NotificationOutbox,
    OutboxStatus,
    SlackIdentity,
)
from orchestrator.celery import app as celery_app
from tests.conftest import assert_problem
from tests.notify.conftest import HIGH_ACTION, MEDIUM_ACTION, rule
from tests.notify.slack_server import FakeSlack, fake_slack

pytestmark = pytest.mark.django_db

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
URL = "/api/v1/integrations/slack/interactions"


@pytest.fixture
def slack_api(settings: Any) -> Iterator[FakeSlack]:
    with fake_slack() as server:
        settings.SLACK_BOT_TOKEN = "xoxb-test-token"
        settings.SLACK_API_URL = server.url
        settings.SLACK_SIGNING_SECRET = SECRET
        yield server


def post_to_slack(approval_id: str) -> None:
    row = NotificationOutbox.objects.get(approval_id=approval_id, channel=NotificationChannel.SLACK)
    assert notifications.send(row.pk) == OutboxStatus.SENT


def press(
    client: Any, approval_id: str, action: str, slack_user: str, *, timestamp: int | None = None, secret: str = SECRET
) -> Any:
    payload = {
        "type": "block_actions",
        "user": {"id": slack_user},
        "actions": [{"action_id": action, "value": approval_id}],
        "container": {"channel_id": "C0APPROVALS", "message_ts": "1700000000.000100"},
    }
    body = urlencode({"payload": json.dumps(payload)})
    ts = str(timestamp if timestamp is not None else int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return client.post(
        URL,
        body,
        content_type="application/x-www-form-urlencoded",
        HTTP_X_SLACK_REQUEST_TIMESTAMP=ts,
        HTTP_X_SLACK_SIGNATURE=signature,
    )


def buttons(call: Any) -> list[str]:
    return [e["action_id"] for b in call.body["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_the_block_kit_message_goes_to_the_rules_channel_with_buttons_where_allowed(
    slack_api, routing, reviewer_in, ask
) -> None:
    routing(rule(match={}, slack_channel="#approvals"))
    reviewer_in("finance")
    medium, high = ask(MEDIUM_ACTION), ask(HIGH_ACTION)
    post_to_slack(medium["id"])
    post_to_slack(high["id"])
    first, second = slack_api.named("chat.postMessage")
    assert first.authorization == "Bearer xoxb-test-token"
    assert first.body["channel"] == "#approvals"
    assert medium["summary"] in json.dumps(first.body["blocks"])
    assert buttons(first) == ["approval_approve", "approval_reject", "approval_open"]
    assert buttons(second) == ["approval_open"]  # HIGH: decided in the console only
    row = NotificationOutbox.objects.get(approval_id=medium["id"], channel=NotificationChannel.SLACK)
    assert row.external_ref == {"channel": "C0APPROVALS", "ts": "1700000000.000100"}


def test_a_signed_button_press_decides_and_updates_the_message(slack_api, client, routing, reviewer_in, ask) -> None:
    routing(rule(slack_channel="#approvals"))
    alice = reviewer_in("finance")
    slack_api.emails["U_ALICE"] = alice.user.email.upper()  # Slack's verified e-mail, any case
    approval = ask(MEDIUM_ACTION)
    response = press(client, approval["id"], "approval_approve", "U_ALICE")
    assert response.status_code == 200, response.content
    assert "Approved by" in response.json()["text"]
    decision = ApprovalDecision.objects.get(approval_id=approval["id"])
    assert decision.decider_id == str(alice.user.pk)
    assert ApprovalRequest.objects.get(pk=approval["id"]).status == ApprovalStatus.APPROVED
    (update,) = slack_api.named("chat.update")
    assert update.body["ts"] == "1700000000.000100"
    assert "Approved by" in update.body["text"]
    assert buttons(update) == ["approval_open"]


def test_forged_and_stale_signatures_are_refused(slack_api, client, routing, reviewer_in, ask) -> None:
    routing(rule())
    alice = reviewer_in("finance")
    slack_api.emails["U_ALICE"] = alice.user.email
    approval = ask(MEDIUM_ACTION)
    assert_problem(
        press(client, approval["id"], "approval_approve", "U_ALICE", secret="wrong"), 401, "invalid_slack_signature"
    )
    stale = int(time.time()) - 600
    assert_problem(
        press(client, approval["id"], "approval_approve", "U_ALICE", timestamp=stale), 401, "invalid_slack_signature"
    )
    unsigned = client.post(URL, "payload={}", content_type="application/x-www-form-urlencoded")
    assert_problem(unsigned, 401, "invalid_slack_signature")
    assert not ApprovalDecision.objects.exists()


def test_the_same_rules_hold_from_slack(slack_api, client, routing, reviewer_in, ask) -> None:
    routing(rule(match={}))
    alice, outsider = reviewer_in("finance"), reviewer_in("support")
    SlackIdentity.objects.create(slack_user_id="U_LINKED", user=alice.user)  # an explicit admin link
    slack_api.emails["U_OUT"] = outsider.user.email
    medium, high = ask(MEDIUM_ACTION), ask(HIGH_ACTION)

    refused = press(client, medium["id"], "approval_approve", "U_OUT").json()["text"]
    assert "not_routed_reviewer" in refused
    unknown = press(client, medium["id"], "approval_approve", "U_NOBODY").json()["text"]
    assert "not linked" in unknown
    console_only = press(client, high["id"], "approval_approve", "U_LINKED").json()["text"]
    assert "decided in the console" in console_only
    assert not ApprovalDecision.objects.exists()

    rejected = press(client, medium["id"], "approval_reject", "U_LINKED").json()["text"]
    assert "Rejected by" in rejected
    request = ApprovalRequest.objects.get(pk=medium["id"])
    assert (request.status, request.decision_reason) == (ApprovalStatus.REJECTED, "Rejected from Slack")


def test_a_decision_taken_in_the_console_updates_the_slack_message(
    slack_api, routing, reviewer_in, ask, django_capture_on_commit_callbacks
) -> None:
    routing(rule(slack_channel="#approvals"))
    alice = reviewer_in("finance")
    approval = ask(MEDIUM_ACTION)
    post_to_slack(approval["id"])
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = alice.session.post(
                f"/api/v1/approvals/{approval['id']}/approve", {"reason": "ok"}, format="json"
            )
            assert response.status_code == 200
    finally:
        celery_app.conf.task_always_eager = before
    (update,) = slack_api.named("chat.update")
    assert update.body["channel"] == "C0APPROVALS"
    assert f"Approved by {alice.user.username}" in update.body["text"]
