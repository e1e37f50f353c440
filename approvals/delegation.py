"""Delegation (issue 20): "away from … to …, delegate to X". During the window X may decide what was routed to the
reviewer; the vote is recorded "by X on behalf of Y" (``ApprovalDecision.on_behalf_of``, the audit entry and the
webhook payload carry it through ``ApprovalDecision.as_dict``).

Writes here are services (console and admin call them) and are audited (``approval.delegation_created|revoked``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from orchestrator import events
from orchestrator.lib.errors import InvalidInput, InvalidStateError
from orchestrator.models import Membership, Tenant
from orchestrator.principals import principals_for_actor, user_principal

from .errors import AlreadyDecided, DelegationNotAllowed, SelfApprovalForbidden
from .models import ApprovalRequest, Delegation

MAX_DELEGATION_DAYS = 366


def _ref(user: Any) -> dict[str, str]:
    return {"id": str(user.pk), "username": user.get_username()}


def check_delegation(*, tenant: Tenant, delegator: Any, delegate: Any, starts_at: datetime, ends_at: datetime) -> None:
    """Raise ``InvalidInput`` or ``DelegationNotAllowed`` unless the delegation may be recorded (no side effects)."""
    if delegate.pk == delegator.pk:
        raise DelegationNotAllowed("You cannot delegate to yourself.", field="delegate")
    if ends_at <= starts_at:
        raise InvalidInput("The end of the absence must be after its start.", field="ends_at")
    if (ends_at - starts_at).days > MAX_DELEGATION_DAYS:
        raise InvalidInput(f"A delegation lasts at most {MAX_DELEGATION_DAYS} days.", field="ends_at")
    members = set(
        Membership.objects.filter(tenant=tenant, user__in=[delegator, delegate]).values_list("user_id", flat=True)
    )
    if delegator.pk not in members or delegate.pk not in members:
        raise DelegationNotAllowed("Both people must be members of the tenant.", field="delegate")


def create_delegation(
    *, tenant: Tenant, delegator: Any, delegate: Any, starts_at: datetime, ends_at: datetime, note: str = ""
) -> Delegation:
    """Record that ``delegator`` is away and ``delegate`` decides in their place between the two times.

    Preconditions: both are members of ``tenant``; the delegate is not the delegator; the window is forward and
    at most a year. Raises ``InvalidInput`` or ``DelegationNotAllowed``. Side effect: an
    ``approval.delegation_created`` audit entry (actor from the request context).
    """
    check_delegation(tenant=tenant, delegator=delegator, delegate=delegate, starts_at=starts_at, ends_at=ends_at)
    with transaction.atomic():
        row = Delegation.objects.create(
            tenant=tenant, delegator=delegator, delegate=delegate, starts_at=starts_at, ends_at=ends_at, note=note[:300]
        )
        events.emit(
            "approval.delegation_created",
            tenant_id=tenant.pk,
            resource_type="delegation",
            resource_id=row.pk,
            data={
                "delegation_id": str(row.pk),
                "delegator": _ref(delegator),
                "delegate": _ref(delegate),
                "starts_at": starts_at.isoformat(),
                "ends_at": ends_at.isoformat(),
            },
            after={"delegate": _ref(delegate), "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()},
        )
    return row


def revoke_delegation(*, delegation: Delegation) -> Delegation:
    """End a delegation now (twice is a 409). Side effect: ``approval.delegation_revoked``."""
    with transaction.atomic():
        now = timezone.now()
        if not Delegation.objects.filter(pk=delegation.pk, revoked_at__isnull=True).update(revoked_at=now):
            raise InvalidStateError("This delegation is already revoked.")
        delegation.revoked_at = now
        events.emit(
            "approval.delegation_revoked",
            tenant_id=delegation.tenant_id,
            resource_type="delegation",
            resource_id=delegation.pk,
            data={"delegation_id": str(delegation.pk)},
            before={"revoked_at": None},
            after={"revoked_at": now.isoformat()},
        )
    return delegation


def delegations_of(user: Any) -> QuerySet[Delegation]:
    """A person's delegations, given and received (newest first)."""
    return Delegation.objects.filter(Q(delegator=user) | Q(delegate=user)).select_related("delegator", "delegate")


def check_stand_in(*, approval: ApprovalRequest, on_behalf_of: dict[str, str]) -> None:
    """A delegate's vote counts for the absent reviewer too: refuse it when that reviewer requested the action or
    already voted. Precondition: under the request's row lock. The delegate's own separation of duties (never the
    requester) is ``approvals.authority``'s, as for anyone."""
    absent = user_principal(on_behalf_of["id"])
    if absent in principals_for_actor(approval.requested_by or {}):
        raise SelfApprovalForbidden("The reviewer you stand in for requested this action; they cannot decide it.")
    for vote in approval.decisions.all():
        if absent in (vote.principals or []):
            raise AlreadyDecided("The reviewer you stand in for already decided this request.")
