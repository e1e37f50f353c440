from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
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
        parser.add_argument(
            "--owner",
            default=None,
            help="username: a personal key that acts as this member (default: the service account named --name)",
        )

    def handle(self, *args: Any, tenant: str, name: str, scopes: str, owner: str | None, **options: Any) -> None:
        try:
            tenant_obj = Tenant.objects.get(slug=tenant)
        except Tenant.DoesNotExist as exc:
            raise CommandError(f"No tenant {tenant!r}; create it with `manage.py create_tenant {tenant}`.") from exc
        owner_user = None
        if owner is not None:
            owner_user = get_user_model().objects.filter(username=owner, memberships__tenant=tenant_obj).first()
            if owner_user is None:
                raise CommandError(f"{owner!r} is not a member of {tenant_obj.slug}.")
        try:
            api_key, raw = services.create_api_key(
                tenant=tenant_obj,
                name=name,
                scopes=[s.strip() for s in scopes.split(",") if s.strip()],
                owner_user=owner_user,
            )
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(
            f"Created API key {api_key.name} ({api_key.prefix}) for {tenant_obj.slug}; scopes: "
            f"{', '.join(api_key.scopes)}. Store it now, it is not shown again:"
        )
        self.stdout.write(raw)
