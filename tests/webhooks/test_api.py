"""The webhooks API (SPEC §7.1): CRUD, secret shown only on create/rotate, test, deliveries, redeliver, tenancy."""

from __future__ import annotations

import pytest

from orchestrator.events import EVENT_TYPES
from orchestrator.models import Role, Scope
from tests.conftest import assert_problem
from tests.webhooks.conftest import delivery_for, emit_event
from tests.webhooks.receiver import verify
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


def create(api, url="https://hooks.example.com/in", events=None, **extra):
    return api.post("/api/v1/webhooks", {"url": url, "events": events or ["*"], **extra}, format="json")


def test_create_returns_the_secret_once(api, tenant) -> None:
    response = create(api, events=["workflow.created", "approval.requested"], description="CI")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert body["tenant_id"] == str(tenant.pk)
    assert body["events"] == ["workflow.created", "approval.requested"]
    assert body["enabled"] is True
    shown = api.get(f"/api/v1/webhooks/{body['id']}").json()
    assert "secret" not in shown and body["secret"] not in str(shown)
    listed = api.get("/api/v1/webhooks").json()
    assert [e["id"] for e in listed["results"]] == [body["id"]] and listed["next"] is None
    assert body["secret"] not in str(listed)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"url": "not a url", "events": ["*"]}, "url"),
        ({"url": "https://x.example.com/", "events": ["nope"]}, "events[0]"),
        ({"url": "https://x.example.com/", "events": []}, "events"),
        ({"url": "ftp://x.example.com/", "events": ["*"]}, "url"),
        ({"events": ["*"]}, "url"),
    ],
)
def test_invalid_input_is_a_400_problem_naming_the_field(api, payload, field) -> None:
    body = assert_problem(api.post("/api/v1/webhooks", payload, format="json"), 400, "validation_error")
    assert field in [e["field"] for e in body["errors"]], body


def test_private_literal_url_is_refused_with_a_clear_error(api, settings) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    body = assert_problem(create(api, url="http://10.0.0.5/hook"), 400, "validation_error")
    assert "private" in body["detail"]


def test_update_patch_and_delete(api, tenant) -> None:
    webhook_id = create(api).json()["id"]
    patched = api.patch(f"/api/v1/webhooks/{webhook_id}", {"enabled": False}, format="json")
    assert patched.status_code == 200 and patched.json()["enabled"] is False
    put = api.put(
        f"/api/v1/webhooks/{webhook_id}",
        {"url": "https://new.example.com/", "events": ["workflow.failed"], "enabled": True, "description": "d"},
        format="json",
    )
    assert put.status_code == 200
    assert put.json()["url"] == "https://new.example.com/" and put.json()["enabled"] is True
    assert_problem(api.put(f"/api/v1/webhooks/{webhook_id}", {"enabled": True}, format="json"), 400, "validation_error")
    assert api.delete(f"/api/v1/webhooks/{webhook_id}").status_code == 204
    assert_problem(api.get(f"/api/v1/webhooks/{webhook_id}"), 404, "not_found")
    from audit.models import AuditLog

    actions = list(
        AuditLog.objects.filter(resource_id=webhook_id).order_by("sequence").values_list("action", flat=True)
    )
    assert actions == ["webhook.created", "webhook.updated", "webhook.updated", "webhook.deleted"]


def test_rotate_secret_returns_new_secret_and_both_sign_during_grace(api, receiver) -> None:
    created = create(api, url=receiver.url).json()
    rotated = api.post(f"/api/v1/webhooks/{created['id']}/rotate-secret")
    assert rotated.status_code == 200
    body = rotated.json()
    assert body["secret"].startswith("whsec_") and body["secret"] != created["secret"]
    assert body["previous_secret_expires_at"]
    result = api.post(f"/api/v1/webhooks/{created['id']}/test")
    assert result.status_code == 200
    (got,) = receiver.wait_for(1)
    verify(got.headers, got.body, created["secret"])
    verify(got.headers, got.body, body["secret"])


