"""Decision links (issue 20): signed, single-purpose, expiring with the request, never deciding on GET.

A link names one request, one decision (approve or reject) and the person it was sent to, signed with the
project's ``SECRET_KEY`` under a salt used for nothing else. Opening it (signed in, stepped up where the level asks)
shows a confirmation page whose form posts to the console's decide endpoint: the service decides, with every rule.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from orchestrator.lib.errors import DomainError

from .models import ApprovalRequest, ApprovalStatus, DecisionKind

SALT = "approvals.decision-link.v1"


class InvalidDecisionLink(DomainError):
    status, code, title = 400, "invalid_decision_link", "This decision link is not valid"


class DecisionLinkExpired(DomainError):
    status, code, title = 410, "decision_link_expired", "This decision link has expired"


class DecisionLinkForSomeoneElse(DomainError):
    status, code, title = 403, "decision_link_not_yours", "This decision link was sent to someone else"


def make_token(approval: ApprovalRequest, decision: str, user_id: Any) -> str:
    """The signed token of a link (no side effects)."""
    return signing.dumps({"a": str(approval.pk), "d": decision, "u": str(user_id)}, salt=SALT, compress=True)


def link_url(approval: ApprovalRequest, decision: str, user_id: Any) -> str:
    """The absolute link to the confirmation page of ``decision`` on ``approval`` for one recipient."""
    path = reverse("console:decision_link", args=[approval.pk, make_token(approval, decision, user_id)])
    return settings.CONSOLE_BASE_URL + path


def read_token(token: str, *, approval: ApprovalRequest, user_id: Any, now: datetime | None = None) -> str:
    """The decision a link stands for. Raises ``InvalidDecisionLink`` (forged, altered, another request),
    ``DecisionLinkExpired`` (the request is past its expiry or no longer pending) or ``DecisionLinkForSomeoneElse``.
    """
    try:
        data = signing.loads(token, salt=SALT)
    except signing.BadSignature as exc:
        raise InvalidDecisionLink("This link is damaged or was not issued by this service.") from exc
    if not isinstance(data, dict) or data.get("a") != str(approval.pk) or data.get("d") not in DecisionKind.values:
        raise InvalidDecisionLink("This link is not for this request.")
    if approval.status != ApprovalStatus.PENDING or approval.expires_at <= (now or timezone.now()):
        raise DecisionLinkExpired("This request is no longer waiting for a decision; the link has expired.")
    if data.get("u") != str(user_id):
        raise DecisionLinkForSomeoneElse("This link was sent to another reviewer; open the request in the console.")
    return str(data["d"])
