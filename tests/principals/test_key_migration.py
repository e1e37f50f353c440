"""Data migration ``orchestrator/0006``: keys made before issue 15 get a service account named like the key (one per
tenant and name), and the ``operators`` group exists, so nothing that worked before breaks."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("orchestrator", "0005_principals_service_accounts")]
AFTER = [("orchestrator", "0007_api_key_one_owner_principal")]


def test_existing_keys_become_keys_of_one_service_account_per_name() -> None:
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(BEFORE)
        old = executor.loader.project_state(BEFORE).apps
        tenant = old.get_model("orchestrator", "Tenant").objects.create(slug="legacy", name="Legacy")
        api_key = old.get_model("orchestrator", "ApiKey")
        for prefix, name in (("aaaa0001", "ci"), ("aaaa0002", "ci"), ("aaaa0003", "agent")):
            api_key.objects.create(tenant=tenant, name=name, prefix=prefix, key_hash=prefix * 8, scopes=["workflows"])

        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(AFTER)
        new = executor.loader.project_state(AFTER).apps
        keys = new.get_model("orchestrator", "ApiKey").objects.filter(tenant__slug="legacy").order_by("prefix")
        accounts = {k.prefix: (k.service_account.name, k.service_account_id, k.owner_user_id) for k in keys}
        assert accounts["aaaa0001"][0] == accounts["aaaa0002"][0] == "ci"
        assert accounts["aaaa0001"][1] == accounts["aaaa0002"][1]  # one service account per key name
        assert accounts["aaaa0003"][0] == "agent"
        assert all(owner is None for _, _, owner in accounts.values())
        assert new.get_model("auth", "Group").objects.filter(name="operators").exists()
    finally:
        # Back to the newest schema: the tests after this one need every migration, not just 0007's.
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
