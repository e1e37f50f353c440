"""The routing configuration (issue 20): ``settings.APPROVAL_ROUTING`` with a tenant's override merged over it,
validated by ``approvals/schemas/routing.schema.json`` and audited when a tenant's override changes.

Same pattern as the risk policy (``approvals.policy_schema``): the settings value is checked at start-up, a tenant
override before it is saved, merged over the settings value so a partial override is judged as it applies.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction

from orchestrator import events
from orchestrator.governance import policy_diff
from orchestrator.models import Tenant

from .models import TenantRouting
from .policy import merge_policy
from .schema_check import InvalidDocument, field_errors

SCHEMA_FILE = "routing.schema.json"


class InvalidRouting(InvalidDocument):
    """400 ``validation_error`` with one entry per wrong field (``errors[].field`` is a dotted path)."""

    what = "The approval routing"


def routing_errors(config: Any, *, prefix: str = "routing") -> list[dict[str, str]]:
    """Field-level errors of a complete routing configuration (empty when valid), sorted by path."""
    return field_errors(SCHEMA_FILE, config, prefix=prefix)


def validate_settings_routing(config: Any) -> None:
    """Raise ``InvalidRouting`` unless ``settings.APPROVAL_ROUTING`` is complete and valid."""
    errors = routing_errors(config, prefix="APPROVAL_ROUTING")
    if errors:
        raise InvalidRouting(errors)


def validate_tenant_routing(override: Any) -> dict[str, Any]:
    """Return ``override`` when it is an object valid merged over the settings routing; else raise with fields."""
    if not isinstance(override, dict):
        raise InvalidRouting([{"field": "routing", "message": "must be a JSON object"}])
    errors = routing_errors(merge_policy(settings.APPROVAL_ROUTING, override))
    if errors:
        raise InvalidRouting(errors)
    return override


def routing_for_tenant(tenant_id: Any) -> dict[str, Any]:
    """The effective routing of a tenant: the settings default with its override merged over it (one query)."""
    return merge_policy(settings.APPROVAL_ROUTING, tenant_override(tenant_id))


def tenant_override(tenant_id: Any) -> dict[str, Any]:
    """A tenant's own routing override as saved (``{}`` when it has none); one query."""
    override = TenantRouting.objects.filter(tenant_id=tenant_id).values_list("config", flat=True).first()
    return override or {}


def set_tenant_routing(*, tenant: Tenant, config: Any) -> dict[str, Any]:
    """Validate and save a tenant's routing override (``{}`` = the settings default); returns it.

    Raises ``InvalidRouting`` and saves nothing when invalid. Side effect: a ``tenant.approval_routing_changed``
    audit entry with before/after and a flat diff (nothing when unchanged), in the same transaction.
    """
    override = validate_tenant_routing(config)
    with transaction.atomic():
        row, _ = TenantRouting.objects.select_for_update().get_or_create(tenant=tenant)
        before = row.config if isinstance(row.config, dict) else {}
        if before == override:
            return override
        row.config = override
        row.save(update_fields=["config", "updated_at"])
        events.emit(
            "tenant.approval_routing_changed",
            tenant_id=tenant.pk,
            resource_type="tenant",
            resource_id=tenant.pk,
            data={"tenant_id": str(tenant.pk), "diff": policy_diff(before, override)},
            before={"routing": before},
            after={"routing": override},
        )
    return override
