from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from orchestrator import services
from orchestrator.models import ApiKey, Role, Scope

DEMO_PASSWORD_ENV = "DEMO_PASSWORD"  # noqa: S105 - the name of a variable, not a password


class Command(BaseCommand):
    help = (
        "Create a demo tenant, a reviewer and an operator user, and an API key (printed once). "
        "Safe to run twice: existing users keep their password and no second key is made."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", default="demo")
        parser.add_argument(
            "--key-file", default=None, help="also write the API key to this file (mode 600), for scripts"
        )

    def handle(self, *args: Any, tenant: str, key_file: str | None, **options: Any) -> None:
        password = os.environ.get(DEMO_PASSWORD_ENV, "demo-password")
        with transaction.atomic():
            tenant_obj, _ = services.ensure_tenant(slug=tenant, name="Demo")
            reviewer, new_reviewer = services.ensure_member(
                tenant=tenant_obj, username="reviewer", role=Role.REVIEWER, password=password
            )
            operator, new_operator = services.ensure_member(
                tenant=tenant_obj, username="operator", role=Role.OPERATOR, password=password
            )
            if new_operator:
                operator.is_staff = True
                operator.save(update_fields=["is_staff"])
            second, new_second = services.ensure_member(
                tenant=tenant_obj, username="reviewer2", role=Role.REVIEWER, password=password
            )
            raw_key = None
            if not ApiKey.objects.filter(tenant=tenant_obj, name="demo", revoked_at=None).exists():
                _, raw_key = services.create_api_key(tenant=tenant_obj, name="demo", scopes=list(Scope.values))
        self.stdout.write(f"Tenant: {tenant_obj.slug}")
        for user, new in ((reviewer, new_reviewer), (second, new_second), (operator, new_operator)):
            note = f"password: {password}" if new else "existing user, password unchanged"
            self.stdout.write(f"User: {user.get_username()} ({note})")
        if raw_key is not None:
            if key_file:
                fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as handle:
                    handle.write(raw_key + "\n")
            self.stdout.write("API key (all scopes; shown once, store it now):")
            self.stdout.write(raw_key)
        else:
            self.stdout.write("API key: the demo key already exists (create another with create_api_key).")
