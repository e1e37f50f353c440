from __future__ import annotations

from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here: the selectors import models, which Django loads only after every app config.
        from orchestrator.metrics import register_scrape_collector

        from .selectors import pending_by_risk_level

        register_scrape_collector(
            "approvals_pending", "Pending approval requests by risk level", ("risk_level",), pending_by_risk_level
        )
        check_risk_policy()
        check_routing()


def check_risk_policy() -> None:
    """Refuse to start with an invalid ``APPROVAL_RISK_POLICY`` (never run on a policy silently half-ignored)."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    from .policy_schema import InvalidRiskPolicy, validate_settings_policy

    try:
        validate_settings_policy(settings.APPROVAL_RISK_POLICY)
    except InvalidRiskPolicy as exc:
        raise ImproperlyConfigured(exc.detail) from exc


def check_routing() -> None:
    """Refuse to start with an invalid ``APPROVAL_ROUTING`` (issue 20), naming the path."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    from .routing_config import InvalidRouting, validate_settings_routing

    try:
        validate_settings_routing(settings.APPROVAL_ROUTING)
    except InvalidRouting as exc:
        raise ImproperlyConfigured(exc.detail) from exc
