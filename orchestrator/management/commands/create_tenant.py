from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from orchestrator import governance, services
from orchestrator.lib.errors import DomainError


class Command(BaseCommand):
    help = "Create a tenant (safe to run twice: an existing tenant is left as it is)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", default=None)
        parser.add_argument(
            "--risk-policy",
            default=None,
            help='JSON override of the risk policy, validated and audited, e.g. \'{"deciders": {"HIGH": '
            '"humans_or_services"}}\'',
        )

    def handle(self, *args: Any, slug: str, name: str | None, risk_policy: str | None, **options: Any) -> None:
        tenant, created = services.ensure_tenant(slug=slug, name=name)
        verb = "Created" if created else "Exists"
        self.stdout.write(f"{verb} tenant {tenant.slug} ({tenant.pk})")
        if risk_policy is not None:
            try:
                governance.set_tenant_risk_policy(tenant=tenant, policy=json.loads(risk_policy))
            except (ValueError, DomainError) as exc:
                raise CommandError(getattr(exc, "detail", str(exc))) from exc
            self.stdout.write(f"Risk policy override: {json.dumps(tenant.risk_policy, sort_keys=True)}")
