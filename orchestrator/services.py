"""Writes for tenancy and credentials: tenants, memberships, API keys.

The workflow engine's services are in the engine's modules (``orchestrator.runs``, ``completion``, ``progress``).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

# API keys and memberships are governance writes, audited (issue 15): re-exported from ``orchestrator.governance``.
from orchestrator.governance import create_api_key, revoke_api_key, set_membership, validate_scopes
from orchestrator.lib.errors import InvalidInput
from orchestrator.models import Role, Tenant


def ensure_tenant(*, slug: str, name: str | None = None) -> tuple[Tenant, bool]:
    """Get or create the tenant ``slug``; safe to call twice (and concurrently). Returns ``(tenant, created)``."""
    try:
        with transaction.atomic():
            return Tenant.objects.get_or_create(slug=slug, defaults={"name": name or slug})
    except IntegrityError:
        return Tenant.objects.get(slug=slug), False


def ensure_member(
    *, tenant: Tenant, username: str, role: str, password: str | None = None, email: str = ""
) -> tuple[Any, bool]:
    """Get or create a user with ``role`` in ``tenant``; sets the password only when the user is new."""
    if role not in Role.values:
        raise InvalidInput(f"Unknown role {role!r}.", field="role")
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(username=username, defaults={"email": email})
    if created:
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(update_fields=["password"])
    set_membership(tenant=tenant, user=user, role=role)
    return user, created


__all__ = [
    "create_api_key",
    "ensure_member",
    "ensure_tenant",
    "revoke_api_key",
    "validate_scopes",
]
