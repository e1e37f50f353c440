"""Validation of the risk policy against its JSON Schema (``approvals/schemas/risk_policy.schema.json``).

The policy module classifies whatever it is given and never raises; this module is the gate in front of it: the
settings policy is checked at start-up (``ApprovalsConfig.ready``) and a tenant's override before it is saved
(admin and API). A tenant override is validated merged over the settings policy, so its errors name the same paths
a reader sees in the override (``risk_policy.deciders.HIGH``) and a partial override is judged as it will apply.
"""

from __future__ import annotations

from typing import Any

from .policy import merge_policy
from .schema_check import InvalidDocument, field_errors

SCHEMA_FILE = "risk_policy.schema.json"


class InvalidRiskPolicy(InvalidDocument):
    """400 ``validation_error`` with one entry per wrong field (``errors[].field`` is a dotted path)."""

    what = "The risk policy"


def policy_errors(policy: Any, *, prefix: str = "risk_policy") -> list[dict[str, str]]:
    """Field-level errors of a complete policy (empty when valid), sorted by path."""
    return field_errors(SCHEMA_FILE, policy, prefix=prefix)


def validate_settings_policy(policy: Any) -> None:
    """Raise ``InvalidRiskPolicy`` unless the settings policy is complete and valid."""
    errors = policy_errors(policy, prefix="APPROVAL_RISK_POLICY")
    if errors:
        raise InvalidRiskPolicy(errors)


def validate_tenant_override(override: Any) -> dict[str, Any]:
    """Return ``override`` (an object) when it is valid merged over the settings policy; else raise with fields."""
    from django.conf import settings

    if not isinstance(override, dict):
        raise InvalidRiskPolicy([{"field": "risk_policy", "message": "must be a JSON object"}])
    errors = policy_errors(merge_policy(settings.APPROVAL_RISK_POLICY, override))
    if errors:
        raise InvalidRiskPolicy(errors)
    return override
