from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "workspaces"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from orchestrator.metrics import register_scrape_collector

        from .selectors import workspaces_by_status

        register_scrape_collector("workspaces", "Workspaces by status", ("status",), workspaces_by_status)
