"""Operator admin: the workspace list renders and its actions call the services."""

from __future__ import annotations

import pytest
from django.test import Client

from workspaces import locks, operations, services
from workspaces.models import Workspace, WorkspaceStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(django_user_model) -> Client:
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw-for-tests-123")
    client = Client()
    client.force_login(user)
    return client


def ready(tenant, name: str) -> Workspace:
    workspace = services.create_workspace(tenant_id=tenant.pk, name=name, provision=True)
    operations.perform_due_operation(workspace_id=workspace.pk)
    return workspace


def test_changelist_renders_with_filters_and_search(admin_client_, tenant) -> None:
    ready(tenant, "books")
    response = admin_client_.get("/admin/workspaces/workspace/?status__exact=READY&q=books")
    assert response.status_code == 200
    assert b"books" in response.content


def test_hibernate_action_skips_locked_workspaces_with_a_message(admin_client_, tenant) -> None:
    free, busy = ready(tenant, "free"), ready(tenant, "busy")
    locks.acquire_lock(workspace_id=busy.pk, owner="agent")
    response = admin_client_.post(
        "/admin/workspaces/workspace/",
        {"action": "hibernate_workspaces", "_selected_action": [str(free.pk), str(busy.pk)]},
        follow=True,
    )
    assert response.status_code == 200
    assert b"Hibernated 1 workspace." in response.content
    assert b"held by" in response.content
    assert dict(Workspace.objects.values_list("name", "status")) == {"free": "HIBERNATED", "busy": "READY"}


def test_terminate_action_terminates(admin_client_, tenant) -> None:
    workspace = ready(tenant, "doomed")
    admin_client_.post(
        "/admin/workspaces/workspace/",
        {"action": "terminate_workspaces", "_selected_action": [str(workspace.pk)]},
    )
    workspace.refresh_from_db()
    assert workspace.status == WorkspaceStatus.TERMINATED


def test_detail_page_is_read_only_for_status_and_lock(admin_client_, tenant) -> None:
    workspace = ready(tenant, "books")
    response = admin_client_.get(f"/admin/workspaces/workspace/{workspace.pk}/change/")
    assert response.status_code == 200
    assert b'name="status"' not in response.content and b'name="fencing_token"' not in response.content
