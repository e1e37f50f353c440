"""``manage.py audit_export --format csv|jsonl [--since …] [--until …] [filters] [--output FILE]``.

Same filters and format as ``GET /api/v1/audit/export``, over every tenant unless ``--tenant`` narrows it.
Writes to stdout by default; streams in constant memory.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, BinaryIO

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rest_framework.exceptions import ValidationError

from audit import exporting
from audit.filters import filter_entries
from audit.models import AuditLog

from .audit_verify import resolve_tenant

FILTERS = ("action", "actor_id", "actor_type", "resource_type", "resource_id", "since", "until")


class Command(BaseCommand):
    help = "Export audit entries as CSV or JSON Lines (streamed; no row cap)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=exporting.FORMATS, default="csv")
        parser.add_argument("--tenant", help="Tenant id or slug (default: every tenant).")
        for name in FILTERS:
            parser.add_argument(f"--{name.replace('_', '-')}", dest=name, help=f"Filter: {name}.")
        parser.add_argument("--output", "-o", default="-", help="File to write ('-' = stdout, the default).")

    def handle(self, *args: Any, **options: Any) -> None:
        params = {name: options[name] for name in FILTERS if options.get(name)}
        if options.get("tenant"):
            params["tenant_id"] = str(resolve_tenant(options["tenant"]))
        try:
            entries = filter_entries(AuditLog.objects.all(), params)
        except ValidationError as exc:
            raise CommandError(f"invalid filter: {exc.detail}") from exc
        output = options["output"]
        if output == "-":
            self._write(sys.stdout.buffer, entries, options["format"])
        else:
            with Path(output).open("wb") as handle:
                self._write(handle, entries, options["format"])

    def _write(self, out: BinaryIO, entries: Any, fmt: str) -> None:
        for chunk in exporting.export_chunks(entries, fmt):
            out.write(chunk)
        out.flush()
