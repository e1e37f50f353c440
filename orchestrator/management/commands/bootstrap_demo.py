from __future__ import annotations

import contextvars
import os
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from orchestrator import governance, runs, services
from orchestrator.lib import context
from orchestrator.lib.auth import caller_for_api_key
from orchestrator.models import ApiKey, Role, Scope, Tenant, WorkflowRun

DEMO_PASSWORD_ENV = "DEMO_PASSWORD"  # noqa: S105 - the name of a variable, not a password
DEMO_RUN_NAME = "Demo: e-mail the quarterly report"

# Reaches a high-risk step (email.send is HIGH by the default policy), so the scheduler's gate asks for approval
# and a reviewer finds a real pending request in the console. Locally the e-mail goes to a file under DATA_DIR.
DEMO_WORKFLOW: dict[str, Any] = {
    "name": DEMO_RUN_NAME,
    "description": "Collects the figures, then e-mails them to the finance team once a reviewer approves.",
    "start": True,
    "nodes": [
        {"key": "collect", "name": "Collect the figures", "type": "TASK",
         "action": {"tool": "echo", "params": {"quarter": "Q3", "revenue_eur": 1250000}}},
        {"key": "send_report", "name": "E-mail the report", "type": "TASK", "depends_on": ["collect"],
         "action": {"tool": "email.send", "params": {
             "to": ["finance@example.com"],
             "subject": "Quarterly report Q3",
             "body": "Hello finance team,\n\nQ3 revenue: 1,250,000 EUR. Full figures attached.\n",
         }}},
        {"key": "archive", "name": "Archive the run", "type": "TASK", "depends_on": ["send_report"],
         "action": {"tool": "noop", "params": {}}},
    ],
}  # fmt: skip


def create_demo_run(*, tenant: Tenant, api_key: ApiKey) -> WorkflowRun | None:
    """Create and start the demo workflow as ``api_key`` (so the key is the requester of its approval), unless a
    run of that name exists in ``tenant``. Returns the new run, or None when it already existed."""
    if WorkflowRun.objects.filter(tenant=tenant, name=DEMO_RUN_NAME).exists():
        return None

    def create() -> WorkflowRun:
        context.set_actor(caller_for_api_key(api_key).actor)  # only inside this copied context
        return runs.create_run(tenant=tenant, definition=DEMO_WORKFLOW)

    return contextvars.copy_context().run(create)


class Command(BaseCommand):
    help = (
        "Create a demo tenant, a reviewer and an operator user, an API key (printed once) and a sample workflow "
        "that reaches a high-risk step. Safe to run twice: existing users keep their password, no second key or "
        "workflow is made."
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
            # The admin permissions of operators (data migration 0006); scoped to their tenants (admin_scope).
            operator.groups.add(governance.ensure_operators_group())
            second, new_second = services.ensure_member(
                tenant=tenant_obj, username="reviewer2", role=Role.REVIEWER, password=password
            )
            raw_key = None
            demo_key = ApiKey.objects.filter(tenant=tenant_obj, name="demo", revoked_at=None).first()
            if demo_key is None:
                demo_key, raw_key = services.create_api_key(tenant=tenant_obj, name="demo", scopes=list(Scope.values))
        demo_run = create_demo_run(tenant=tenant_obj, api_key=demo_key)
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
        if demo_run is not None:
            self.stdout.write(
                f"Workflow: {demo_run.name} ({demo_run.pk}) started; its e-mail step waits for approval. "
                "Sign in at /console/ as reviewer2 to decide it."
            )
