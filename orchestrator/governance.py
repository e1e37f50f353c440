"""Writes that change who may do what (issue 15): service accounts, API keys, memberships, a tenant's risk policy.

Every change writes an audit entry (``events.emit``, audit-only types) in its own transaction, with the actor from
the request context (the operator in the admin, the person or key on the API, ``system`` in commands). The API, the
admin and the management commands all call these, so no interface can change a credential unaudited.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db import IntegrityError, transaction
from django.utils import timezone

from orchestrator import events
from orchestrator.lib import keycache
from orchestrator.lib.auth import generate_key, hash_key
from orchestrator.lib.errors import InvalidInput, InvalidStateError
from orchestrator.models import ApiKey, Membership, Role, Scope, ServiceAccount, Tenant
from orchestrator.principals import owner_principal


def validate_scopes(scopes: list[str]) -> list[str]:
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown:
        raise InvalidInput(f"Unknown scope(s): {', '.join(unknown)}. Known: {', '.join(Scope.values)}.", field="scopes")
    return sorted(set(scopes))


def _user_ref(user: Any) -> dict[str, str] | None:
    return None if user is None else {"id": str(user.pk), "username": user.get_username()}


def create_service_account(
    *, tenant: Tenant, name: str, owner: Any = None, created_by: Any = None
) -> tuple[ServiceAccount, bool]:
    """Get or create the service account ``name`` of ``tenant``; returns ``(account, created)``.

    Side effect: ``service_account.created`` when new. ``owner`` (a person) makes its keys speak for that person.
    """
    name = (name or "").strip()[:100]
    if not name:
        raise InvalidInput("A service account needs a name.", field="name")
    existing = ServiceAccount.objects.filter(tenant=tenant, name=name).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            account = ServiceAccount.objects.create(tenant=tenant, name=name, owner=owner, created_by=created_by)
            events.emit(
                "service_account.created",
                tenant_id=tenant.pk,
                resource_type="service_account",
                resource_id=account.pk,
                data={"service_account_id": str(account.pk), "name": name, "owner": _user_ref(owner)},
                after={"name": name, "owner": _user_ref(owner)},
            )
    except IntegrityError:  # a concurrent creator won: use theirs
        return ServiceAccount.objects.get(tenant=tenant, name=name), False
    return account, True


def create_api_key(
    *,
    tenant: Tenant,
    name: str,
    scopes: list[str],
    owner_user: Any = None,
    service_account: ServiceAccount | None = None,
    created_by: Any = None,
) -> tuple[ApiKey, str]:
    """Create a key; returns ``(api_key, raw_key)`` (the raw key is not stored and not recoverable).

    Owner: ``owner_user`` (a personal key acting as that person), or ``service_account``, or, when neither is given
    (commands, scripts), the tenant's service account named like the key (created if needed). ``created_by`` is
    the person minting it. Side effects: ``api_key.created`` (and ``service_account.created``) audit entries.
    """
    if not name.strip():
        raise InvalidInput("A key needs a name.", field="name")
    if owner_user is not None and service_account is not None:
        raise InvalidInput("A key belongs to a person or to a service account, not both.", field="owner")
    if service_account is not None and service_account.tenant_id != tenant.pk:
        raise InvalidInput("The service account belongs to another tenant.", field="service_account_id")
    clean_scopes = validate_scopes(scopes)
    raw_key, prefix = generate_key()
    with transaction.atomic():
        if owner_user is None and service_account is None:
            service_account, _ = create_service_account(tenant=tenant, name=name, created_by=created_by)
        api_key = ApiKey.objects.create(
            tenant=tenant,
            name=name.strip()[:100],
            prefix=prefix,
            key_hash=hash_key(raw_key),
            scopes=clean_scopes,
            owner_user=owner_user,
            service_account=service_account,
            created_by=created_by,
        )
        events.emit(
            "api_key.created",
            tenant_id=tenant.pk,
            resource_type="api_key",
            resource_id=api_key.pk,
            data={
                "api_key_id": str(api_key.pk),
                "name": api_key.name,
                "prefix": prefix,
                "owner": owner_principal(api_key),
                "created_by": _user_ref(created_by),
            },
            after={"scopes": clean_scopes, "owner": owner_principal(api_key)},
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


def set_api_key_scopes(*, api_key: ApiKey, scopes: list[str]) -> ApiKey:
    """Replace a key's scopes. Side effects: ``api_key.scopes_changed`` (before/after); caches dropped."""
    clean = validate_scopes(scopes)
    with transaction.atomic():
        locked = ApiKey.objects.select_for_update().get(pk=api_key.pk)
        before = sorted(locked.scopes or [])
        if before == clean:
            return locked
        ApiKey.objects.filter(pk=locked.pk).update(scopes=clean)
        locked.scopes = clean
        keycache.invalidate_all()
        events.emit(
            "api_key.scopes_changed",
            tenant_id=locked.tenant_id,
            resource_type="api_key",
            resource_id=locked.pk,
            data={"api_key_id": str(locked.pk), "name": locked.name, "prefix": locked.prefix},
            before={"scopes": before},
            after={"scopes": clean},
        )
    return locked


