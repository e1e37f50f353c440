"""``manage.py audit_checkpoint``: sign and anchor every audit chain head that moved (what beat runs on a schedule).

Run it once right after upgrading to keyed chains and after a key rotation (docs/audit-keys.md).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from audit import checkpoints


class Command(BaseCommand):
    help = "Sign the audit chain heads and append them to the anchor store (AUDIT_ANCHOR_DIR)."

    def handle(self, *args: Any, **options: Any) -> None:
        written = checkpoints.checkpoint_chains()
        self.stdout.write(self.style.SUCCESS(f"anchored {written} chain(s)"))
