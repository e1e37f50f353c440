"""Reads scoped to the caller. Every queryset an interface hands out passes through one of these."""

from __future__ import annotations

from django.db.models import QuerySet

from orchestrator.lib.auth import Caller
from orchestrator.models import ApiKey, Role


def api_keys_for(caller: Caller) -> QuerySet[ApiKey]:
    """Keys of the tenants where the caller is an operator (keys never see keys)."""
    if caller.kind != "user":
        return ApiKey.objects.none()
    tenants = [t for t, role in caller.roles_by_tenant.items() if role == Role.OPERATOR]
    return ApiKey.objects.filter(tenant_id__in=tenants).select_related("tenant")
