"""One delivery attempt: claim from the database, sign, POST to the checked address, record, schedule the next.

The claim is a conditional UPDATE (QUEUED, or PENDING/DELIVERING whose time has come) that stamps a lease token
and moves ``next_attempt_at`` to the lease expiry; a worker killed mid-attempt therefore leaves a row the sweep
hands out again once the lease has run out, with the same ``webhook-id``. The outcome is recorded only by the
holder of the current lease token. ``now``, ``resolver`` and ``rng`` are injectable for tests (clock, DNS, jitter).
"""

from __future__ import annotations

import logging
import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from orchestrator import events, metrics

from . import services, signing, ssrf
from .models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .schedule import parse_retry_after, retry_delay

logger = logging.getLogger(__name__)

USER_AGENT = "workflow-orchestrator-webhooks/1.0"
# A retry task whose countdown fires a little early still finds its delivery due.
CLAIM_TOLERANCE = timedelta(seconds=1)
# Retries due sooner than this get a countdown task (prompt); later ones are left to the sweep (durable).
COUNTDOWN_MAX = timedelta(minutes=5)


def lease_duration() -> timedelta:
    return timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)


def claim(delivery_id: Any, *, now: datetime) -> uuid.UUID | None:
    """Take the delivery for one attempt; returns the lease token, or None when it is not ours to send."""
    token = uuid.uuid4()
    claimed = (
        WebhookDelivery.objects.filter(pk=delivery_id)
        .filter(
            Q(status=DeliveryStatus.QUEUED)
            | Q(
                status__in=[DeliveryStatus.PENDING, DeliveryStatus.DELIVERING],
                next_attempt_at__lte=now + CLAIM_TOLERANCE,
            )
        )
        .update(status=DeliveryStatus.DELIVERING, lease_token=token, next_attempt_at=now + lease_duration())
    )
    return token if claimed else None


def attempt_delivery(
    *,
    delivery_id: Any,
    now: datetime | None = None,
    resolver: ssrf.Resolver | None = None,
    rng: random.Random | None = None,
) -> WebhookAttempt | None:
    """Make one attempt of a delivery if it can be claimed; returns the recorded attempt (None if not claimed
    or the endpoint was disabled meanwhile). Side effects: one HTTP POST, a ``WebhookAttempt`` row, the
    delivery's next state, endpoint health (failure clock, disabling), metrics, maybe a countdown task.
    """
    started_at = now or timezone.now()
    token = claim(delivery_id, now=started_at)
    if token is None:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None:  # the endpoint was deleted meanwhile, and its deliveries with it
        return None
    endpoint = delivery.endpoint
    is_test = delivery.event_type == "webhook.test"
    if not endpoint.enabled and not is_test:
        WebhookDelivery.objects.filter(pk=delivery.pk, lease_token=token).update(
            status=DeliveryStatus.FAILED, lease_token=None, last_error="endpoint disabled"
        )
        return None

    result = _send(delivery, endpoint, now=started_at, resolver=resolver)
    finished_at = started_at + timedelta(seconds=result.latency_s)
    return _record(delivery, endpoint, token, result, started_at=started_at, finished_at=finished_at, rng=rng)


def _send(
    delivery: WebhookDelivery, endpoint: WebhookEndpoint, *, now: datetime, resolver: ssrf.Resolver | None
) -> ssrf.HttpResult:
    try:
        target = ssrf.resolve_target(
            endpoint.url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS, resolver=resolver
        )
    except ssrf.BlockedDestination as exc:
        return ssrf.HttpResult(None, {}, "", f"blocked: {exc.message}"[:500], False, 0.0)
    body = delivery.body.encode("utf-8")
    secrets = services.live_secrets(endpoint.pk, now=now)
    headers = {
        **signing.headers_for(secrets, message_id=delivery.message_id, timestamp=int(now.timestamp()), body=body),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }
    return ssrf.post_pinned(target, body=body, headers=headers, timeout_s=settings.WEBHOOK_TIMEOUT_MS / 1000)


def _outcome(result: ssrf.HttpResult) -> str:
    if result.status_code is not None:
        return "success" if 200 <= result.status_code < 300 else "http_error"
    if result.error.startswith("blocked:"):
        return "blocked"
    return "timeout" if result.timed_out else "connection_error"


