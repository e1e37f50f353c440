"""``manage.py audit_verify [--tenant ID_OR_SLUG ...] [--full] [--json]``: check the audit chains (SPEC §7.2).

Each chain is checked against its signed anchors (``AUDIT_ANCHOR_DIR``) from the newest one, or in full with
``--full``. Exit status 0 when every chain is intact, 1 otherwise (naming the chain, its first bad sequence and
why).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit import verification
from orchestrator.models import Tenant


def resolve_tenant(value: str) -> Any:
    """A tenant id from its id or slug; ``CommandError`` when unknown."""
    tenant = Tenant.objects.filter(slug=value).first()
    if tenant is None:
        try:
            tenant = Tenant.objects.filter(pk=uuid.UUID(value)).first()
        except ValueError:  # neither a slug nor a UUID
            tenant = None
    if tenant is None:
        raise CommandError(f"Unknown tenant {value!r}.")
    return tenant.pk


class Command(BaseCommand):
    help = "Recompute the audit log's hash chains and report the first broken sequence of each."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", action="append", default=[], help="Tenant id or slug (repeatable).")
        parser.add_argument("--full", action="store_true", help="Walk every entry, not just those since the anchor.")
        parser.add_argument("--json", action="store_true", help="Print the full report as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        tenants = [resolve_tenant(t) for t in options["tenant"]] or None
        report = verification.verify_chains(tenants, full=options["full"])
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            for chain in report.chains:
                if chain.ok:
                    start = f" from #{chain.start_sequence}" if chain.start_sequence else ""
                    start += f", anchored at #{chain.anchor_sequence}" if chain.anchor_sequence else ", no anchor yet"
                    self.stdout.write(f"OK    chain {chain.chain}: {chain.verified} entries{start}")
                else:
                    self.stdout.write(
                        f"BROKEN chain {chain.chain}: first bad sequence {chain.first_bad_sequence}: {chain.error}"
                    )
        if not report.ok:
            raise CommandError("audit log verification failed", returncode=1)
        if not options["json"]:
            self.stdout.write(self.style.SUCCESS(f"audit log intact: {len(report.chains)} chain(s)"))
