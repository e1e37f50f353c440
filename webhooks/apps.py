from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class WebhooksConfig(AppConfig):
    name = "webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Subscriber events get their outbox rows in the caller's transaction: ``events.emit`` notifies its
        # deliverers. Imported here because Django loads the models only after the app configs.
        from orchestrator import events

        from .services import enqueue_event

        events.deliverers.subscribe(enqueue_event)
        # Fail at start-up, naming the variable, rather than at the first delivery.
        from cryptography.fernet import Fernet

        for key in getattr(settings, "WEBHOOK_ENCRYPTION_KEYS", []):
            try:
                Fernet(key)
            except ValueError as exc:
                raise ImproperlyConfigured(
                    "WEBHOOK_ENCRYPTION_KEYS: each key must be a Fernet key (urlsafe base64 of 32 bytes)"
                ) from exc
