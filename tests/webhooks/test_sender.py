"""The batch sender (issue 22): exactly-once batch claims, a per-endpoint cap, keep-alive, the SSRF check per attempt.

Real parts: PostgreSQL with parallel connections where concurrency is claimed (each sender's pump and recorder
have their own), a real HTTP receiver on 127.0.0.1; the rest also runs on SQLite (the claim's portable form).
Waiting is by deadline polling (``Receiver.wait_until``, ``Sender.wait_idle``), never by sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.db import connections
from django.utils import timezone

from orchestrator import events
from tests.factories import TenantFactory
from tests.polling import poll
from tests.webhooks.conftest import emit_event
from tests.webhooks.receiver import Receiver, Reply, verify
from webhooks import delivery as delivery_service
from webhooks import services
from webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from webhooks.sender import Sender

EVENTS = ["workflow.created"]
pytestmark = pytest.mark.django_db(transaction=True)  # the claim has a portable form for SQLite


@pytest.fixture(autouse=True)
def _no_broker() -> Iterator[None]:
    """The wake-up messages of the commits go nowhere: these tests wake their own senders."""
    with mock.patch("webhooks.tasks.send_due.apply_async"):
        yield


@pytest.fixture
def senders() -> Iterator[list[Sender]]:
    made: list[Sender] = []
    yield made
    for sender in made:
        sender.stop(timeout=5)


def make_sender(made: list[Sender], **kwargs: Any) -> Sender:
    sender = Sender(**{"threads": 4, "per_endpoint": 2, **kwargs})
    made.append(sender)
    return sender


def drain(*senders_: Sender, expected: int, timeout: float = 60) -> None:
    """Wake the senders until ``expected`` deliveries are SUCCEEDED (deadline polling)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for sender in senders_:
            sender.wake()
        for sender in senders_:
            assert sender.wait_idle(max(0.1, deadline - time.monotonic()))
        if WebhookDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() >= expected:
            return
    raise AssertionError("deliveries not all sent in time")


@pytest.mark.postgres
def test_batch_claims_are_exactly_once_across_concurrent_claimers() -> None:
    tenant = TenantFactory()
    services.create_endpoint(tenant_id=tenant.pk, url="https://a.example.com/", events=["workflow.created"])
    services.create_endpoint(tenant_id=tenant.pk, url="https://b.example.com/", events=["workflow.created"])
    for n in range(40):
        emit_event(tenant, n=n)
    total = WebhookDelivery.objects.count()
    assert total == 80
    claimed: list[list[Any]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(5)

    def claimer() -> None:
        try:
            barrier.wait()
            while True:
                batch = delivery_service.claim_batch(limit=7, now=timezone.now(), cap=3)
                if not batch:
                    return
                with lock:
                    claimed.append([c.delivery.pk for c in batch])
                assert all(len([c for c in batch if c.endpoint.pk == e]) <= 3 for e in {c.endpoint.pk for c in batch})
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claimer) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    ids = [pk for batch in claimed for pk in batch]
    assert len(ids) == len(set(ids)) == total
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.DELIVERING).count() == total


@pytest.mark.postgres
def test_two_senders_deliver_each_message_once_signed(senders: list[Sender]) -> None:
    tenant = TenantFactory()
    with Receiver() as receiver:
        endpoint_a, secret_a = services.create_endpoint(tenant_id=tenant.pk, url=receiver.url + "/a", events=EVENTS)
        services.create_endpoint(tenant_id=tenant.pk, url=receiver.url + "/b", events=EVENTS)
        for n in range(30):
            emit_event(tenant, n=n)
        one, two = make_sender(senders), make_sender(senders)
        drain(one, two, expected=60)
        got = receiver.received
    keys = [(r.headers["webhook-id"], r.path) for r in got]
    assert len(keys) == len(set(keys)) == 60
    assert one.claimed_total + two.claimed_total == 60
    for r in got:
        if r.path.endswith("/a"):
            verify(r.headers, r.body, secret_a)
    assert WebhookAttempt.objects.filter(success=True, number=1).count() == 60
    assert WebhookDelivery.objects.filter(endpoint=endpoint_a, status=DeliveryStatus.SUCCEEDED).count() == 30


