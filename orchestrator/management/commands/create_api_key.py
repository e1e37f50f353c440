from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from orchestrator import services
from orchestrator.lib.errors import DomainError
from orchestrator.models import Tenant


class Command(BaseCommand):
    help = "Create an API key; the key is printed alone on the last line, once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--scopes", required=True, help="comma-separated, e.g. workflows,approvals:request")

    def handle(self, *args: Any, tenant: str, name: str, scopes: str, **options: Any) -> None:
        try:
            tenant_obj = Tenant.objects.get(slug=tenant)
        except Tenant.DoesNotExist as exc:
            raise CommandError(f"No tenant {tenant!r}; create it with `manage.py create_tenant {tenant}`.") from exc
        try:
            api_key, raw = services.create_api_key(
                tenant=tenant_obj, name=name, scopes=[s.strip() for s in scopes.split(",") if s.strip()]
            )
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(
            f"Created API key {api_key.name} ({api_key.prefix}) for {tenant_obj.slug}; scopes: "
            f"{', '.join(api_key.scopes)}. Store it now, it is not shown again:"
        )
        self.stdout.write(raw)