def set_membership(*, tenant: Tenant, user: Any, role: str) -> tuple[Membership, bool]:
    """Give ``user`` ``role`` in ``tenant`` (adding them if needed); returns ``(membership, created)``.

    Side effects: ``membership.created`` or ``membership.role_changed`` (nothing when the role is unchanged).
    """
    if role not in Role.values:
        raise InvalidInput(f"Unknown role {role!r}.", field="role")
    with transaction.atomic():
        membership = Membership.objects.select_for_update().filter(tenant=tenant, user=user).first()
        before = membership.role if membership is not None else None
        if membership is None:
            membership = Membership.objects.create(tenant=tenant, user=user, role=role)
        elif membership.role != role:
            Membership.objects.filter(pk=membership.pk).update(role=role)
            membership.role = role
        else:
            return membership, False
        events.emit(
            "membership.created" if before is None else "membership.role_changed",
            tenant_id=tenant.pk,
            resource_type="membership",
            resource_id=membership.pk,
            data={"membership_id": str(membership.pk), "user": _user_ref(user), "role": role},
            before=None if before is None else {"role": before},
            after={"role": role},
        )
    return membership, before is None


def remove_membership(*, membership: Membership) -> None:
    """Remove a person from a tenant. Side effect: ``membership.deleted``."""
    with transaction.atomic():
        events.emit(
            "membership.deleted",
            tenant_id=membership.tenant_id,
            resource_type="membership",
            resource_id=membership.pk,
            data={"membership_id": str(membership.pk), "user": _user_ref(membership.user), "role": membership.role},
            before={"role": membership.role},
            after=None,
        )
        membership.delete()


def set_tenant_risk_policy(*, tenant: Tenant, policy: Any) -> Tenant:
    """Validate and save a tenant's risk-policy override (``{}`` = the settings default).

    Raises ``InvalidRiskPolicy`` (400, one error per field) and saves nothing when invalid. Side effect:
    ``tenant.risk_policy_changed`` with the before/after and a flat diff (nothing when unchanged).
    """
    from approvals.policy_schema import validate_tenant_override

    override = validate_tenant_override(policy)
    with transaction.atomic():
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        before = locked.risk_policy if isinstance(locked.risk_policy, dict) else {}
        if before == override:
            return locked
        Tenant.objects.filter(pk=locked.pk).update(risk_policy=override)
        locked.risk_policy = override
        events.emit(
            "tenant.risk_policy_changed",
            tenant_id=locked.pk,
            resource_type="tenant",
            resource_id=locked.pk,
            data={"tenant_id": str(locked.pk), "diff": policy_diff(before, override)},
            before={"risk_policy": before},
            after={"risk_policy": override},
        )
    tenant.risk_policy = override
    return locked


def policy_diff(before: Any, after: Any, path: str = "") -> list[dict[str, Any]]:
    """A flat diff of two JSON values: ``[{"path", "before", "after"}]``, one entry per changed leaf."""
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[dict[str, Any]] = []
        for key in sorted(set(before) | set(after), key=str):
            child = f"{path}.{key}" if path else str(key)
            out.extend(policy_diff(before.get(key), after.get(key), child))
        return out
    if before == after:
        return []
    return [{"path": path or "(root)", "before": before, "after": after}]


OPERATORS_GROUP = "operators"
# (app label, model, actions) the operators group may use in the admin; data migration 0006 creates the group
# from this table.
OPERATOR_PERMISSIONS: list[tuple[str, str, tuple[str, ...]]] = [
    ("orchestrator", "tenant", ("view", "change")),
    ("orchestrator", "membership", ("view", "add", "change", "delete")),
    ("orchestrator", "apikey", ("view", "change")),
    ("orchestrator", "serviceaccount", ("view", "add")),
    ("orchestrator", "workflowrun", ("view", "change")),
    ("orchestrator", "workflownode", ("view",)),
    ("orchestrator", "workflownoderun", ("view",)),
    ("approvals", "approvalrequest", ("view", "change")),
    ("approvals", "approvaldecision", ("view",)),
    ("approvals", "idempotencyrecord", ("view", "change")),
    ("webhooks", "webhookendpoint", ("view", "change", "delete")),
    ("webhooks", "webhookdelivery", ("view", "change")),
    ("workspaces", "workspace", ("view", "change")),
]


def ensure_operators_group() -> Group:
    """The ``operators`` group with its admin permissions, recreated when someone deleted it.

    Side effects: creates the group (and grants :data:`OPERATOR_PERMISSIONS`) only when it does not exist.
    """
    group, created = Group.objects.get_or_create(name=OPERATORS_GROUP)
    if created:
        for app_label, model, actions in OPERATOR_PERMISSIONS:
            codenames = [f"{action}_{model}" for action in actions]
            group.permissions.add(*Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames))
    return group