def test_test_endpoint_answers_with_its_outcome(api, receiver) -> None:
    from tests.webhooks.receiver import Reply

    created = create(api, url=receiver.url).json()
    ok = api.post(f"/api/v1/webhooks/{created['id']}/test").json()
    assert ok["success"] is True and ok["status_code"] == 200 and ok["latency_ms"] >= 0 and ok["error"] == ""
    assert ok["message_id"].startswith("msg_")
    receiver.replies = [Reply(status=500, body=b"nope")]
    failed = api.post(f"/api/v1/webhooks/{created['id']}/test").json()
    assert failed["success"] is False and failed["status_code"] == 500 and failed["response_excerpt"] == "nope"
    deliveries = api.get(f"/api/v1/webhooks/{created['id']}/deliveries?event_type=webhook.test").json()["results"]
    assert len(deliveries) == 2
    assert {d["status"] for d in deliveries} == {"SUCCEEDED", "FAILED"}
    assert all(len(d["attempts"]) == 1 for d in deliveries)


def test_deliveries_list_filters_and_redeliver(api, tenant) -> None:
    endpoint_id = create(api, events=["workflow.created"]).json()["id"]
    endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
    row = delivery_for(endpoint, emit_event(tenant))
    WebhookDelivery.objects.filter(pk=row.pk).update(status=DeliveryStatus.FAILED)
    listed = api.get(f"/api/v1/webhooks/{endpoint_id}/deliveries?status=FAILED&limit=10").json()
    assert [d["id"] for d in listed["results"]] == [str(row.pk)]
    assert listed["results"][0]["event_type"] == "workflow.created"
    assert api.get(f"/api/v1/webhooks/{endpoint_id}/deliveries?status=SUCCEEDED").json()["results"] == []
    assert_problem(api.get(f"/api/v1/webhooks/{endpoint_id}/deliveries?status=BOGUS"), 400, "validation_error")
    response = api.post(f"/api/v1/webhooks/deliveries/{row.pk}/redeliver")
    assert response.status_code == 202
    assert response.json()["status"] == "QUEUED"
    assert api.get(f"/api/v1/webhooks/deliveries/{row.pk}").json()["id"] == str(row.pk)


def test_redeliver_to_a_disabled_endpoint_is_409(api, tenant) -> None:
    endpoint_id = create(api, events=["*"]).json()["id"]
    row = delivery_for(WebhookEndpoint.objects.get(pk=endpoint_id), emit_event(tenant))
    api.patch(f"/api/v1/webhooks/{endpoint_id}", {"enabled": False}, format="json")
    assert_problem(api.post(f"/api/v1/webhooks/deliveries/{row.pk}/redeliver"), 409, "invalid_state")


def test_event_types_route_is_not_shadowed(api) -> None:
    response = api.get("/api/v1/webhooks/event-types")
    assert response.status_code == 200
    assert [e["type"] for e in response.json()["results"]] == list(EVENT_TYPES)


def test_unknown_or_malformed_ids_are_404(api) -> None:
    assert_problem(api.get("/api/v1/webhooks/00000000-0000-0000-0000-000000000000"), 404, "not_found")
    assert_problem(api.get("/api/v1/webhooks/not-a-uuid"), 404, "not_found")
    assert_problem(api.post("/api/v1/webhooks/deliveries/not-a-uuid/redeliver"), 404, "not_found")