def test_a_slow_endpoint_holds_only_its_cap_and_the_fast_one_proceeds(senders: list[Sender]) -> None:
    tenant = TenantFactory()
    with Receiver() as receiver:
        base = receiver.url.rsplit("/", 1)[0]
        receiver.routes["/slow"] = Reply(hang=True)  # answers only once released
        slow, _ = services.create_endpoint(tenant_id=tenant.pk, url=f"{base}/slow", events=["workflow.created"])
        services.create_endpoint(tenant_id=tenant.pk, url=f"{base}/fast", events=["workflow.created"])
        for n in range(12):
            emit_event(tenant, n=n)
        sender = make_sender(senders, threads=4, per_endpoint=2)
        sender.wake()
        # Every fast delivery arrives while the slow endpoint still sits on its first two requests.
        got = receiver.wait_until(lambda rs: sum(r.path == "/fast" for r in rs) >= 12, timeout=30)
        assert sum(r.path == "/slow" for r in got) == 2
        poll(
            lambda: sender.in_flight() == {slow.pk: 2}, 30, "the slow endpoint holding exactly its cap"
        )  # the fast replies are being read
        receiver.release()
        drain(sender, expected=24)
        assert sum(r.path == "/slow" for r in receiver.received) == 12


def test_keep_alive_reuses_connections(senders: list[Sender]) -> None:
    tenant = TenantFactory()
    with Receiver() as receiver:
        services.create_endpoint(tenant_id=tenant.pk, url=receiver.url, events=["workflow.created"])
        for n in range(30):
            emit_event(tenant, n=n)
        drain(make_sender(senders, threads=4, per_endpoint=2), expected=30)
        assert len(receiver.received) == 30
        assert 1 <= receiver.connections <= 2  # at most the endpoint's cap, not one per delivery


def test_pooled_connections_never_skip_the_per_attempt_ssrf_check(senders: list[Sender]) -> None:
    """DNS rebinding: once a connection to the checked address is pooled, a new answer pointing at a refused
    address is checked and refused; the pooled connection is not used for it."""
    tenant = TenantFactory()
    answers = ["127.0.0.1"]
    with Receiver() as receiver:
        url = f"http://hooks.example.test:{receiver.port}/hook"
        services.create_endpoint(tenant_id=tenant.pk, url=url, events=["workflow.created"])
        sender = make_sender(senders, resolver=lambda host, port: [answers[0]])
        emit_event(tenant, n=1)
        drain(sender, expected=1)
        assert receiver.received[0].headers["host"] == f"hooks.example.test:{receiver.port}"
        answers[0] = "169.254.169.254"  # cloud metadata: refused even with private networks allowed
        second = emit_event(tenant, n=2)
        sender.wake()
        assert sender.wait_idle(30)
        row = WebhookDelivery.objects.get(event_id=second.id)
        assert row.status == DeliveryStatus.PENDING and row.last_error.startswith("blocked:")
        assert len(receiver.received) == 1


def test_failures_are_recorded_with_the_retry_schedule_and_the_same_id(senders: list[Sender]) -> None:
    tenant = TenantFactory()
    with Receiver(default=Reply(status=500)) as receiver:
        endpoint, _ = services.create_endpoint(tenant_id=tenant.pk, url=receiver.url, events=["workflow.created"])
        event = emit_event(tenant)
        sender = make_sender(senders)
        sender.wake()
        assert sender.wait_idle(30)
        row = WebhookDelivery.objects.get(endpoint=endpoint, event_id=event.id)
        assert row.status == DeliveryStatus.PENDING and row.attempt_count == 1 and row.last_status_code == 500
        assert row.next_attempt_at > timezone.now()
        receiver.default = Reply(status=200)
        WebhookDelivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())  # the retry is due
        drain(sender, expected=1)
    assert {r.headers["webhook-id"] for r in receiver.received} == {f"msg_{event.id.hex}"}
    assert [a.success for a in WebhookAttempt.objects.filter(delivery=row).order_by("number")] == [False, True]