def _record(
    delivery: WebhookDelivery,
    endpoint: WebhookEndpoint,
    token: uuid.UUID,
    result: ssrf.HttpResult,
    *,
    started_at: datetime,
    finished_at: datetime,
    rng: random.Random | None,
) -> WebhookAttempt | None:
    outcome = _outcome(result)
    success = outcome == "success"
    is_test = delivery.event_type == "webhook.test"
    countdown: timedelta | None = None
    next_at: datetime | None = None
    # We hold the lease, so ``delivery`` (loaded after the claim) is current; the UPDATE below re-checks it.
    number = delivery.attempts_made + 1
    attempt_count = delivery.attempt_count
    if success:
        status = DeliveryStatus.SUCCEEDED
    else:
        attempt_count += 1
        if (result.status_code == 410 and not is_test) or attempt_count >= delivery.max_attempts:
            status = DeliveryStatus.FAILED
        else:
            delay = retry_delay(attempt_count, rng=rng)
            if result.status_code in (429, 503):
                asked = parse_retry_after(result.headers.get("retry-after"), now=finished_at)
                if asked is not None:
                    delay = max(delay, asked)
            status, next_at = DeliveryStatus.PENDING, finished_at + delay
            countdown = delay if delay <= COUNTDOWN_MAX else None
    with transaction.atomic():
        updated = WebhookDelivery.objects.filter(pk=delivery.pk, lease_token=token).update(
            status=status,
            attempt_count=attempt_count,
            attempts_made=number,
            next_attempt_at=next_at or delivery.next_attempt_at,
            lease_token=None,
            last_status_code=result.status_code,
            last_error="" if success else result.error[:500],
            delivered_at=finished_at if success else delivery.delivered_at,
            updated_at=timezone.now(),
        )
        if not updated:
            # Our lease ran out and someone else took the delivery over: they record their own attempt.
            logger.warning("webhook delivery %s: lease lost before recording the attempt", delivery.pk)
            return None
        if is_test:
            pass  # a test says nothing about the endpoint's health
        elif success:
            if endpoint.failing_since is not None:
                WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
        elif result.status_code == 410:
            services.disable_endpoint(endpoint_id=endpoint.pk, reason="endpoint answered 410 Gone", now=finished_at)
        elif _note_failure(endpoint, at=finished_at):
            next_at, countdown = None, None  # disabling failed the delivery along with the others waiting
        attempt = WebhookAttempt.objects.create(
            delivery_id=delivery.pk,
            number=number,
            created_at=started_at,
            success=success,
            status_code=result.status_code,
            latency_ms=round(result.latency_s * 1000),
            error=result.error[:500],
            response_excerpt=result.excerpt[:2000],
            next_attempt_at=next_at,
        )
        if countdown is not None:
            seconds = countdown.total_seconds()
            transaction.on_commit(
                lambda: services.send_delivery_tasks([str(delivery.pk)], countdown=seconds), robust=True
            )
    metrics.webhooks_total.labels(event_type=delivery.event_type, outcome=outcome).inc()
    metrics.webhook_delivery_seconds.labels(event_type=delivery.event_type).observe(result.latency_s)
    return attempt


def _note_failure(endpoint: WebhookEndpoint, *, at: datetime) -> bool:
    """Start the endpoint's failure clock, or disable it once it has failed for WEBHOOK_DISABLE_AFTER_HOURS.
    Returns True when this failure disabled the endpoint.
    """
    started = WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=at)
    if started:
        return False
    since = WebhookEndpoint.objects.filter(pk=endpoint.pk).values_list("failing_since", flat=True).first()
    limit = timedelta(hours=settings.WEBHOOK_DISABLE_AFTER_HOURS)
    if since is None or at - since < limit:
        return False
    return services.disable_endpoint(
        endpoint_id=endpoint.pk,
        reason=f"failing since {since.isoformat()} (over {settings.WEBHOOK_DISABLE_AFTER_HOURS} h)",
        now=at,
    )


def send_test(*, endpoint: WebhookEndpoint, resolver: ssrf.Resolver | None = None) -> WebhookAttempt:
    """Send a ``webhook.test`` event to this endpoint now and return the attempt (tried once, no retries).

    Emits ``webhook.test`` (audited). Works on a disabled endpoint too, so it can be checked before re-enabling;
    the result does not count towards the endpoint's failure clock.
    """
    event = events.emit(
        "webhook.test",
        tenant_id=endpoint.tenant_id,
        resource_type=services.RESOURCE_TYPE,
        resource_id=endpoint.pk,
        data={"webhook_id": str(endpoint.pk), "message": "This is a test event from the workflow orchestrator."},
    )
    delivery = WebhookDelivery.objects.get(endpoint=endpoint, event_id=event.id)
    attempt = attempt_delivery(delivery_id=delivery.pk, resolver=resolver)
    if attempt is None:  # only if the endpoint vanished meanwhile
        attempt = WebhookAttempt.objects.filter(delivery=delivery).order_by("-number").first()
    assert attempt is not None
    return attempt