def test_tenant_a_cannot_touch_tenant_b_endpoint(api, other_tenant, key_client) -> None:
    other = key_client(other_tenant)
    created = create(other).json()
    b_id = created["id"]
    b_delivery = delivery_for(WebhookEndpoint.objects.get(pk=b_id), emit_event(other_tenant))
    assert_problem(api.get(f"/api/v1/webhooks/{b_id}"), 404, "not_found")
    assert_problem(api.patch(f"/api/v1/webhooks/{b_id}", {"enabled": False}, format="json"), 404, "not_found")
    put = {"url": "https://evil.example.com/", "events": ["*"]}
    assert_problem(api.put(f"/api/v1/webhooks/{b_id}", put, format="json"), 404, "not_found")
    assert_problem(api.delete(f"/api/v1/webhooks/{b_id}"), 404, "not_found")
    assert_problem(api.post(f"/api/v1/webhooks/{b_id}/test"), 404, "not_found")
    assert_problem(api.post(f"/api/v1/webhooks/{b_id}/rotate-secret"), 404, "not_found")
    assert_problem(api.get(f"/api/v1/webhooks/{b_id}/deliveries"), 404, "not_found")
    assert_problem(api.get(f"/api/v1/webhooks/deliveries/{b_delivery.pk}"), 404, "not_found")
    assert_problem(api.post(f"/api/v1/webhooks/deliveries/{b_delivery.pk}/redeliver"), 404, "not_found")
    assert api.get("/api/v1/webhooks").json()["results"] == []
    endpoint = WebhookEndpoint.objects.get(pk=b_id)
    assert endpoint.enabled and endpoint.url == "https://hooks.example.com/in"
    assert endpoint.secrets.count() == 1


def test_key_without_webhooks_scope_is_403(tenant, key_client) -> None:
    client = key_client(tenant, [Scope.WORKFLOWS])
    assert_problem(client.get("/api/v1/webhooks"), 403, "permission_denied")
    assert_problem(create(client), 403, "permission_denied")


def test_member_viewer_reads_but_only_operator_changes(tenant, member_client, key_client) -> None:
    webhook_id = create(key_client(tenant)).json()["id"]
    viewer = member_client(tenant, Role.VIEWER)
    assert viewer.get(f"/api/v1/webhooks/{webhook_id}").status_code == 200
    assert viewer.get(f"/api/v1/webhooks/{webhook_id}/deliveries").status_code == 200
    assert_problem(create(viewer), 403, "permission_denied")
    assert_problem(viewer.post(f"/api/v1/webhooks/{webhook_id}/rotate-secret"), 403, "permission_denied")
    assert_problem(viewer.patch(f"/api/v1/webhooks/{webhook_id}", {"enabled": False}, format="json"), 403)
    operator = member_client(tenant, Role.OPERATOR)
    assert operator.patch(f"/api/v1/webhooks/{webhook_id}", {"enabled": False}, format="json").status_code == 200


def test_operator_in_one_tenant_is_403_on_endpoint_of_tenant_where_viewer(
    tenant, other_tenant, member_client, key_client
) -> None:
    from orchestrator.models import Membership

    b_id = create(key_client(other_tenant)).json()["id"]
    person = member_client(tenant, Role.OPERATOR)
    Membership.objects.create(user=person.user, tenant=other_tenant, role=Role.VIEWER)
    assert person.get(f"/api/v1/webhooks/{b_id}").status_code == 200
    assert_problem(person.post(f"/api/v1/webhooks/{b_id}/rotate-secret"), 403, "permission_denied")


def test_create_is_idempotent_with_idempotency_key(api) -> None:
    payload = {"url": "https://hooks.example.com/in", "events": ["*"]}
    first = api.post("/api/v1/webhooks", payload, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    second = api.post("/api/v1/webhooks", payload, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert WebhookEndpoint.objects.count() == 1


def test_openapi_schema_lists_every_webhook_route(api) -> None:
    schema = api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in [
        "/api/v1/webhooks",
        "/api/v1/webhooks/{id}",
        "/api/v1/webhooks/{id}/test",
        "/api/v1/webhooks/{id}/rotate-secret",
        "/api/v1/webhooks/{id}/deliveries",
        "/api/v1/webhooks/deliveries/{id}",
        "/api/v1/webhooks/deliveries/{id}/redeliver",
        "/api/v1/webhooks/event-types",
    ]:
        assert path in paths, path
    assert set(paths["/api/v1/webhooks/{id}"]) >= {"get", "put", "patch", "delete"}
