"""Data migration (issue 15): every existing key gets an owner principal, and the ``operators`` group exists.

Existing keys had no owner: each becomes the key of a service account named like it (one per tenant and key name),
so every integration keeps working and keeps its own identity. The ``operators`` group carries the admin
permissions the README promises to staff operators (who only see the tenants they operate; orchestrator/admin_scope).
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

# The one table of the operators' admin permissions (bootstrap_demo recreates the group from it too).
from orchestrator.governance import OPERATOR_PERMISSIONS


def keys_to_service_accounts(apps: Any, schema_editor: Any) -> None:
    api_key_model = apps.get_model("orchestrator", "ApiKey")
    service_account_model = apps.get_model("orchestrator", "ServiceAccount")
    for api_key in api_key_model.objects.filter(owner_user__isnull=True, service_account__isnull=True):
        account, _ = service_account_model.objects.get_or_create(tenant_id=api_key.tenant_id, name=api_key.name)
        api_key_model.objects.filter(pk=api_key.pk).update(service_account=account)


def create_operators_group(apps: Any, schema_editor: Any) -> None:
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations; make sure those of the apps above exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    group, _ = group_model.objects.get_or_create(name="operators")
    for app_label, model, actions in OPERATOR_PERMISSIONS:
        codenames = [f"{action}_{model}" for action in actions]
        group.permissions.add(
            *permission_model.objects.filter(content_type__app_label=app_label, codename__in=codenames)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("orchestrator", "0005_principals_service_accounts"),
        ("approvals", "0003_decision_principals_step_up"),
        ("webhooks", "0001_webhook_endpoints_secrets_deliveries"),
        ("workspaces", "0002_lifecycle_provider_and_lease_lock"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(keys_to_service_accounts, migrations.RunPython.noop),
        migrations.RunPython(create_operators_group, migrations.RunPython.noop),
    ]
