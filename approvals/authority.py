"""Who may decide an approval (SPEC §6 plus issue 15): the kind of decider, step-up, and separation of duties.

``approvals.services.decide_approval`` calls these under the request's row lock; the API, the console and the admin
all decide through it, so the rules hold whatever the interface.

- **Kind of decider, by policy.** The risk policy's ``deciders`` table says per level ``humans`` (a person in an
  interactive session) or ``humans_or_services`` (any credential with the decide scope, keys included). Defaults in
  ``DEFAULT_DECIDERS``. Refused: 403 ``decider_not_allowed``.
- **Step-up.** At ``STEP_UP_LEVELS`` a person must have authenticated within ``STEP_UP_MAX_AGE_SECONDS``
  (403 ``step_up_required`` otherwise); the method is recorded on the decision.
- **Separation of duties.** Principals, not credentials: a decider whose principals meet the requester's is the
  requester (403 ``self_approval_forbidden``); one whose principals meet an earlier decider's already voted
  (409 ``already_decided``), so a quorum counts distinct people and service accounts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from orchestrator.lib import stepup
from orchestrator.lib.auth import Caller
from orchestrator.principals import principals_for_actor

from .errors import AlreadyDecided, DeciderNotAllowed, SelfApprovalForbidden, StepUpRequired
from .models import ApprovalDecision, ApprovalRequest

HUMANS = "humans"
HUMANS_OR_SERVICES = "humans_or_services"
DECIDER_KINDS = (HUMANS, HUMANS_OR_SERVICES)
DEFAULT_DECIDERS: dict[str, str] = {
    "LOW": HUMANS_OR_SERVICES,
    "MEDIUM": HUMANS_OR_SERVICES,
    "HIGH": HUMANS,
    "CRITICAL": HUMANS,
}
STEP_UP_LEVELS = ("HIGH", "CRITICAL")


def authorize(*, caller: Caller, approval: ApprovalRequest, policy: Mapping[str, Any]) -> str:
    """All of this module's rules in the order a decider reads them: kind of decider, separation, step-up.

    Precondition: under the request's row lock, the request PENDING. Returns the step-up method to record on the
    decision (``""`` when none was needed). Raises the errors of the functions below.
    """
    check_kind(caller=caller, approval=approval, policy=policy)
    check_separation(caller=caller, approval=approval, prior=approval.decisions.all())
    return check_step_up(caller=caller, approval=approval)


def deciders_for(policy: Mapping[str, Any], level: str) -> str:
    """``humans`` or ``humans_or_services`` for ``level`` (the policy is schema-validated; defaults fill gaps)."""
    table = policy.get("deciders")
    value = table.get(level) if isinstance(table, Mapping) else None
    return value if value in DECIDER_KINDS else DEFAULT_DECIDERS.get(level, HUMANS)


def check_kind(*, caller: Caller, approval: ApprovalRequest, policy: Mapping[str, Any]) -> None:
    """Raise ``DeciderNotAllowed`` when the policy wants a person for this level and the caller is a key."""
    level = approval.risk_level
    if deciders_for(policy, level) == HUMANS and not caller.is_interactive_person:
        raise DeciderNotAllowed(
            f"{level} requests are decided by people signed in to the console; this policy does not let an API key "
            "decide them.",
            risk_level=level,
        )


def check_step_up(*, caller: Caller, approval: ApprovalRequest) -> str:
    """At ``STEP_UP_LEVELS`` a person needs a recent authentication; returns its method (``""`` when not asked).

    Raises ``StepUpRequired``. Keys (where the policy lets them decide) cannot re-authenticate and are not asked.
    """
    level = approval.risk_level
    if level not in STEP_UP_LEVELS or not caller.is_interactive_person:
        return ""
    if not stepup.is_recent(caller.auth_at):
        raise StepUpRequired(
            f"Deciding a {level} request needs a recent sign-in: confirm your password (or TOTP code) again.",
            risk_level=level,
        )
    return caller.auth_method or stepup.PASSWORD


def decision_principals(decision: ApprovalDecision) -> frozenset[str]:
    """The principals behind a recorded vote (stored since issue 15; derived for older votes)."""
    stored = frozenset(str(p) for p in decision.principals or ())
    return stored or principals_for_actor({"type": decision.decider_type, "id": decision.decider_id})


def check_separation(*, caller: Caller, approval: ApprovalRequest, prior: Iterable[ApprovalDecision]) -> None:
    """Refuse the requester (by any of their credentials) and a second vote by the same principal.

    Precondition: under the request's row lock, ``prior`` its recorded votes. Raises ``SelfApprovalForbidden`` or
    ``AlreadyDecided``. Reads keys to resolve the requester's principals.
    """
    mine = caller.principals
    requester = approval.requested_by or {}
    same_credential = str(requester.get("type")) == caller.kind and str(requester.get("id")) == caller.id
    if same_credential or mine & principals_for_actor(requester):
        raise SelfApprovalForbidden("The requester of an action cannot decide on it, with any of their credentials.")
    for vote in prior:
        same_vote_credential = vote.decider_type == caller.kind and vote.decider_id == caller.id
        if same_vote_credential or mine & decision_principals(vote):
            raise AlreadyDecided(
                "You (or a credential acting for you) already decided this request; another approver must complete "
                "the quorum."
            )


def is_requester(caller: Caller, approval: ApprovalRequest) -> bool:
    """For the console: whether ``caller`` counts as the requester (same rule as ``check_separation``)."""
    requester = approval.requested_by or {}
    if str(requester.get("type")) == caller.kind and str(requester.get("id")) == caller.id:
        return True
    return bool(caller.principals & principals_for_actor(requester))
