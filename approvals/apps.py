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
