from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Every event is recorded in the caller's transaction: ``events.emit`` notifies its recorders. Imported
        # here because Django loads the models only after the app configs (a late import Django requires).
        from orchestrator import events
        from orchestrator.lib import precommit

        from .services import PRECOMMIT_KIND, append_entries, record_event

        events.recorders.subscribe(record_event)
        # Entries are linked into their chain right before the commit (issue 22): see ``record_event``.
        precommit.register(PRECOMMIT_KIND, append_entries)
