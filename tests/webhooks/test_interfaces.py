"""Celery tasks, admin actions and metrics of the webhooks app."""

from __future__ import annotations

from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from orchestrator import metrics
from tests.webhooks.conftest import delivery_for, emit_event
from tests.webhooks.receiver import Reply
from webhooks import tasks
from webhooks.models import DeliveryStatus, WebhookEndpoint

pytestmark = pytest.mark.django_db


def sample(name: str, labels: dict[str, str]) -> float:
    for family in metrics.webhooks_total.collect() + metrics.webhook_delivery_seconds.collect():
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0.0


def test_deliver_task_attempts_once_and_duplicates_are_harmless(tenant, receiver, make_endpoint) -> None:
    endpoint, _ = make_endpoint(receiver.url)
    row = delivery_for(endpoint, emit_event(tenant))
    assert tasks.deliver.run(str(row.pk)) is True
    assert tasks.deliver.run(str(row.pk)) is False  # already delivered: nothing to claim
    assert len(receiver.received) == 1


def test_metrics_count_attempts_by_outcome(tenant, receiver, make_endpoint) -> None:
    receiver.replies = [Reply(status=500)]
    endpoint, _ = make_endpoint(receiver.url)
    labels = {"event_type": "workflow.created"}
    before_ok = sample("webhooks_total", {**labels, "outcome": "success"})
    before_err = sample("webhooks_total", {**labels, "outcome": "http_error"})
    before_count = sample("webhook_delivery_seconds_count", labels)
    row = delivery_for(endpoint, emit_event(tenant))
    tasks.deliver.run(str(row.pk))
    row.refresh_from_db()
    from webhooks import delivery

    delivery.attempt_delivery(delivery_id=row.pk, now=row.next_attempt_at)
    assert sample("webhooks_total", {**labels, "outcome": "http_error"}) == before_err + 1
    assert sample("webhooks_total", {**labels, "outcome": "success"}) == before_ok + 1
    assert sample("webhook_delivery_seconds_count", labels) == before_count + 2


def test_dispatch_due_task_runs_the_sweep() -> None:
    with mock.patch("webhooks.services.dispatch_due_deliveries", return_value=3) as sweep:
        assert tasks.dispatch_due.run() == 3
    sweep.assert_called_once()


def test_beat_schedule_has_the_sweep_and_the_prune(settings) -> None:
    tasks_scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"webhooks.dispatch_due", "webhooks.prune_deliveries"} <= tasks_scheduled


@pytest.fixture
def admin_client_() -> Client:
    user = get_user_model().objects.create_superuser("root", "root@example.com", None)
    client = Client()
    client.force_login(user)
    return client


def test_admin_lists_and_never_shows_secrets(admin_client_, tenant, make_endpoint) -> None:
    endpoint, secret = make_endpoint("https://hooks.example.com/in")
    delivery_for(endpoint, emit_event(tenant))
    for url in [
        "/admin/webhooks/webhookendpoint/",
        f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/",
        "/admin/webhooks/webhookdelivery/",
    ]:
        response = admin_client_.get(url)
        assert response.status_code == 200, url
        assert secret not in response.content.decode()


def test_admin_rotate_action_shows_new_secret_once_and_redeliver_action(admin_client_, tenant, make_endpoint) -> None:
    endpoint, old = make_endpoint("https://hooks.example.com/in")
    response = admin_client_.post(
        "/admin/webhooks/webhookendpoint/", {"action": "rotate_secret", "_selected_action": [str(endpoint.pk)]}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "whsec_" in page and old not in page
    assert endpoint.secrets.count() == 2
    row = delivery_for(endpoint, emit_event(tenant))
    from webhooks.models import WebhookDelivery

    WebhookDelivery.objects.filter(pk=row.pk).update(status=DeliveryStatus.FAILED)
    admin_client_.post("/admin/webhooks/webhookdelivery/", {"action": "redeliver", "_selected_action": [str(row.pk)]})
    row.refresh_from_db()
    assert row.status == DeliveryStatus.QUEUED
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).enabled
