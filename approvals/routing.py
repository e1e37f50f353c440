"""Routing (issue 20): which reviewer groups a request goes to, how long they have, and who may decide it.

A rule of the effective routing (``approvals.routing_config``) matches on the tool (fnmatch patterns), the risk
level, the workflow (run) name (patterns) or its tags (``run.metadata["tags"]``); the first rule that matches routes
the request. No rule: the request is not routed and every reviewer of the tenant may decide it, as before.

Groups are Django groups; a member counts for a request only in the request's tenant, and only with a role that may
decide there (the service checks the scope first). A delegate (``approvals.delegation``) of a member may decide in
the member's place during the delegation's window.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from orchestrator.lib.auth import Caller
from orchestrator.models import Membership, Role, WorkflowRun

from .errors import NotRoutedReviewer
from .models import ApprovalRequest, Delegation
from .routing_config import routing_for_tenant

DECIDING_ROLES = (Role.REVIEWER, Role.OPERATOR)


@dataclass(frozen=True)
class Route:
    """What routing decided for a new request."""

    rule: str = ""
    groups: list[str] = field(default_factory=list)
    escalation_groups: list[str] = field(default_factory=list)
    quorum: int | None = None
    slack_channel: str = ""
    expiry: timedelta = timedelta(minutes=60)
    reminder_fraction: float = 0.5
    escalation_fraction: float = 0.75

    def deadlines(self, created_at: datetime) -> dict[str, Any]:
        """``expires_at``, ``remind_at`` and ``escalate_at`` of a request created at ``created_at``."""
        return {
            "expires_at": created_at + self.expiry,
            "remind_at": created_at + self.expiry * self.reminder_fraction if self.groups else None,
            "escalate_at": created_at + self.expiry * self.escalation_fraction if self.escalation_groups else None,
        }


def _patterns_match(value: str, patterns: Any) -> bool:
    return isinstance(patterns, list) and any(fnmatch.fnmatchcase(value, str(p)) for p in patterns)


def rule_matches(rule: Mapping[str, Any], *, tool: str, level: str, workflow: str, tags: Iterable[str]) -> bool:
    """Every criterion the rule's ``match`` names holds (no ``match``: the rule matches everything)."""
    match = rule.get("match") or {}
    if "tools" in match and not _patterns_match(tool, match["tools"]):
        return False
    if "risk_levels" in match and level not in match["risk_levels"]:
        return False
    if "workflows" in match and not _patterns_match(workflow, match["workflows"]):
        return False
    return not ("tags" in match and not set(map(str, match["tags"])) & set(tags))


def run_tags(run: WorkflowRun) -> list[str]:
    tags = (run.metadata or {}).get("tags") if isinstance(run.metadata, dict) else None
    return [str(t) for t in tags] if isinstance(tags, list) else []


def route_for(*, tenant_id: Any, run: WorkflowRun, tool: str, level: str) -> Route:
    """The route of a new request (reads the tenant's routing override: one query)."""
    config = routing_for_tenant(tenant_id)
    minutes = (config.get("expiry_minutes") or {}).get(level, settings.HIGH_RISK_APPROVAL_EXPIRY_MINUTES)
    base: dict[str, Any] = {
        "expiry": timedelta(minutes=minutes),
        "reminder_fraction": float(config.get("reminder_fraction", 0.5)),
        "escalation_fraction": float(config.get("escalation_fraction", 0.75)),
    }
    tags = run_tags(run)
    for rule in config.get("rules") or []:
        if rule_matches(rule, tool=tool, level=level, workflow=run.name, tags=tags):
            return Route(
                rule=str(rule.get("name", "")),
                groups=[str(g) for g in rule.get("groups", [])],
                escalation_groups=[str(g) for g in rule.get("escalation_groups", [])],
                quorum=rule.get("quorum"),
                slack_channel=str(rule.get("slack_channel", "")),
                **base,
            )
    return Route(**base)


def decide_outside_console(approval: ApprovalRequest) -> bool:
    """Whether the tenant's routing lets this level be decided from a notification (Slack buttons)."""
    table = routing_for_tenant(approval.tenant_id).get("decide_outside_console") or {}
    return bool(table.get(approval.risk_level, False))


def effective_groups(approval: ApprovalRequest) -> list[str]:
    """The groups that may decide now: the assigned ones, plus the escalation groups once escalated."""
    groups = list(approval.assigned_groups or [])
    if approval.escalated_at is not None:
        groups += [g for g in approval.escalation_groups or [] if g not in groups]
    return groups


