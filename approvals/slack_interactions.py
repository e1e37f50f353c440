"""Slack button presses (issue 20): map the Slack user to a person and decide through ``services.decide_approval``
with every rule (routing, separation of duties, who may decide, step-up), then update the posted message.

Precondition: the request was verified (``slack.signature_valid``). Answers are the text shown to the presser;
nothing here raises for a refusal.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from orchestrator.lib.auth import caller_for_user
from orchestrator.lib.errors import DomainError, NotFoundError

from . import selectors, services, slack
from .errors import StepUpRequired
from .events import console_url
from .models import DecisionKind
from .routing import decide_outside_console

logger = logging.getLogger(__name__)

DECISIONS = {slack.APPROVE_ACTION: DecisionKind.APPROVE, slack.REJECT_ACTION: DecisionKind.REJECT}
SLACK_REJECT_REASON = "Rejected from Slack"


def _message_ref(payload: Mapping[str, Any]) -> dict[str, str] | None:
    container = payload.get("container") or {}
    channel = container.get("channel_id") or (payload.get("channel") or {}).get("id")
    ts = container.get("message_ts") or (payload.get("message") or {}).get("ts")
    return {"channel": str(channel), "ts": str(ts)} if channel and ts else None


def handle(payload: Mapping[str, Any]) -> str:
    """Handle one ``block_actions`` payload; returns what to tell the presser ("" when there is nothing to do).

    Side effects: a decision (through the service) and, when one was recorded, the Slack message updated with the
    outcome (a failure to update is logged: the decision stands).
    """
    actions = payload.get("actions") or []
    action = actions[0] if actions and isinstance(actions[0], Mapping) else {}
    decision = DECISIONS.get(str(action.get("action_id", "")))
    if payload.get("type") != "block_actions" or decision is None:
        return ""  # "Open in console" is a plain link button
    person = slack.person_for_slack_user(str((payload.get("user") or {}).get("id", "")))
    if person is None:
        return (
            "Your Slack account is not linked to a console account (same verified e-mail, or a link an admin "
            "adds). Decide in the console."
        )
    caller = caller_for_user(person)  # no session: never a recent sign-in, so step-up levels go to the console
    try:
        approval = selectors.get_approval_for(caller, uuid.UUID(str(action.get("value", ""))))
    except (NotFoundError, ValueError):
        return "This request does not exist or is not in one of your tenants."
    link = console_url(approval.pk)
    if not decide_outside_console(approval):
        return f"{approval.risk_level} requests are decided in the console: {link}"
    try:
        decided = services.decide_approval(
            caller=caller,
            approval=approval,
            decision=decision,
            reason=SLACK_REJECT_REASON if decision == DecisionKind.REJECT else "",
        )
    except StepUpRequired:
        return f"This decision needs a recent sign-in. Open in console: {link}"
    except DomainError as exc:
        return f"Not recorded: {exc.detail} ({exc.code}). Open in console: {link}"
    vote = decided.decisions.filter(decider_id=caller.id).order_by("-created_at").first()
    by = person.get_username()
    if vote is not None and vote.on_behalf_of:
        by = f"{by} on behalf of {vote.on_behalf_of.get('display')}"
    outcome = slack.outcome_text(decided, by)
    ref = _message_ref(payload)
    if ref is not None:
        try:
            slack.update_outcome(decided, ref, outcome)
        except Exception:  # the decision is recorded; a stale message is only cosmetic
            logger.exception("could not update the Slack message of approval %s", decided.pk)
    return outcome
