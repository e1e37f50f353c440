"""The outbox (enqueue_event), the sweep, redelivery, pruning and secrets at rest."""

from __future__ import annotations

import threading
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection, connections
from django.utils import timezone

from orchestrator.lib.errors import InvalidInput, InvalidStateError
from tests.factories import TenantFactory
from tests.webhooks.conftest import delivery_for, emit_event
from webhooks import delivery as delivery_service
from webhooks import services
from webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookSecret

pytestmark = pytest.mark.django_db


def test_outbox_row_per_matching_enabled_endpoint_of_the_tenant(tenant, other_tenant, make_endpoint) -> None:
    everything, _ = make_endpoint("https://a.example.com/")
    only_created, _ = make_endpoint("https://b.example.com/", ["workflow.created"])
    only_failed, _ = make_endpoint("https://c.example.com/", ["workflow.failed"])
    disabled, _ = make_endpoint("https://d.example.com/", enabled=False)
    foreign, _ = make_endpoint("https://e.example.com/", tenant_=other_tenant)
    event = emit_event(tenant)
    got = set(WebhookDelivery.objects.filter(event_id=event.id).values_list("endpoint_id", flat=True))
    assert got == {everything.pk, only_created.pk}
    row = delivery_for(everything, event)
    assert row.status == DeliveryStatus.QUEUED and row.message_id == f"msg_{event.id.hex}"
    assert row.tenant_id == tenant.pk
    del only_failed, disabled, foreign


def test_delivery_tasks_are_sent_only_on_commit(tenant, make_endpoint, django_capture_on_commit_callbacks) -> None:
    make_endpoint("https://a.example.com/")
    make_endpoint("https://b.example.com/")
    with (
        mock.patch("webhooks.tasks.send_due.apply_async") as apply_async,
        django_capture_on_commit_callbacks(execute=True),
    ):
        event = emit_event(tenant)
        assert apply_async.call_count == 0
    # One wake-up for the commit however many endpoints (issue 22): the sender claims the rows from the database.
    assert apply_async.call_count == 1
    assert apply_async.call_args.kwargs["queue"] == "webhooks"
    assert WebhookDelivery.objects.filter(event_id=event.id, status=DeliveryStatus.QUEUED).count() == 2