def members_of(tenant_id: Any, groups: Iterable[str]) -> QuerySet[Any]:
    """Active people in any of ``groups`` who may decide in ``tenant_id``."""
    deciders = Membership.objects.filter(tenant_id=tenant_id, role__in=DECIDING_ROLES).values("user_id")
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=list(groups), pk__in=deciders)
        .distinct()
        .order_by("pk")
    )


def _person_of(caller: Caller) -> Any:
    """The person a credential acts for in groups: the session's user or a personal key's owner."""
    if caller.kind == "user":
        return caller.user.pk if caller.user is not None else caller.id
    if caller.api_key is not None and caller.api_key.owner_user_id is not None:
        return caller.api_key.owner_user_id
    return None


def check_assignment(*, caller: Caller, approval: ApprovalRequest, now: datetime) -> dict[str, str] | None:
    """Refuse a decider outside the routed groups; return whom a delegate decides for (``None``: for themselves).

    Precondition: under the request's row lock. Unrouted requests accept every decider. Raises
    ``NotRoutedReviewer`` (403 ``not_routed_reviewer``). A member's own membership wins over a delegation.
    """
    groups = effective_groups(approval)
    if not groups:
        return None
    person = _person_of(caller)
    if person is None:
        raise NotRoutedReviewer(
            "This request is routed to reviewer groups; only their members (or their delegates) may decide it.",
            groups=groups,
        )
    members = members_of(approval.tenant_id, groups)
    if members.filter(pk=person).exists():
        return None
    delegation = (
        Delegation.objects.filter(
            tenant_id=approval.tenant_id,
            delegate_id=person,
            starts_at__lte=now,
            ends_at__gt=now,
            revoked_at__isnull=True,
            delegator__in=members,
        )
        .select_related("delegator")
        .order_by("starts_at")
        .first()
    )
    if delegation is None:
        raise NotRoutedReviewer(
            f"This request is routed to {', '.join(groups)}; you are not a member and nobody there delegated to you.",
            groups=groups,
        )
    who = delegation.delegator
    return {"type": "user", "id": str(who.pk), "display": who.get_username()}


def assigned_to_user_q(user: Any, tenant_ids: list[Any], now: datetime) -> Q:
    """Requests a person may decide by routing: their groups, or the groups of someone delegating to them now."""
    names = list(user.groups.values_list("name", flat=True))
    delegators = Delegation.objects.filter(
        delegate=user, tenant_id__in=tenant_ids, starts_at__lte=now, ends_at__gt=now, revoked_at__isnull=True
    ).values_list("delegator_id", flat=True)
    names += list(
        get_user_model()
        .groups.through.objects.filter(user_id__in=list(delegators))
        .values_list("group__name", flat=True)
    )
    return groups_q(sorted(set(names)))


def _has(field_name: str, name: str) -> Q:
    # JSON containment on PostgreSQL (exact); SQLite has no JSON ``contains``, so the quoted name in the JSON text
    # (a console filter only: deciding checks membership exactly in ``check_assignment``).
    if connection.vendor == "postgresql":
        return Q(**{f"{field_name}__contains": [name]})
    return Q(**{f"{field_name}__icontains": json.dumps(name)})


def groups_q(names: list[str]) -> Q:
    """Requests whose assigned (or, once escalated, escalation) groups include any of ``names``."""
    query = Q(pk__in=[])
    for name in names:
        query |= _has("assigned_groups", name) | (Q(escalated_at__isnull=False) & _has("escalation_groups", name))
    return query


ASSIGNED_CHOICES = {"me": "Assigned to me", "groups": "My groups"}


def filter_assigned(rows: QuerySet[ApprovalRequest], caller: Caller, assigned: str | None) -> QuerySet[ApprovalRequest]:
    """The queue narrowed to "Assigned to me" (my groups and those of people delegating to me now) or "My groups"."""
    if caller.user is None or assigned not in ASSIGNED_CHOICES:
        return rows
    if assigned == "me":
        return rows.filter(assigned_to_user_q(caller.user, caller.tenant_ids(), timezone.now()))
    return rows.filter(groups_q(sorted(caller.user.groups.values_list("name", flat=True))))


def in_groups(*, caller: Caller, tenant_id: Any, groups: Iterable[str]) -> bool:
    """Whether ``caller`` is a person (a session or a personal key) in one of ``groups`` with a role that may decide
    in ``tenant_id``: the membership rule of routed requests, for other work assigned to groups (an INPUT node)."""
    person = _person_of(caller)
    return person is not None and members_of(tenant_id, groups).filter(pk=person).exists()
