"""Who is calling: API keys (Bearer) for services, sessions for people, folded into one ``Caller``.

A ``Caller`` answers the two questions every interface asks: which tenants may I see, and may I do X in tenant
T. Roles map to scopes so that a person and a key are checked by the same rule.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from orchestrator.lib import context, keycache, throttling
from orchestrator.lib.errors import InvalidInput
from orchestrator.models import ApiKey, Membership, Role, Scope

KEY_PREFIX = "wfo_"

ROLE_SCOPES: dict[str, frozenset[str]] = {
    Role.VIEWER: frozenset(),
    Role.REVIEWER: frozenset({Scope.APPROVALS_DECIDE}),
    Role.OPERATOR: frozenset(Scope.values),
}


def hash_key(raw_key: str) -> str:
    """API keys are 32 random bytes, so a plain SHA-256 is enough (no slow hash needed against guessing)."""
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


def generate_key() -> tuple[str, str]:
    """Return ``(raw_key, prefix)``; the raw key is shown once and never stored."""
    prefix = secrets.token_hex(4)
    return f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}", prefix


@dataclass(frozen=True)
class Caller:
    """An authenticated principal and what it may do per tenant."""

    kind: str  # "api_key" | "user"
    id: str
    display: str
    scopes_by_tenant: dict[Any, frozenset[str]] = field(default_factory=dict)
    roles_by_tenant: dict[Any, str] = field(default_factory=dict)
    user: Any = None
    api_key: ApiKey | None = None
    # Who this credential speaks for (``user:<id>``, ``service_account:<id>``): separation of duties compares these.
    principals: frozenset[str] = frozenset()
    # Sessions only: when (epoch seconds) and how ("password" | "totp") the person last proved who they are.
    auth_at: float | None = None
    auth_method: str = ""

    @property
    def is_interactive_person(self) -> bool:
        """A person in a browser session (not a key, not even the person's own key)."""
        return self.kind == "user"

    @property
    def idempotency_scope(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def actor(self) -> context.Actor:
        return context.Actor(type=self.kind, id=self.id, display=self.display)

    def tenant_ids(self) -> list[Any]:
        return list(self.scopes_by_tenant)

    def can_read(self, tenant_id: Any, scope: str | None = None) -> bool:
        """Members read everything in their tenants; keys read what their scopes cover."""
        if tenant_id not in self.scopes_by_tenant:
            return False
        if self.kind == "user" or scope is None:
            return True
        return scope in self.scopes_by_tenant[tenant_id]

    def has_scope(self, scope: str, tenant_id: Any | None = None) -> bool:
        if tenant_id is not None:
            return scope in self.scopes_by_tenant.get(tenant_id, frozenset())
        return any(scope in scopes for scopes in self.scopes_by_tenant.values())

    def tenants_with_scope(self, scope: str | None) -> list[Any]:
        """Tenants where the caller holds ``scope`` (all of its tenants when ``scope`` is None)."""
        if scope is None:
            return self.tenant_ids()
        return [t for t, scopes in self.scopes_by_tenant.items() if scope in scopes]

    def readable_tenants(self, scope: str | None) -> list[Any]:
        """Tenants whose objects of this kind the caller may read (people: every membership)."""
        return self.tenant_ids() if self.kind == "user" else self.tenants_with_scope(scope)

    def tenant_for_write(self, scope: str, requested: Any | None = None) -> Any:
        """The tenant a new object goes to: the key's tenant, or the person's only (or named) tenant.

        Raises ``InvalidInput`` when a person in several tenants does not say which, and ``PermissionDenied``
        (DRF) when the caller lacks ``scope`` there.
        """
        allowed = [t for t, scopes in self.scopes_by_tenant.items() if scope in scopes]
        if requested is not None:
            match = [t for t in self.scopes_by_tenant if str(t) == str(requested)]
            if not match:
                raise InvalidInput("Unknown tenant.", field="tenant_id")
            if match[0] not in allowed:
                raise exceptions.PermissionDenied(f"Missing scope or role for '{scope}' in this tenant.")
            return match[0]
        if len(allowed) == 1:
            return allowed[0]
        if not allowed:
            raise exceptions.PermissionDenied(f"Missing scope or role for '{scope}'.")
        raise InvalidInput("You belong to several tenants: say which with tenant_id.", field="tenant_id")


def caller_for_api_key(api_key: ApiKey) -> Caller:
    from orchestrator.principals import principals_for_key

    return Caller(
        kind="api_key",
        id=str(api_key.pk),
        display=f"{api_key.name} ({api_key.prefix})",
        scopes_by_tenant={api_key.tenant_id: frozenset(api_key.scopes)},
        roles_by_tenant={},
        api_key=api_key,
        principals=principals_for_key(api_key),
    )


def caller_for_user(user: Any, session: Any = None) -> Caller:
    """The caller for a signed-in person; pass the session so the recent authentication (step-up) is known."""
    from orchestrator.lib import stepup
    from orchestrator.principals import user_principal

    memberships = list(Membership.objects.filter(user=user).values_list("tenant_id", "role"))
    auth_at, auth_method = stepup.last_authentication(session)
    return Caller(
        kind="user",
        id=str(user.pk),
        display=user.get_username(),
        scopes_by_tenant={tenant_id: ROLE_SCOPES.get(role, frozenset()) for tenant_id, role in memberships},
        roles_by_tenant=dict(memberships),
        user=user,
        principals=frozenset({user_principal(user.pk)}),
        auth_at=auth_at,
        auth_method=auth_method,
    )


def get_caller(request: Request) -> Caller | None:
    """The caller behind a DRF request (cached on it), or ``None`` when anonymous."""
    cached = getattr(request, "_caller", None)
    if cached is not None:
        return cached
    caller: Caller | None = None
    if isinstance(request.auth, ApiKey):
        caller = caller_for_api_key(request.auth)
    elif request.user is not None and request.user.is_authenticated:
        caller = caller_for_user(request.user, getattr(request._request, "session", None))
    request._caller = caller  # type: ignore[attr-defined]
    return caller


class ApiKeyUser:
    """Stands in for ``request.user`` when a service authenticates with a key."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, api_key: ApiKey) -> None:
        self.api_key = api_key
        self.pk = None
        self.id = None

    def get_username(self) -> str:
        return f"api_key:{self.api_key.prefix}"

    def __str__(self) -> str:
        return self.get_username()


def lookup_api_key(raw_key: str, request: Any = None) -> ApiKey | None:
    """The active key matching ``raw_key``, touching ``last_used_at`` at most once a minute.

    Lookups are cached per process and dropped everywhere when any key changes (``orchestrator.lib.keycache``).
    With the Django ``request`` and a key this process has seen, the request's throttle count is fetched in the
    same Redis round trip as the cache epoch and kept on the request (``orchestrator.lib.throttling.prefetch``).
    """
    if not raw_key.startswith(KEY_PREFIX) or len(raw_key) > 200:
        return None
    key_hash = hash_key(raw_key)
    # The epoch is read before the lookup: a change committed meanwhile makes the entry stale.
    seen = keycache.peek(key_hash) if request is not None else None
    plan = throttling.plan_for_api_key(seen.pk) if seen is not None else None
    if plan is not None:
        epoch, results = keycache.read_epoch_with(throttling.prefetch(plan))
        throttling.keep_prefetched(request, plan, results)
    else:
        epoch = keycache.read_epoch()
    hit, api_key = keycache.get(key_hash, epoch)
    if not hit:
        api_key = ApiKey.objects.select_related("service_account").filter(key_hash=key_hash, revoked_at=None).first()
        keycache.put(key_hash, api_key, epoch)
    if api_key is None:
        return None
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > settings.API_KEY_TOUCH_INTERVAL:
        # A conditional update: no write per request, and no lost update between processes.
        ApiKey.objects.filter(pk=api_key.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - settings.API_KEY_TOUCH_INTERVAL)
        ).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


def bearer_token(meta: dict[str, Any]) -> str | None:
    header = str(meta.get("HTTP_AUTHORIZATION", ""))
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <key>``. An invalid or revoked key is a 401, never a fall-through."""

    def authenticate(self, request: Request) -> tuple[ApiKeyUser, ApiKey] | None:
        token = bearer_token(request.META)
        if token is None:
            if str(request.META.get("HTTP_AUTHORIZATION", "")).strip():
                raise exceptions.AuthenticationFailed("Use 'Authorization: Bearer <api key>'.")
            return None
        cached = getattr(request._request, "_api_key", None)
        api_key = cached if cached is not None else lookup_api_key(token, request._request)
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        context.set_actor(caller_for_api_key(api_key).actor)
        return ApiKeyUser(api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
