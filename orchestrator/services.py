"""Writes for tenancy and credentials: tenants, memberships, API keys.

The workflow engine's services (create/start/cancel runs) join this module when the engine lands.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from orchestrator import events
from orchestrator.lib import keycache
from orchestrator.lib.auth import generate_key, hash_key
from orchestrator.lib.errors import InvalidInput, InvalidStateError
from orchestrator.models import ApiKey, Membership, Role, Scope, Tenant


def ensure_tenant(*, slug: str, name: str | None = None) -> tuple[Tenant, bool]:
    """Get or create the tenant ``slug``; safe to call twice (and concurrently). Returns ``(tenant, created)``."""
    try:
        with transaction.atomic():
            return Tenant.objects.get_or_create(slug=slug, defaults={"name": name or slug})
    except IntegrityError:
        return Tenant.objects.get(slug=slug), False


def validate_scopes(scopes: list[str]) -> list[str]:
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown:
        raise InvalidInput(f"Unknown scope(s): {', '.join(unknown)}. Known: {', '.join(Scope.values)}.", field="scopes")
    return sorted(set(scopes))


def create_api_key(*, tenant: Tenant, name: str, scopes: list[str]) -> tuple[ApiKey, str]:
    """Create a key for ``tenant``; returns ``(api_key, raw_key)``. The raw key is not stored and not recoverable."""
    if not name.strip():
        raise InvalidInput("A key needs a name.", field="name")
    raw_key, prefix = generate_key()
    api_key = ApiKey.objects.create(
        tenant=tenant,
        name=name.strip()[:100],
        prefix=prefix,
        key_hash=hash_key(raw_key),
        scopes=validate_scopes(scopes),
    )
    return api_key, raw_key


def revoke_api_key(*, api_key: ApiKey) -> ApiKey:
    """Revoke a key; revoking twice is a 409 so scripts notice a typo'd id.

    Side effect: an ``api_key.revoked`` audit entry in the same transaction (actor from the request context).
    """
    with transaction.atomic():
        updated = ApiKey.objects.filter(pk=api_key.pk, revoked_at=None).update(revoked_at=timezone.now())
        if not updated:
            raise InvalidStateError("This API key is already revoked.")
        api_key.refresh_from_db(fields=["revoked_at"])
        assert api_key.revoked_at is not None
        keycache.invalidate_all()  # after commit: every process refuses the key on its next request
        events.emit(
            "api_key.revoked",
            tenant_id=api_key.tenant_id,
            resource_type="api_key",
            resource_id=api_key.pk,
            data={"api_key_id": str(api_key.pk), "name": api_key.name, "prefix": api_key.prefix},
            before={"revoked_at": None},
            after={"revoked_at": api_key.revoked_at.isoformat()},
        )
    return api_key


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
    Membership.objects.update_or_create(user=user, tenant=tenant, defaults={"role": role})
    return user, created


# Workflow run services live in ``orchestrator.runs`` (this module would pass 400 lines); re-exported here so
# interfaces find every write under ``services``.
from orchestrator.runs import (  # noqa: E402
    cancel_run,
    complete_node_run,
    create_run,
    fail_node_run,
    retry_node,
    start_run,
)

__all__ = [
    "cancel_run",
    "complete_node_run",
    "create_api_key",
    "create_run",
    "ensure_member",
    "ensure_tenant",
    "fail_node_run",
    "retry_node",
    "revoke_api_key",
    "start_run",
    "validate_scopes",
]
