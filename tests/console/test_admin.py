"""The operator admin: every model is there with filters and search; audit entries are read-only; statuses are
never edited directly; each admin action calls its service and leaves an audit entry by the operator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory

from approvals import services as approval_services
from approvals.models import ApprovalStatus
from audit.models import AuditLog
from orchestrator import runs
from orchestrator import services as core_services
from orchestrator.models import RunStatus, Scope
from tests.console.helpers import pending_approval
from webhooks import services as webhook_services
from webhooks.models import WebhookDelivery, WebhookSecret

pytestmark = pytest.mark.django_db

PROJECT_APPS = ("orchestrator", "approvals", "audit", "webhooks", "workspaces")


@pytest.fixture
def operator() -> Any:
    return get_user_model().objects.create_superuser("ops", "ops@example.com", "pw-for-tests-123")


@pytest.fixture
def client_(operator: Any) -> Client:
    client = Client()
    client.force_login(operator)
    return client


def spy(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[dict[str, Any]]:
    """Record the keyword arguments of every call to ``module.name`` and still run the real service."""
    calls: list[dict[str, Any]] = []
    real: Callable[..., Any] = getattr(module, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return calls


def run_action(client: Client, model: str, action: str, pk: Any) -> Any:
    response = client.post(f"/admin/{model}/", {"action": action, "_selected_action": [str(pk)]}, follow=True)
    assert response.status_code == 200
    return response


def audited(action: str, resource_id: Any, operator: Any) -> AuditLog:
    entry = AuditLog.objects.filter(action=action, resource_id=str(resource_id)).order_by("-sequence").first()
    assert entry is not None, f"no {action} audit entry"
    assert entry.actor_type == "user" and entry.actor_id == str(operator.pk)
    return entry


def project_models() -> list[Any]:
    return [m for app in PROJECT_APPS for m in apps.get_app_config(app).get_models()]


def test_every_model_is_registered_with_list_display_filters_and_search(client_) -> None:
    for model in project_models():
        model_admin = admin.site._registry.get(model)
        assert model_admin is not None, f"{model.__name__} is not in the admin"
        label = f"{model._meta.app_label}.{model.__name__}"
        assert model_admin.list_display != ("__str__",), f"{label} has no list_display"
        assert model_admin.search_fields, f"{label} has no search"
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        assert client_.get(url).status_code == 200, url
        assert client_.get(url + "?q=x").status_code == 200, url
        if any(f.many_to_one for f in model._meta.fields) and model_admin.list_filter:
            assert model_admin.list_select_related, f"{label} should join its foreign keys"


def test_status_fields_are_read_only_everywhere(operator) -> None:
    request = RequestFactory().get("/admin/")
    request.user = operator
    for model in project_models():
        names = {f.name for f in model._meta.fields}
        model_admin = admin.site._registry[model]
        for field in names & {"status", "revoked_at", "lock_owner", "fencing_token"}:
            readonly = model_admin.get_readonly_fields(request, None)
            can_change = model_admin.has_change_permission(request, None)
            assert field in readonly or not can_change, f"{model.__name__}.{field} is editable in the admin"


def test_audit_entries_cannot_be_added_changed_or_deleted(client_, tenant) -> None:
    endpoint, _ = webhook_services.create_endpoint(tenant_id=tenant.pk, url="https://hooks.example.com/", events=["*"])
    entry = AuditLog.objects.get(action="webhook.created", resource_id=str(endpoint.pk))
    base = "/admin/audit/auditlog/"
    assert client_.get(base).status_code == 200
    assert client_.get(f"{base}{entry.pk}/change/").status_code == 200  # view only
    assert client_.get(f"{base}add/").status_code == 403
    assert client_.post(f"{base}{entry.pk}/change/", {"reason": "edited"}).status_code == 403
    assert client_.get(f"{base}{entry.pk}/delete/").status_code == 403
    assert client_.post(f"{base}{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    listing = client_.get(base).content.decode()
    assert 'name="action"' not in listing  # no bulk actions (no "delete selected")
    entry.refresh_from_db()
    assert entry.reason == "" and AuditLog.objects.filter(pk=entry.pk).exists()


def test_cancel_run_action_calls_the_service_and_is_audited(client_, operator, tenant, monkeypatch) -> None:
    definition = {"name": "To cancel", "nodes": [{"key": "a", "type": "TASK", "action": {"tool": "noop"}}]}
    run = runs.start_run(run=runs.create_run(tenant=tenant, definition=definition))
    calls = spy(monkeypatch, runs, "cancel_run")
    run_action(client_, "orchestrator/workflowrun", "cancel_runs", run.pk)
    assert [c["run"].pk for c in calls] == [run.pk]
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    audited("workflow.cancelled", run.pk, operator)


def test_expire_approval_action_calls_the_service_and_is_audited(client_, operator, tenant, monkeypatch) -> None:
    approval = pending_approval(tenant)
    calls = spy(monkeypatch, approval_services, "expire_approval")
    run_action(client_, "approvals/approvalrequest", "expire_selected", approval.pk)
    assert [c["approval"].pk for c in calls] == [approval.pk]
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.EXPIRED
    audited("approval.expired", approval.pk, operator)


def test_revoke_api_key_action_calls_the_service_and_is_audited(client_, operator, tenant, monkeypatch) -> None:
    api_key, _ = core_services.create_api_key(tenant=tenant, name="ci", scopes=[Scope.WORKFLOWS])
    calls = spy(monkeypatch, core_services, "revoke_api_key")
    run_action(client_, "orchestrator/apikey", "revoke_keys", api_key.pk)
    assert [c["api_key"].pk for c in calls] == [api_key.pk]
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    entry = audited("api_key.revoked", api_key.pk, operator)
    assert entry.tenant_id == tenant.pk and entry.resource_type == "api_key"


def test_redeliver_webhook_action_calls_the_service_and_is_audited(client_, operator, tenant, monkeypatch) -> None:
    endpoint, _ = webhook_services.create_endpoint(tenant_id=tenant.pk, url="https://hooks.example.com/", events=["*"])
    runs.create_run(
        tenant=tenant, definition={"name": "x", "nodes": [{"key": "a", "type": "TASK", "action": {"tool": "noop"}}]}
    )
    delivery = WebhookDelivery.objects.filter(endpoint=endpoint, event_type="workflow.created").get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="FAILED", attempt_count=8)
    calls = spy(monkeypatch, webhook_services, "redeliver")
    run_action(client_, "webhooks/webhookdelivery", "redeliver", delivery.pk)
    assert [c["delivery"].pk for c in calls] == [delivery.pk]
    delivery.refresh_from_db()
    assert delivery.status == "QUEUED" and delivery.attempt_count == 0
    entry = audited("webhook.redelivered", delivery.pk, operator)
    assert entry.before == {"status": "FAILED", "attempt_count": 8}


def test_rotate_secret_action_calls_the_service_and_is_audited(client_, operator, tenant, monkeypatch) -> None:
    endpoint, old_secret = webhook_services.create_endpoint(
        tenant_id=tenant.pk, url="https://hooks.example.com/", events=["*"]
    )
    calls = spy(monkeypatch, webhook_services, "rotate_secret")
    response = run_action(client_, "webhooks/webhookendpoint", "rotate_secret", endpoint.pk)
    assert [c["endpoint"].pk for c in calls] == [endpoint.pk]
    assert "whsec_" in response.content.decode() and old_secret not in response.content.decode()
    assert WebhookSecret.objects.filter(endpoint=endpoint).count() == 2
    audited("webhook.secret_rotated", endpoint.pk, operator)


def test_a_refused_action_is_a_message_not_an_error_page(client_, tenant) -> None:
    api_key, _ = core_services.create_api_key(tenant=tenant, name="ci", scopes=[Scope.WORKFLOWS])
    core_services.revoke_api_key(api_key=api_key)  # audited once, by the service
    response = run_action(client_, "orchestrator/apikey", "revoke_keys", api_key.pk)
    assert "already revoked" in response.content.decode()
    assert AuditLog.objects.filter(action="api_key.revoked").count() == 1  # the refused action added none
