"""Delivery against a real HTTP receiver on 127.0.0.1, with an injected clock for the retry schedule."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditLog
from tests.webhooks.conftest import delivery_for, emit_event
from tests.webhooks.receiver import InvalidSignature, Reply, verify
from webhooks import delivery as delivery_service
from webhooks import services
from webhooks.models import DeliveryStatus, WebhookAttempt
from webhooks.schedule import JITTER, MAX_ATTEMPTS, RETRY_SCHEDULE

pytestmark = pytest.mark.django_db


def attempt(row, now=None, **kwargs):
    return delivery_service.attempt_delivery(delivery_id=row.pk, now=now or timezone.now(), **kwargs)


def test_success_is_signed_verifiable_and_recorded(tenant, receiver, make_endpoint) -> None:
    endpoint, secret = make_endpoint(receiver.url)
    event = emit_event(tenant, detail="hello")
    row = delivery_for(endpoint, event)
    result = attempt(row)
    assert result is not None and result.success and result.status_code == 200
    (got,) = receiver.wait_for(1)
    verify(got.headers, got.body, secret)
    assert got.headers["webhook-id"] == f"msg_{event.id.hex}"
    assert got.headers["content-type"] == "application/json"
    assert json.loads(got.body) == event.payload()
    row.refresh_from_db()
    assert row.status == DeliveryStatus.SUCCEEDED and row.delivered_at is not None
    assert result.response_excerpt == "ok"
    assert result.latency_ms >= 0


def test_500_then_success_keeps_the_same_webhook_id(tenant, receiver, make_endpoint) -> None:
    receiver.replies = [Reply(status=500, body=b"boom")]
    endpoint, secret = make_endpoint(receiver.url)
    row = delivery_for(endpoint, emit_event(tenant))
    now = timezone.now()
    first = attempt(row, now=now, rng=random.Random(1))
    assert first is not None and not first.success and first.status_code == 500
    assert first.response_excerpt == "boom"
    row.refresh_from_db()
    assert row.status == DeliveryStatus.PENDING and row.attempt_count == 1
    assert attempt(row, now=now + timedelta(seconds=1)) is None  # not due yet (5 s ± 20 %)
    second = attempt(row, now=row.next_attempt_at)
    assert second is not None and second.success
    one, two = receiver.wait_for(2)
    assert one.headers["webhook-id"] == two.headers["webhook-id"]
    assert one.body == two.body
    verify(two.headers, two.body, secret, now=row.next_attempt_at.timestamp())
    assert list(WebhookAttempt.objects.filter(delivery=row).values_list("number", "status_code")) == [
        (1, 500),
        (2, 200),
    ]


def test_attempt_schedule_on_an_injected_clock(tenant, receiver, make_endpoint) -> None:
    receiver.default = Reply(status=500)
    endpoint, _ = make_endpoint(receiver.url)
    row = delivery_for(endpoint, emit_event(tenant))
    clock = timezone.now()
    rng = random.Random(42)
    for number in range(1, MAX_ATTEMPTS + 1):
        result = attempt(row, now=clock, rng=rng)
        assert result is not None and result.number == number
        row.refresh_from_db()
        if number == MAX_ATTEMPTS:
            assert row.status == DeliveryStatus.FAILED and result.next_attempt_at is None
            break
        expected = RETRY_SCHEDULE[number].total_seconds()
        waited = (row.next_attempt_at - clock).total_seconds()
        assert expected * (1 - JITTER) <= waited <= expected * (1 + JITTER) + 1, (number, waited)
        clock = row.next_attempt_at
    total = clock - WebhookAttempt.objects.filter(delivery=row).order_by("number").first().created_at
    assert timedelta(hours=20) < total < timedelta(hours=34)  # "about a day"
    assert len(receiver.wait_for(MAX_ATTEMPTS)) == MAX_ATTEMPTS
    assert attempt(row, now=clock + timedelta(days=2)) is None  # given up: nothing left to claim


def test_timeout_is_a_failed_attempt_with_an_error(tenant, receiver, make_endpoint, settings) -> None:
    settings.WEBHOOK_TIMEOUT_MS = 300
    receiver.replies = [Reply(hang=True)]
    endpoint, _ = make_endpoint(receiver.url)
    row = delivery_for(endpoint, emit_event(tenant))
    result = attempt(row)
    assert result is not None and not result.success
    assert result.status_code is None and "timed out" in result.error
    assert result.latency_ms < 3000
    row.refresh_from_db()
    assert row.status == DeliveryStatus.PENDING


def test_redirect_is_a_failure_and_not_followed(tenant, receiver, make_endpoint) -> None:
    receiver.replies = [Reply(status=302, headers={"Location": f"http://127.0.0.1:{receiver.port}/elsewhere"})]
    endpoint, _ = make_endpoint(receiver.url)
    row = delivery_for(endpoint, emit_event(tenant))
    result = attempt(row)
    assert result is not None and not result.success and result.status_code == 302
    assert [r.path for r in receiver.received] == ["/hook"]
    row.refresh_from_db()
    assert row.status == DeliveryStatus.PENDING


@pytest.mark.parametrize(("status", "retry_after"), [(429, "120"), (503, "120")])
def test_retry_after_is_honoured(tenant, receiver, make_endpoint, status, retry_after) -> None:
    receiver.replies = [Reply(status=status, headers={"Retry-After": retry_after})]
    endpoint, _ = make_endpoint(receiver.url)
    row = delivery_for(endpoint, emit_event(tenant))
    now = timezone.now()
    result = attempt(row, now=now)
    assert result is not None and result.status_code == status
    row.refresh_from_db()
    waited = (row.next_attempt_at - now).total_seconds()
    assert 120 <= waited < 125  # not the 5 s of the schedule
    assert attempt(row, now=now + timedelta(seconds=60)) is None


def test_retry_after_as_http_date(tenant, receiver, make_endpoint) -> None:
    from email.utils import format_datetime

    now = timezone.now()
    when = format_datetime(now + timedelta(minutes=10), usegmt=True)
    receiver.replies = [Reply(status=429, headers={"Retry-After": when})]
    endpoint, _ = make_endpoint(receiver.url)
    row = delivery_for(endpoint, emit_event(tenant))
    attempt(row, now=now)
    row.refresh_from_db()
    assert timedelta(minutes=9) < row.next_attempt_at - now <= timedelta(minutes=10, seconds=2)


def test_410_disables_the_endpoint_and_says_so(tenant, receiver, make_endpoint) -> None:
    receiver.default = Reply(status=410)
    endpoint, _ = make_endpoint(receiver.url)
    other = delivery_for(endpoint, emit_event(tenant, n=2))
    row = delivery_for(endpoint, emit_event(tenant))
    result = attempt(row)
    assert result is not None and result.status_code == 410
    endpoint.refresh_from_db()
    assert not endpoint.enabled and "410" in endpoint.disabled_reason
    row.refresh_from_db()
    other.refresh_from_db()
    assert row.status == DeliveryStatus.FAILED
    assert other.status == DeliveryStatus.FAILED and "disabled" in other.last_error
    assert AuditLog.objects.filter(action="webhook.updated", resource_id=str(endpoint.pk)).exists()
    assert emit_event(tenant).type and not endpoint.deliveries.filter(status=DeliveryStatus.QUEUED).exists()


def test_endpoint_failing_for_disable_after_hours_is_disabled(tenant, receiver, make_endpoint, settings) -> None:
    settings.WEBHOOK_DISABLE_AFTER_HOURS = 2
    receiver.default = Reply(status=500)
    endpoint, _ = make_endpoint(receiver.url)
    start = timezone.now()
    attempt(delivery_for(endpoint, emit_event(tenant)), now=start)
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.failing_since is not None
    attempt(delivery_for(endpoint, emit_event(tenant)), now=start + timedelta(hours=1))
    endpoint.refresh_from_db()
    assert endpoint.enabled
    late = delivery_for(endpoint, emit_event(tenant))
    attempt(late, now=start + timedelta(hours=2, minutes=1))
    endpoint.refresh_from_db()
    late.refresh_from_db()
    assert not endpoint.enabled and "failing since" in endpoint.disabled_reason
    assert late.status == DeliveryStatus.FAILED
    entry = AuditLog.objects.filter(action="webhook.updated", resource_id=str(endpoint.pk)).get()
    assert entry.after["enabled"] is False


def test_success_resets_the_failure_clock(tenant, receiver, make_endpoint) -> None:
    receiver.replies = [Reply(status=500)]
    endpoint, _ = make_endpoint(receiver.url)
    attempt(delivery_for(endpoint, emit_event(tenant)))
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None
    attempt(delivery_for(endpoint, emit_event(tenant)))
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None


def test_rotation_signs_with_old_and_new_during_grace_then_only_new(tenant, receiver, make_endpoint, settings) -> None:
    settings.WEBHOOK_SECRET_GRACE_HOURS = 24
    endpoint, old = make_endpoint(receiver.url)
    now = timezone.now()
    new, expires_at = services.rotate_secret(endpoint=endpoint, now=now)
    assert expires_at == now + timedelta(hours=24)
    attempt(delivery_for(endpoint, emit_event(tenant)), now=now + timedelta(hours=1))
    during = receiver.wait_for(1)[0]
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    verify(during.headers, during.body, old, now=(now + timedelta(hours=1)).timestamp())
    verify(during.headers, during.body, new, now=(now + timedelta(hours=1)).timestamp())
    after_grace = now + timedelta(hours=24, seconds=1)
    attempt(delivery_for(endpoint, emit_event(tenant)), now=after_grace)
    later = receiver.wait_for(2)[1]
    assert len(later.headers["webhook-signature"].split(" ")) == 1
    verify(later.headers, later.body, new, now=after_grace.timestamp())
    with pytest.raises(InvalidSignature):
        verify(later.headers, later.body, old, now=after_grace.timestamp())


def test_blocked_destination_is_recorded_and_nothing_is_sent(tenant, receiver, make_endpoint, settings) -> None:
    endpoint, _ = make_endpoint(f"http://hooks.example.test:{receiver.port}/hook")
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    row = delivery_for(endpoint, emit_event(tenant))
    result = attempt(row, resolver=lambda host, port: ["127.0.0.1"])
    assert result is not None and not result.success
    assert "blocked" in result.error and "loopback" in result.error
    assert receiver.received == []


def test_delivery_to_a_disabled_endpoint_fails_without_sending(tenant, receiver, make_endpoint) -> None:
    endpoint, _ = make_endpoint(receiver.url)
    row = delivery_for(endpoint, emit_event(tenant))
    services.update_endpoint(endpoint=endpoint, changes={"enabled": False})
    row.refresh_from_db()
    assert row.status == DeliveryStatus.FAILED
    assert attempt(row) is None
    assert receiver.received == []


def test_a_lost_lease_does_not_record_over_the_new_holder(tenant, receiver, make_endpoint) -> None:
    endpoint, _ = make_endpoint(receiver.url)
    row = delivery_for(endpoint, emit_event(tenant))
    now = timezone.now()
    token = delivery_service.claim(row.pk, now=now)
    assert token is not None
    assert delivery_service.claim(row.pk, now=now) is None  # held
    later = now + delivery_service.lease_duration() + timedelta(seconds=2)
    assert delivery_service.claim(row.pk, now=later) is not None  # lease expired: taken over
    from webhooks.ssrf import HttpResult

    recorded = delivery_service._record(
        row, endpoint, token, HttpResult(200, {}, "", "", False, 0.01), started_at=now, finished_at=now, rng=None
    )
    assert recorded is None
    assert not WebhookAttempt.objects.filter(delivery=row).exists()


def test_send_test_records_its_attempt_and_works_on_a_disabled_endpoint(tenant, receiver, make_endpoint) -> None:
    endpoint, secret = make_endpoint(receiver.url, events_=["workflow.created"], enabled=False)
    result = delivery_service.send_test(endpoint=endpoint)
    assert result.success and result.status_code == 200
    (got,) = receiver.wait_for(1)
    verify(got.headers, got.body, secret)
    assert json.loads(got.body)["type"] == "webhook.test"
    assert AuditLog.objects.filter(action="webhook.test", resource_id=str(endpoint.pk)).exists()
