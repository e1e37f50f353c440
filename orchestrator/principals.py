"""Who a credential speaks for: the principals behind a session, an API key or a recorded actor (reads only).

A principal is a person (``user:<id>``) or a named service account (``service_account:<id>``). Separation of
duties compares principal sets, never credentials: a credential speaks for its owner principal, for the person who
minted it and for the person who owns its service account. Two credentials whose sets meet are "the same people"
(docs/decisions.md, "Principals").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator.lib.ids import parse_uuid
from orchestrator.models import ApiKey


def user_principal(user_id: Any) -> str:
    return f"user:{user_id}"


def service_account_principal(service_account_id: Any) -> str:
    return f"service_account:{service_account_id}"


def principals_for_key(api_key: ApiKey) -> frozenset[str]:
    """The principals ``api_key`` speaks for. Precondition: ``service_account`` loaded (select_related) or cheap.

    No query when the key was loaded with ``select_related("service_account")``.
    """
    found: set[str] = set()
    if api_key.owner_user_id is not None:
        found.add(user_principal(api_key.owner_user_id))
    if api_key.service_account_id is not None:
        found.add(service_account_principal(api_key.service_account_id))
        owner_id = api_key.service_account.owner_id if api_key.service_account else None
        if owner_id is not None:
            found.add(user_principal(owner_id))
    if api_key.created_by_id is not None:
        found.add(user_principal(api_key.created_by_id))
    return frozenset(found)


def owner_principal(api_key: ApiKey) -> str:
    """The one principal a key acts as (its person or its service account)."""
    if api_key.owner_user_id is not None:
        return user_principal(api_key.owner_user_id)
    return service_account_principal(api_key.service_account_id)


def principals_for_actor(actor: Mapping[str, Any] | None) -> frozenset[str]:
    """The principals behind a recorded actor ``{"type", "id", ...}`` (a requester, a decider).

    ``user`` → that person; ``api_key`` → the key's principals (revoked keys included: a request outlives the key
    that made it); ``system`` or unknown → none. An explicit ``principals`` list recorded with it is added.
    """
    if not isinstance(actor, Mapping):
        return frozenset()
    found: set[str] = {str(p) for p in actor.get("principals", ()) or () if isinstance(p, str)}
    kind, ident = str(actor.get("type", "")), str(actor.get("id", ""))
    if kind == "user" and ident:
        found.add(user_principal(ident))
    elif kind == "api_key" and (key_id := parse_uuid(ident)) is not None:
        api_key = ApiKey.objects.select_related("service_account").filter(pk=key_id).first()
        if api_key is not None:
            found |= principals_for_key(api_key)
    return frozenset(found)
