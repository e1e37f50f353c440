"""Who may call the approvals API: reads by any member (people) or a key with an approvals scope; asking and
executing need ``approvals:request``; deciding needs ``approvals:decide`` (reviewer or operator role)."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, permissions
from rest_framework.request import Request

from orchestrator.lib.auth import get_caller
from orchestrator.models import Scope

from ..selectors import approval_tenants

ACTION_SCOPES = {
    "request_approval": Scope.APPROVALS_REQUEST,
    "execute": Scope.APPROVALS_REQUEST,
    "result": Scope.APPROVALS_REQUEST,
    "approve": Scope.APPROVALS_DECIDE,
    "reject": Scope.APPROVALS_DECIDE,
}


class ApprovalsPermission(permissions.BasePermission):
    message = "Missing scope or role for this operation."

    def has_permission(self, request: Request, view: Any) -> bool:
        caller = get_caller(request)
        if caller is None:
            raise exceptions.NotAuthenticated()
        scope = ACTION_SCOPES.get(getattr(view, "action", None) or "")
        if scope is None:
            return bool(approval_tenants(caller))
        if caller.has_scope(scope):
            return True
        self.message = f"Missing scope or role for '{scope}'."
        return False