def test_a_test_event_is_left_to_the_request_that_sends_it(senders: list[Sender]) -> None:
    """``send_test`` claims and sends its own delivery; a sender woken meanwhile must not take it from under it
    (the request would find no attempt). Only one left behind by a dead request is taken, after TEST_GRACE."""
    tenant = TenantFactory()
    with Receiver() as receiver:
        endpoint, _ = services.create_endpoint(tenant_id=tenant.pk, url=receiver.url, events=EVENTS)
        events.emit(
            "webhook.test", tenant_id=tenant.pk, resource_type="webhook", resource_id=endpoint.pk,
            data={"webhook_id": str(endpoint.pk)},
        )  # fmt: skip
        row = WebhookDelivery.objects.get(endpoint=endpoint, event_type="webhook.test")
        sender = make_sender(senders)
        sender.wake()
        assert sender.wait_idle(30)
        assert WebhookDelivery.objects.get(pk=row.pk).status == DeliveryStatus.QUEUED
        WebhookDelivery.objects.filter(pk=row.pk).update(
            created_at=timezone.now() - delivery_service.TEST_GRACE - timedelta(seconds=1)
        )
        drain(sender, expected=1)
        assert len(receiver.received) == 1


def test_a_response_with_a_nul_byte_is_recorded_with_the_rest_of_its_batch(senders: list[Sender]) -> None:
    tenant = TenantFactory()
    with Receiver(default=Reply(status=200, body=b"ok\x00then more")) as receiver:
        services.create_endpoint(tenant_id=tenant.pk, url=receiver.url, events=EVENTS)
        for n in range(5):
            emit_event(tenant, n=n)
        drain(make_sender(senders), expected=5)
        assert len(receiver.received) == 5
    assert {a.response_excerpt for a in WebhookAttempt.objects.all()} == {"ok\ufffdthen more"}


def test_a_batch_the_database_refuses_is_recorded_one_by_one(senders: list[Sender]) -> None:
    tenant = TenantFactory()
    with Receiver() as receiver:
        services.create_endpoint(tenant_id=tenant.pk, url=receiver.url, events=EVENTS)
        for n in range(4):
            emit_event(tenant, n=n)
        with mock.patch.object(delivery_service, "_SUCCEED_SQL", "SELECT no_such_function({values}{delivery})"):
            drain(make_sender(senders), expected=4)
        assert len(receiver.received) == 4
    assert WebhookAttempt.objects.filter(success=True, number=1).count() == 4


def test_a_delivery_continues_the_trace_of_the_action_behind_its_event() -> None:
    """The sender's threads have no trace context: the row carries the producer's ``traceparent`` and the send
    runs inside it (the process test in tests/deploy/test_tracing_processes.py sees the header at a receiver)."""
    from opentelemetry import trace
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

    from orchestrator.lib import tracecontext

    tenant = TenantFactory()
    trace_id, span_id = 0x0AF7651916CD43DD8448EB211C80319C, 0x00F067AA0BA902B7
    producer = NonRecordingSpan(SpanContext(trace_id, span_id, is_remote=False, trace_flags=TraceFlags(1)))
    with Receiver() as receiver:
        services.create_endpoint(tenant_id=tenant.pk, url=receiver.url, events=EVENTS)
        with trace.use_span(producer):
            traced = emit_event(tenant, n=1)
        untraced = emit_event(tenant, n=2)
    stored = WebhookDelivery.objects.get(event_id=traced.id).traceparent
    assert stored == f"00-{trace_id:032x}-{span_id:016x}-01"
    assert WebhookDelivery.objects.get(event_id=untraced.id).traceparent == ""
    with tracecontext.continued(stored):
        assert trace.get_current_span().get_span_context().trace_id == trace_id
    with tracecontext.continued(""):
        assert not trace.get_current_span().get_span_context().is_valid
