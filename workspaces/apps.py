from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "workspaces"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here: the selectors import models, which Django loads only after every app config.
        from orchestrator.metrics import register_scrape_collector

        from .selectors import workspaces_by_status

        register_scrape_collector("workspaces", "Workspaces by status", ("status",), workspaces_by_status)
