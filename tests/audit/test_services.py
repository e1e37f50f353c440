"""Writing the audit log: every event lands, in the change's transaction, with the caller's context (SPEC §7.2)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from django.db import transaction
from django.http import HttpResponse
from django.test import RequestFactory

from audit import integrity, verification
from audit.models import AuditChainHead, AuditLog
from orchestrator import events, metrics
from orchestrator.lib import context
from orchestrator.lib.auth import ApiKeyAuthentication
from tests.audit.conftest import emit
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("event_type", events.EVENT_TYPES)
def test_every_event_type_lands_in_the_audit_log(tenant, event_type) -> None:
    entry = emit(tenant, event_type, resource_type=event_type.split(".")[0], data={"k": "v"})
    assert entry.action == event_type
    assert entry.tenant_id == tenant.pk
    assert entry.metadata == {"data": {"k": "v"}}
    assert verification.verify_chains([tenant.pk]).ok


def test_entry_is_rolled_back_with_the_change_it_records_and_the_chain_stays_gapless(tenant) -> None:
    emit(tenant)
    with pytest.raises(RuntimeError), transaction.atomic():
        events.emit("workflow.started", tenant_id=tenant.pk, resource_type="workflow", resource_id="w", data={})
        raise RuntimeError("the change failed")
    entry = emit(tenant)
    assert AuditLog.objects.filter(tenant=tenant).count() == 2
    assert entry.sequence == 2
    assert AuditChainHead.objects.get(chain=str(tenant.pk)).last_sequence == 2


def test_entries_link_into_a_chain_per_tenant(tenant, other_tenant) -> None:
    first = emit(tenant)
    emit(other_tenant)
    second = emit(tenant)
    assert (first.sequence, second.sequence) == (1, 2)
    assert first.prev_hash == integrity.GENESIS_HASH
    assert second.prev_hash == first.hash
    assert AuditLog.objects.get(tenant=other_tenant).sequence == 1
    assert verification.verify_chains().ok


def test_tenantless_events_go_to_the_global_chain() -> None:
    entry = emit(None)
    assert entry.chain == "global"
    assert entry.sequence == 1


def test_worker_entries_have_the_system_actor(tenant) -> None:
    entry = emit(tenant)
    assert entry.actor == {"type": "system", "id": "system", "display": "system"}
    assert entry.ip is None
    assert entry.request_id == ""


def test_explicit_actor_and_change_details_are_recorded(tenant) -> None:
    actor = context.Actor(type="user", id="42", display="alice")
    entry = emit(
        tenant,
        "approval.rejected",
        actor=actor,
        resource_type="approval",
        before={"status": "PENDING"},
        after={"status": "REJECTED"},
        reason="too risky",
        metadata={"risk_level": "HIGH"},
    )
    assert entry.actor == actor.as_dict()
    assert (entry.before, entry.after, entry.reason) == ({"status": "PENDING"}, {"status": "REJECTED"}, "too risky")
    assert entry.metadata["risk_level"] == "HIGH"


def _run_in_request(request, emit_kwargs):
    entries = []

    def view(req):
        entries.append(emit(None, **emit_kwargs))
        return HttpResponse("ok")

    response = context.RequestContextMiddleware(view)(request)
    return entries[0], response


def test_console_request_context_is_captured_for_signed_in_people(tenant) -> None:
    user = UserFactory(username="reviewer1")
    request = RequestFactory().post(
        "/console/x", HTTP_USER_AGENT="Firefox/140", HTTP_X_REQUEST_ID="req-123", REMOTE_ADDR="2001:0db8::0001"
    )
    request.user = user
    entry, response = _run_in_request(request, {"tenant_id": tenant.pk})
    assert entry.actor == {"type": "user", "id": str(user.pk), "display": "reviewer1"}
    assert (entry.ip, entry.user_agent, entry.request_id) == ("2001:db8::1", "Firefox/140", "req-123")
    assert response["X-Request-ID"] == "req-123"
    assert verification.verify_chains([tenant.pk]).ok


def test_api_key_request_context_is_captured(tenant, make_api_key) -> None:
    api_key, raw = make_api_key(tenant)
    request = RequestFactory().get("/api/v1/x", HTTP_AUTHORIZATION=f"Bearer {raw}", REMOTE_ADDR="10.1.2.3")

    def view(req):
        from rest_framework.request import Request

        ApiKeyAuthentication().authenticate(Request(req))
        return HttpResponse(str(emit(tenant).pk))

    response = context.RequestContextMiddleware(view)(request)
    entry = AuditLog.objects.get(pk=response.content.decode())
    assert entry.actor == {"type": "api_key", "id": str(api_key.pk), "display": f"test ({api_key.prefix})"}
    assert entry.ip == "10.1.2.3"
    assert entry.request_id == response["X-Request-ID"]


def test_awkward_values_are_stored_so_that_the_hash_still_verifies(tenant) -> None:
    data = {
        "float": 0.1,
        "integral_float": 1.0,
        "huge": 1e300,
        "tiny": 1.5e-7,
        "negative": -3,
        "uuid": uuid.UUID(int=5),
        "when": datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        "tuple": (1, 2),
        "nul": "a\x00b",
        "unicode": "été ✓ 🚀",
        1: "int key",
    }
    entry = emit(tenant, data=data, reason="nul\x00here", actor=context.Actor("user", "1", "x" * 500))
    entry.refresh_from_db()
    assert entry.metadata["data"]["nul"] == "a\ufffdb"
    assert entry.metadata["data"]["1"] == "int key"
    assert len(entry.actor_display) == 200
    assert verification.verify_chains([tenant.pk]).ok


def test_nan_is_refused(tenant) -> None:
    with pytest.raises(ValueError):
        emit(tenant, data={"bad": float("nan")})


def test_created_at_keeps_microseconds_through_the_database(tenant) -> None:
    entry = emit(tenant)
    stored = AuditLog.objects.get(pk=entry.pk)
    assert integrity.format_timestamp(stored.created_at) == integrity.format_timestamp(entry.created_at)
    assert integrity.format_timestamp(stored.created_at).endswith("Z")


def test_metric_is_bumped_per_action(tenant) -> None:
    counter = metrics.audit_logs_total.labels(action="webhook.test")
    before = counter._value.get()
    emit(tenant, "webhook.test")
    assert counter._value.get() == before + 1
