"""Slack (issue 20): the Block Kit message about a request, its update with the outcome, and button presses.

Posting uses ``slack_sdk.WebClient`` with the bot token (``SLACK_BOT_TOKEN``; scopes ``chat:write``, ``users:read``,
``users:read.email``) against ``SLACK_API_URL``. Interactions (``POST /api/v1/integrations/slack/interactions``)
are verified with the signing secret by ``slack_sdk.signature.SignatureVerifier`` (a forged or older than five
minutes request is refused), the Slack user is mapped to a person (an explicit ``SlackIdentity`` link, else the
e-mail Slack verified for that user equal to exactly one active account's), and the decision goes through
``services.decide_approval`` with every rule. A level whose routing does not allow deciding outside the console,
and any step-up, answer "Open in console".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier

from .events import console_url
from .models import ApprovalRequest, ApprovalStatus, SlackIdentity
from .routing import decide_outside_console

APPROVE_ACTION = "approval_approve"
REJECT_ACTION = "approval_reject"
OPEN_ACTION = "approval_open"
LEVEL_EMOJI = {"LOW": ":large_green_circle:", "MEDIUM": ":large_yellow_circle:", "HIGH": ":large_orange_circle:"}


def client() -> WebClient:
    return WebClient(token=settings.SLACK_BOT_TOKEN, base_url=settings.SLACK_API_URL, timeout=10)


def _iso(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def request_blocks(approval: ApprovalRequest, *, buttons: bool, outcome: str = "") -> list[dict[str, Any]]:
    """The Block Kit blocks of a request: summary, risk, expiry; Approve/Reject when ``buttons`` else a console
    link; the outcome line instead of the actions once decided."""
    emoji = LEVEL_EMOJI.get(approval.risk_level, ":red_circle:")
    reasons = "; ".join(str(r) for r in approval.risk_reasons or []) or "-"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Approval needed"[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{approval.summary[:2900]}*"}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Risk*\n{emoji} {approval.risk_level}"},
                {"type": "mrkdwn", "text": f"*Expires*\n{_iso(approval.expires_at)}"},
                {"type": "mrkdwn", "text": f"*Tool*\n`{approval.tool}`"},
                {"type": "mrkdwn", "text": f"*Workflow*\n{approval.run.name[:200]}"},
            ],
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Why: {reasons[:1900]}"}]},
    ]
    link = {
        "type": "button",
        "text": {"type": "plain_text", "text": "Open in console"},
        "url": console_url(approval.pk),
    }
    if outcome:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": outcome[:2900]}})
        blocks.append({"type": "actions", "elements": [{**link, "action_id": OPEN_ACTION}]})
        return blocks
    elements: list[dict[str, Any]] = []
    if buttons:
        value = str(approval.pk)
        elements += [
            {
                "type": "button",
                "action_id": APPROVE_ACTION,
                "style": "primary",
                "text": {"type": "plain_text", "text": "Approve"},
                "value": value,
            },
            {
                "type": "button",
                "action_id": REJECT_ACTION,
                "style": "danger",
                "text": {"type": "plain_text", "text": "Reject"},
                "value": value,
            },
        ]
    elements.append({**link, "action_id": OPEN_ACTION})
    blocks.append({"type": "actions", "block_id": f"approval:{approval.pk}", "elements": elements})
    return blocks


def post_request(approval: ApprovalRequest, *, channel: str) -> dict[str, str]:
    """Post the request to ``channel``; returns ``{"channel", "ts"}`` to update it later. Raises on API errors."""
    answer = client().chat_postMessage(
        channel=channel,
        text=f"Approval needed ({approval.risk_level}): {approval.summary}",
        blocks=request_blocks(approval, buttons=decide_outside_console(approval)),
    )
    return {"channel": str(answer["channel"]), "ts": str(answer["ts"])}


def update_outcome(approval: ApprovalRequest, ref: Mapping[str, Any], outcome: str) -> None:
    """Replace a posted message's buttons with the outcome. Raises on API errors."""
    client().chat_update(
        channel=str(ref["channel"]),
        ts=str(ref["ts"]),
        text=outcome,
        blocks=request_blocks(approval, buttons=False, outcome=outcome),
    )


def signature_valid(body: bytes, headers: Mapping[str, str]) -> bool:
    """Whether a request really comes from Slack (HMAC with the signing secret, at most five minutes old)."""
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    if not settings.SLACK_SIGNING_SECRET or not timestamp.isdigit() or not signature:
        return False  # the verifier would choke on a missing or non-numeric timestamp
    verifier = SignatureVerifier(signing_secret=settings.SLACK_SIGNING_SECRET)
    return verifier.is_valid(body=body, timestamp=timestamp, signature=signature)


def person_for_slack_user(slack_user_id: str) -> Any | None:
    """The person behind a Slack user: an explicit link, else the one active account with the e-mail Slack verified
    for them (``users.info``). ``None`` when neither (or when the e-mail is ambiguous)."""
    linked = SlackIdentity.objects.select_related("user").filter(slack_user_id=slack_user_id).first()
    if linked is not None:
        return linked.user if linked.user.is_active else None
    try:
        answer = client().users_info(user=slack_user_id)
    except SlackApiError:  # unknown user, missing scope: not mapped
        return None
    profile = (answer.get("user") or {}).get("profile") or {}
    email = str(profile.get("email") or "").strip()
    if not email:
        return None
    matches = list(get_user_model().objects.filter(email__iexact=email, is_active=True)[:2])
    return matches[0] if len(matches) == 1 else None


def outcome_text(approval: ApprovalRequest, by: str) -> str:
    if approval.status == ApprovalStatus.APPROVED:
        return f":white_check_mark: Approved by {by}."
    if approval.status == ApprovalStatus.REJECTED:
        return f":x: Rejected by {by}."
    count = approval.decisions.filter(decision="approve").count()
    return f":hourglass: Approval by {by} recorded ({count} of {approval.required_approvals})."
