from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from orchestrator.metrics import register_scrape_collector

        from .selectors import pending_by_risk_level

        register_scrape_collector(
            "approvals_pending", "Pending approval requests by risk level", ("risk_level",), pending_by_risk_level
        )
