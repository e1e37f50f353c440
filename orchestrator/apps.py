from django.apps import AppConfig


class OrchestratorConfig(AppConfig):
    name = "orchestrator"
    verbose_name = "Orchestrator"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, not at the top: these modules import models, which Django loads only after every app
        # config (the one late import Django requires).
        from approvals import outcomes
        from orchestrator import approval_outcomes, events, ops_metrics, recovery, scheduler
        from orchestrator.executors import catalogue, local, workspace_tools  # noqa: F401  (the built-in tools)
        from orchestrator.lib import keycache, loginguard, schema, stepup, tools, waiting  # noqa: F401  (schema: auth docs)
        from workspaces.services import add_readiness_listener

        # The engine listens to the layers below it (they never import it):
        # runs waiting for a workspace are woken as soon as it settles (SPEC §4) ...
        add_readiness_listener(scheduler.workspace_settled)
        # ... and a node waiting for an approval moves on when the request is decided (SPEC §6).
        outcomes.decided.subscribe(approval_outcomes.on_approval_decided)
        # ... and an operator asking for a fresh approval of a stuck execution brings its node back (issue 24).
        outcomes.fresh_approval_wanted.subscribe(recovery.on_fresh_approval_wanted)
        # Cached API-key lookups are dropped in every process when a key is changed or deleted.
        keycache.connect_signals()
        # GET …?wait=N answers when a run or an approval changes: every event about one announces it on commit.
        events.recorders.subscribe(waiting.announce_event)
        # The risk policy and previews know the task controller's actions (desktop.purchase is HIGH, issue 19).
        tools.add_descriptor_source(catalogue.describe)
        catalogue.check_configuration()
        # A sign-in counts as a recent authentication (step-up, issue 15); lockouts are audited.
        stepup.connect_signals()
        loginguard.connect_signals()
        # Gauges behind the chart's alerts (issue 23), and the worker heartbeat / audit verification they read.
        ops_metrics.register()
