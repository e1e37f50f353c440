from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from orchestrator import services


class Command(BaseCommand):
    help = "Create a tenant (safe to run twice: an existing tenant is left as it is)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", default=None)

    def handle(self, *args: Any, slug: str, name: str | None, **options: Any) -> None:
        tenant, created = services.ensure_tenant(slug=slug, name=name)
        verb = "Created" if created else "Exists"
        self.stdout.write(f"{verb} tenant {tenant.slug} ({tenant.pk})")