def test_broker_failure_on_commit_loses_nothing(tenant, make_endpoint, django_capture_on_commit_callbacks) -> None:
    endpoint, _ = make_endpoint("https://a.example.com/")
    with (
        mock.patch("webhooks.tasks.send_due.apply_async", side_effect=ConnectionError("broker down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        event = emit_event(tenant)
    row = delivery_for(endpoint, event)
    assert row.status == DeliveryStatus.QUEUED
    later = timezone.now() + services.REDISPATCH_AFTER + timedelta(seconds=1)
    with mock.patch("webhooks.services.send_delivery_tasks"):
        assert services.dispatch_due_deliveries(now=later) == 1
    row.refresh_from_db()
    assert row.status == DeliveryStatus.QUEUED and row.next_attempt_at > later


def test_enqueue_is_one_query_when_the_tenant_has_no_endpoint(tenant, django_assert_num_queries) -> None:
    from orchestrator.events import Event

    event = Event(type="workflow.created", tenant_id=tenant.pk, data={})
    with django_assert_num_queries(1):
        assert services.enqueue_event(event) == 0


def test_webhook_events_are_not_sent_to_the_endpoint_they_describe(tenant, make_endpoint) -> None:
    watcher, _ = make_endpoint("https://watcher.example.com/", ["webhook.created", "webhook.updated"])
    other, _ = make_endpoint("https://other.example.com/", ["*"])
    assert WebhookDelivery.objects.filter(endpoint=watcher, event_type="webhook.created").count() == 1
    services.update_endpoint(endpoint=watcher, changes={"description": "changed"})
    assert not WebhookDelivery.objects.filter(endpoint=watcher, event_type="webhook.updated").exists()
    assert WebhookDelivery.objects.filter(endpoint=other, event_type="webhook.updated").count() == 1
    del other


def test_validation_of_url_and_events(tenant) -> None:
    with pytest.raises(InvalidInput) as info:
        services.create_endpoint(tenant_id=tenant.pk, url="https://x.example.com/", events=["nope.event"])
    assert info.value.errors[0]["field"] == "events"
    with pytest.raises(InvalidInput):
        services.create_endpoint(tenant_id=tenant.pk, url="https://x.example.com/", events=[])
    with pytest.raises(InvalidInput) as info:
        services.create_endpoint(tenant_id=tenant.pk, url="ftp://x.example.com/", events=["*"])
    assert info.value.errors[0]["field"] == "url"


def test_literal_private_url_refused_at_creation_unless_allowed(tenant, settings) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    with pytest.raises(InvalidInput, match="loopback"):
        services.create_endpoint(tenant_id=tenant.pk, url="http://127.0.0.1:9000/", events=["*"])
    with pytest.raises(InvalidInput, match="metadata"):
        services.create_endpoint(tenant_id=tenant.pk, url="http://169.254.169.254/", events=["*"])


def test_the_database_never_holds_a_secret_in_plain_text(tenant, make_endpoint) -> None:
    endpoint, first = make_endpoint("https://a.example.com/")
    second, _ = services.rotate_secret(endpoint=endpoint)
    assert sorted(services.live_secrets(endpoint.pk)) == sorted([first, second])
    needles = []
    for secret in (first, second):
        needles += [secret, secret.removeprefix("whsec_")]
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            dump = repr(cursor.fetchall())
            for needle in needles:
                assert needle not in dump, f"secret found in {table}"
    assert WebhookSecret.objects.filter(endpoint=endpoint).count() == 2


def test_sweep_redispatches_due_retries_and_stranded_deliveries(
    tenant, make_endpoint, django_capture_on_commit_callbacks
) -> None:
    endpoint, _ = make_endpoint("https://a.example.com/")
    now = timezone.now()
    stranded = delivery_for(endpoint, emit_event(tenant))
    assert delivery_service.claim(stranded.pk, now=now) is not None  # a worker took it and died
    retry = delivery_for(endpoint, emit_event(tenant))
    WebhookDelivery.objects.filter(pk=retry.pk).update(status=DeliveryStatus.PENDING, next_attempt_at=now)
    later_retry = delivery_for(endpoint, emit_event(tenant))
    WebhookDelivery.objects.filter(pk=later_retry.pk).update(
        status=DeliveryStatus.PENDING, next_attempt_at=now + timedelta(hours=1)
    )
    done = delivery_for(endpoint, emit_event(tenant))
    WebhookDelivery.objects.filter(pk=done.pk).update(status=DeliveryStatus.SUCCEEDED, next_attempt_at=now)
    with mock.patch("webhooks.services.send_delivery_tasks") as send:
        assert services.dispatch_due_deliveries(now=now + timedelta(seconds=1)) == 1  # only the due retry
        lease_over = now + delivery_service.lease_duration() + timedelta(seconds=1)
        with django_capture_on_commit_callbacks(execute=True):
            assert services.dispatch_due_deliveries(now=lease_over) == 1  # the stranded one (its worker died)
        assert send.call_args.args[0] == [str(stranded.pk)]
        lost = lease_over + services.REDISPATCH_AFTER + timedelta(seconds=1)
        with django_capture_on_commit_callbacks(execute=True):
            assert services.dispatch_due_deliveries(now=lost) == 2  # queued, but the tasks never ran
        assert set(send.call_args.args[0]) == {str(stranded.pk), str(retry.pk)}
    stranded.refresh_from_db()
    assert stranded.status == DeliveryStatus.QUEUED and stranded.lease_token is None


def test_redeliver_restarts_the_schedule_with_the_same_message_id(tenant, receiver, make_endpoint) -> None:
    endpoint, _ = make_endpoint(receiver.url)
    row = delivery_for(endpoint, emit_event(tenant))
    delivery_service.attempt_delivery(delivery_id=row.pk)
    row.refresh_from_db()
    assert row.status == DeliveryStatus.SUCCEEDED
    services.redeliver(delivery=row)
    row.refresh_from_db()
    assert row.status == DeliveryStatus.QUEUED and row.attempt_count == 0
    again = delivery_service.attempt_delivery(delivery_id=row.pk)
    assert again is not None and again.number == 2
    first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]


def test_redeliver_refused_while_in_flight_or_disabled(tenant, make_endpoint) -> None:
    endpoint, _ = make_endpoint("https://a.example.com/")
    row = delivery_for(endpoint, emit_event(tenant))
    delivery_service.claim(row.pk, now=timezone.now())
    with pytest.raises(InvalidStateError):
        services.redeliver(delivery=row)
    services.update_endpoint(endpoint=endpoint, changes={"enabled": False})
    with pytest.raises(InvalidStateError, match="disabled"):
        services.redeliver(delivery=row, now=timezone.now() + timedelta(hours=1))


def test_prune_removes_old_finished_deliveries_and_expired_secrets(tenant, make_endpoint, settings) -> None:
    settings.WEBHOOK_DELIVERY_RETENTION_DAYS = 30
    endpoint, _ = make_endpoint("https://a.example.com/")
    old_done = delivery_for(endpoint, emit_event(tenant))
    old_live = delivery_for(endpoint, emit_event(tenant))
    recent = delivery_for(endpoint, emit_event(tenant))
    long_ago = timezone.now() - timedelta(days=31)
    WebhookDelivery.objects.filter(pk=old_done.pk).update(status=DeliveryStatus.SUCCEEDED, created_at=long_ago)
    WebhookDelivery.objects.filter(pk=old_live.pk).update(created_at=long_ago)
    WebhookDelivery.objects.filter(pk=recent.pk).update(status=DeliveryStatus.FAILED)
    WebhookAttempt.objects.create(delivery=old_done, number=1, created_at=long_ago, success=True, status_code=200)
    services.rotate_secret(endpoint=endpoint, now=timezone.now() - timedelta(days=2))
    assert services.prune_deliveries() == 1
    assert set(WebhookDelivery.objects.values_list("id", flat=True)) >= {old_live.pk, recent.pk}
    assert not WebhookDelivery.objects.filter(pk=old_done.pk).exists()
    assert not WebhookAttempt.objects.filter(delivery_id=old_done.pk).exists()
    assert WebhookSecret.objects.filter(endpoint=endpoint).count() == 1
    settings.WEBHOOK_DELIVERY_RETENTION_DAYS = 0
    WebhookDelivery.objects.filter(pk=recent.pk).update(created_at=long_ago)
    assert services.prune_deliveries() == 0


def test_reencrypt_secrets_moves_them_to_the_new_primary_key(tenant, make_endpoint, settings) -> None:
    from cryptography.fernet import Fernet

    settings.WEBHOOK_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    endpoint, secret = make_endpoint("https://a.example.com/")
    settings.WEBHOOK_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *settings.WEBHOOK_ENCRYPTION_KEYS]
    assert services.reencrypt_secrets() == 1
    settings.WEBHOOK_ENCRYPTION_KEYS = settings.WEBHOOK_ENCRYPTION_KEYS[:1]
    assert services.live_secrets(endpoint.pk) == [secret]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_hand_out_each_delivery_once() -> None:
    tenant = TenantFactory()
    endpoint, _ = services.create_endpoint(tenant_id=tenant.pk, url="https://a.example.com/", events=["*"])
    for n in range(60):
        emit_event(tenant, n=n)
    WebhookDelivery.objects.update(status=DeliveryStatus.PENDING, next_attempt_at=timezone.now())
    handed: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(4)

    def record(ids, countdown=None):
        with lock:
            handed.extend(ids)

    def sweep() -> None:
        try:
            barrier.wait()
            services.dispatch_due_deliveries(batch_size=7)
        finally:
            connections.close_all()

    with mock.patch("webhooks.services.send_delivery_tasks", side_effect=record):
        threads = [threading.Thread(target=sweep) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    due = WebhookDelivery.objects.filter(endpoint=endpoint).count()
    assert len(handed) == len(set(handed)) == due


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_of_one_delivery_have_one_winner() -> None:
    tenant = TenantFactory()
    endpoint, _ = services.create_endpoint(tenant_id=tenant.pk, url="https://a.example.com/", events=["*"])
    row = delivery_for(endpoint, emit_event(tenant))
    now = timezone.now()
    tokens = []
    barrier = threading.Barrier(6)

    def grab() -> None:
        try:
            barrier.wait()
            tokens.append(delivery_service.claim(row.pk, now=now))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=grab) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len([t for t in tokens if t is not None]) == 1
