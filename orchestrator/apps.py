from django.apps import AppConfig


class OrchestratorConfig(AppConfig):
    name = "orchestrator"
    verbose_name = "Orchestrator"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the OpenAPI description of API-key authentication with drf-spectacular.
        # Runs waiting for a workspace to be provisioned are woken as soon as it settles (SPEC §4).
        from orchestrator import ops_metrics, scheduler
        from orchestrator.lib import keycache, schema  # noqa: F401
        from workspaces.scheduling import add_readiness_listener

        add_readiness_listener(scheduler.workspace_settled)
        # Cached API-key lookups are dropped in every process when a key is changed or deleted.
        keycache.connect_signals()
        # Issue 15: a sign-in counts as a recent authentication (step-up); lockouts are audited.
        from orchestrator.lib import loginguard, stepup

        stepup.connect_signals()
        loginguard.connect_signals()
        # Gauges behind the chart's alerts (issue 23), and the worker heartbeat / audit verification they read.
        ops_metrics.register()
