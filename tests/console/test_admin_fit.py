"""The admin as operators use it (issue 21): a list page issues a fixed number of queries whatever its row count,
read-only pages have no Save or Delete button, records that must stay cannot be deleted, actors are names with
links, verbose names read right and list columns stay few enough for a 1366 px screen."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from approvals import services as approval_services
from approvals.models import ApprovalDecision, ApprovalRequest
from audit.models import AuditLog
from orchestrator import runs
from orchestrator.lib.auth import caller_for_user
from orchestrator.models import Role, WorkflowNode, WorkflowRun
from tests.console.helpers import pending_approval
from tests.factories import MembershipFactory
from webhooks import services as webhook_services
from webhooks.models import WebhookDelivery
from workspaces import services as workspace_services

pytestmark = pytest.mark.django_db

PROJECT_APPS = ("orchestrator", "approvals", "audit", "webhooks", "workspaces")
MAX_LIST_QUERIES = 16
MAX_LIST_COLUMNS = 7


@pytest.fixture
def operator() -> Any:
    return get_user_model().objects.create_superuser("ops", "ops@example.com", "pw-for-tests-123")


@pytest.fixture
def client_(operator: Any) -> Client:
    client = Client()
    client.force_login(operator)
    return client


def add_rows(tenant: Any) -> None:
    """One more of everything an operator lists: a run with nodes and an attempt, an approval (decided once),
    API keys, audit entries, webhook deliveries, a workspace, a console profile."""
    approval = pending_approval(tenant)
    reviewer = MembershipFactory(tenant=tenant, role=Role.REVIEWER).user
    approval_services.decide_approval(
        caller=dataclasses.replace(caller_for_user(reviewer), auth_at=time.time()),
        approval=approval,
        decision="reject",
        reason="no",
    )
    pending_approval(tenant)
    runs.create_run(
        tenant=tenant, definition={"name": "plain", "nodes": [{"key": "a", "type": "TASK", "action": {"tool": "noop"}}]}
    )
    workspace_services.create_workspace(tenant_id=tenant.pk, name=f"ws-{WorkflowRun.objects.count()}")


def list_urls() -> list[str]:
    models = [m for app in PROJECT_APPS for m in apps.get_app_config(app).get_models() if m in admin.site._registry]
    return [f"/admin/{m._meta.app_label}/{m._meta.model_name}/" for m in models]


def queries_for(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200, url
    return len(captured)


def test_no_list_page_issues_a_query_per_row(client_, tenant) -> None:
    webhook_services.create_endpoint(tenant_id=tenant.pk, url="https://hooks.example.com/a", events=["*"])
    add_rows(tenant)
    before = {url: queries_for(client_, url) for url in list_urls()}
    add_rows(tenant)
    add_rows(tenant)
    assert WebhookDelivery.objects.count() >= 3 and ApprovalDecision.objects.count() >= 3
    for url in list_urls():
        after = queries_for(client_, url)
        assert after == before[url], f"{url}: {before[url]} queries with fewer rows, {after} with more"
        assert after <= MAX_LIST_QUERIES, f"{url}: {after} queries"


def test_list_pages_stay_within_the_query_budget(client_, tenant, django_assert_max_num_queries) -> None:
    add_rows(tenant)
    for url in ("/admin/orchestrator/workflowrun/", "/admin/approvals/approvalrequest/", "/admin/audit/auditlog/"):
        with django_assert_max_num_queries(MAX_LIST_QUERIES):
            assert client_.get(url).status_code == 200


def test_list_columns_fit_a_laptop_screen() -> None:
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label in PROJECT_APPS:
            assert len(model_admin.list_display) <= MAX_LIST_COLUMNS, f"{model.__name__}: {model_admin.list_display}"


def test_read_only_pages_have_no_save_or_delete_buttons(client_, tenant) -> None:
    add_rows(tenant)
    approval = ApprovalRequest.objects.first()
    assert approval is not None
    pages = {
        "run": f"/admin/orchestrator/workflowrun/{approval.run_id}/change/",
        "node": f"/admin/orchestrator/workflownode/{WorkflowNode.objects.first().pk}/change/",  # type: ignore[union-attr]
        "approval": f"/admin/approvals/approvalrequest/{approval.pk}/change/",
        "decision": f"/admin/approvals/approvaldecision/{ApprovalDecision.objects.first().pk}/change/",  # type: ignore[union-attr]
        "audit": f"/admin/audit/auditlog/{AuditLog.objects.first().pk}/change/",  # type: ignore[union-attr]
    }
    for name, url in pages.items():
        html = client_.get(url).content.decode()
        assert 'name="_save"' not in html and 'name="_continue"' not in html, f"{name} page offers Save"
        assert "deletelink" not in html, f"{name} page offers Delete"
        assert client_.post(url.replace("/change/", "/delete/"), {"post": "yes"}).status_code == 403, name


def test_records_that_must_stay_offer_no_bulk_delete(client_, tenant) -> None:
    add_rows(tenant)
    for url in ("/admin/orchestrator/workflowrun/", "/admin/approvals/approvalrequest/", "/admin/audit/auditlog/"):
        assert 'value="delete_selected"' not in client_.get(url).content.decode(), url
    assert 'value="cancel_runs"' in client_.get("/admin/orchestrator/workflowrun/").content.decode()
    assert 'value="expire_selected"' in client_.get("/admin/approvals/approvalrequest/").content.decode()
    assert WorkflowRun.objects.exists()


def test_verbose_names_and_actor_links(client_, tenant) -> None:
    add_rows(tenant)
    index = client_.get("/admin/").content.decode()
    for name in ("API keys", "Webhook deliveries", "Audit log entries"):
        assert name in index, name
    assert "Api keys" not in index and "deliverys" not in index
    approvals_page = client_.get("/admin/approvals/approvalrequest/").content.decode()
    assert "/admin/orchestrator/apikey/" in approvals_page and "(API key)" in approvals_page
    assert "[&quot;" not in approvals_page  # no recipient list as JSON
    decision = ApprovalDecision.objects.first()
    assert decision is not None
    decisions_page = client_.get("/admin/approvals/approvaldecision/").content.decode()
    assert f"/admin/auth/user/{decision.decider_id}/change/" in decisions_page
    assert "console/admin-lists.css" in approvals_page
