"""DRF permission classes: authenticated callers with the scope (keys) or role (people) a view needs.

Views declare ``required_scope`` (reads and writes) and may narrow writes per action with
``action_scopes = {"approve": "approvals:decide"}``. Object checks happen in selectors (another tenant's object
is a 404) and services (``require_scope`` against the object's tenant).
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, permissions
from rest_framework.request import Request

from orchestrator.lib.auth import Caller, get_caller


def require_scope(caller: Caller, scope: str, tenant_id: Any) -> None:
    """Raise 403 unless ``caller`` holds ``scope`` in ``tenant_id`` (the object is already known readable)."""
    if not caller.has_scope(scope, tenant_id):
        raise exceptions.PermissionDenied(f"Missing scope or role for '{scope}'.")


class IsTenantCaller(permissions.BasePermission):
    """Authenticated, member of at least one tenant, and holding the view's scope for this kind of request."""

    message = "Missing scope or role for this operation."

    def has_permission(self, request: Request, view: Any) -> bool:
        caller = get_caller(request)
        if caller is None:
            raise exceptions.NotAuthenticated()
        if not caller.tenant_ids():
            return False
        scope = getattr(view, "action_scopes", {}).get(getattr(view, "action", None))
        if scope is None:
            scope = getattr(view, "required_scope", None)
        if request.method in permissions.SAFE_METHODS and getattr(view, "action", None) not in getattr(
            view, "action_scopes", {}
        ):
            return bool(caller.readable_tenants(scope))
        if scope is None:
            return True
        if caller.has_scope(scope):
            return True
        self.message = f"Missing scope or role for '{scope}'."
        return False
