"""``manage.py reencrypt_webhook_secrets``: re-encrypt stored secrets under the first WEBHOOK_ENCRYPTION_KEYS key."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from webhooks import services


class Command(BaseCommand):
    help = "Re-encrypt every webhook secret with the primary WEBHOOK_ENCRYPTION_KEYS key (after prepending one)."

    def handle(self, *args: Any, **options: Any) -> None:
        count = services.reencrypt_secrets()
        self.stdout.write(f"re-encrypted {count} secret(s)")
