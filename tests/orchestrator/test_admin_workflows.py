"""Admin pages for workflow models and the "cancel run" action."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from orchestrator import runs
from tests.factories import TenantFactory

from .engine_helpers import definition, task

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-123")
    client.force_login(user)
    return client


def test_admin_lists_and_cancels_runs(admin_client_) -> None:
    run = runs.create_run(tenant=TenantFactory(), definition=definition(task("a"), name="To cancel"))
    runs.start_run(run=run)
    for url in (
        "/admin/orchestrator/workflowrun/",
        f"/admin/orchestrator/workflowrun/{run.pk}/change/",
        "/admin/orchestrator/workflownode/",
        "/admin/orchestrator/workflownoderun/",
        "/admin/orchestrator/workflowrun/?status__exact=RUNNING&q=cancel",
    ):
        assert admin_client_.get(url).status_code == 200, url
    response = admin_client_.post(
        "/admin/orchestrator/workflowrun/", {"action": "cancel_runs", "_selected_action": [str(run.pk)]}, follow=True
    )
    assert response.status_code == 200
    run.refresh_from_db()
    assert run.status == "CANCELLED"
    assert "admin" in run.cancel_reason
