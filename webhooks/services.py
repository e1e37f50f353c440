"""Webhook writes: endpoints, secrets, the transactional outbox, redelivery and pruning (SPEC §7.1, §7.3).

``enqueue_event`` is called by ``orchestrator.events.emit`` inside the event's transaction. Delivery attempts
live in ``webhooks.delivery``.

Which endpoint receives which event: every enabled endpoint of the event's tenant whose filter lists the type (or
``*``). ``webhook.*`` events about an endpoint are not sent to that endpoint itself (no loops, and a failing
endpoint is not told it is failing through itself); ``webhook.test`` goes only to the endpoint under test.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from orchestrator import events
from orchestrator.lib import crypto, tracecontext, units
from orchestrator.lib.errors import InvalidInput, InvalidStateError

from . import signing, ssrf
from .models import LIVE_DELIVERY_STATUSES, DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookSecret
from .schedule import MAX_ATTEMPTS

if TYPE_CHECKING:
    from orchestrator.events import Event

logger = logging.getLogger(__name__)

RESOURCE_TYPE = "webhook"
# A QUEUED delivery whose task never ran (broker lost it) is handed out again by the sweep after this long.
REDISPATCH_AFTER = timedelta(seconds=settings.WEBHOOK_REDISPATCH_SECONDS)
UPDATABLE_FIELDS = ("url", "events", "enabled", "description")


# --- helpers ------------------------------------------------------------------------------------------------------
def message_id_for(event_id: Any) -> str:
    """The ``webhook-id`` of an event: derived from the event id, so equal on every retry and redelivery."""
    return f"msg_{getattr(event_id, 'hex', str(event_id).replace('-', ''))}"


def validate_url(url: str) -> str:
    url = (url or "").strip()
    try:
        ssrf.check_literal_host(url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS)
    except ssrf.BlockedDestination as exc:
        raise InvalidInput(exc.message, field="url") from exc
    return url


def validate_events(values: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(str(v) for v in values))
    if not chosen:
        raise InvalidInput('Subscribe to at least one event type, or ["*"] for all.', field="events")
    unknown = [v for v in chosen if v != "*" and v not in events.EVENT_TYPES]
    if unknown:
        raise InvalidInput(
            f"Unknown event type(s): {', '.join(unknown)}. See GET /webhooks/event-types.", field="events"
        )
    return ["*"] if "*" in chosen else chosen


def snapshot(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """What the audit log and the webhook.* events say about an endpoint (never a secret)."""
    return {
        "webhook_id": str(endpoint.pk),
        "url": endpoint.url,
        "events": list(endpoint.events),
        "enabled": endpoint.enabled,
        "description": endpoint.description,
        "disabled_reason": endpoint.disabled_reason,
    }


def live_secrets(endpoint_id: Any, *, now: datetime | None = None) -> list[str]:
    """Decrypted secrets that sign deliveries now, newest first."""
    now = now or timezone.now()
    rows = WebhookSecret.objects.filter(endpoint_id=endpoint_id).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )
    return [crypto.decrypt(row.ciphertext) for row in rows.order_by("-created_at", "-id")]


def _add_secret(endpoint: WebhookEndpoint, now: datetime) -> str:
    secret = signing.generate_secret()
    WebhookSecret.objects.create(endpoint=endpoint, ciphertext=crypto.encrypt(secret), created_at=now)
    return secret


# --- endpoints ----------------------------------------------------------------------------------------------------
def create_endpoint(
    *, tenant_id: Any, url: str, events: Iterable[str], enabled: bool = True, description: str = ""
) -> tuple[WebhookEndpoint, str]:
    """Create an endpoint and its first secret; returns ``(endpoint, secret)`` (the secret is shown only now).

    Raises ``InvalidInput`` for a URL that can never be called or unknown event types. Emits ``webhook.created``.
    """
    url = validate_url(url)
    chosen = validate_events(events)
    with transaction.atomic():
        now = timezone.now()
        endpoint = WebhookEndpoint.objects.create(
            tenant_id=tenant_id, url=url, events=chosen, enabled=enabled, description=description or ""
        )
        secret = _add_secret(endpoint, now)
        after = snapshot(endpoint)
        _emit("webhook.created", endpoint, data=after, after=after)
    return endpoint, secret


def update_endpoint(*, endpoint: WebhookEndpoint, changes: dict[str, Any]) -> WebhookEndpoint:
    """Apply ``changes`` (any of url, events, enabled, description). Re-enabling clears the disabled reason and
    the failure clock. Emits ``webhook.updated`` with before/after.
    """
    unknown = set(changes) - set(UPDATABLE_FIELDS)
    if unknown:
        raise InvalidInput(f"Cannot change {', '.join(sorted(unknown))}.", field=sorted(unknown)[0])
    if "url" in changes:
        changes["url"] = validate_url(changes["url"])
    if "events" in changes:
        changes["events"] = validate_events(changes["events"])
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        before = snapshot(locked)
        fields = ["updated_at"]
        for name, value in changes.items():
            setattr(locked, name, value)
            fields.append(name)
        if changes.get("enabled") is True and not before["enabled"]:
            locked.disabled_reason, locked.disabled_at, locked.failing_since = "", None, None
            fields += ["disabled_reason", "disabled_at", "failing_since"]
        elif changes.get("enabled") is False and before["enabled"]:
            locked.disabled_at = timezone.now()
            fields.append("disabled_at")
            _fail_waiting_deliveries(locked.pk, "endpoint disabled")
        locked.save(update_fields=sorted(set(fields)))
        after = snapshot(locked)
        if after != before:
            _emit("webhook.updated", locked, data={**after, "changed": sorted(changes)}, before=before, after=after)
    return locked


def delete_endpoint(*, endpoint: WebhookEndpoint) -> None:
    """Delete an endpoint with its secrets and delivery history. Emits ``webhook.deleted``."""
    with transaction.atomic():
        before = snapshot(endpoint)
        _emit("webhook.deleted", endpoint, data=before, before=before)
        WebhookEndpoint.objects.filter(pk=endpoint.pk).delete()


def rotate_secret(*, endpoint: WebhookEndpoint, now: datetime | None = None) -> tuple[str, datetime]:
    """Add a new secret; the current ones stay live for ``WEBHOOK_SECRET_GRACE_HOURS`` (then expire).

    Returns ``(new_secret, old_secrets_expire_at)``. Emits ``webhook.secret_rotated``.
    """
    now = now or timezone.now()
    grace_ends = now + timedelta(hours=settings.WEBHOOK_SECRET_GRACE_HOURS)
    with transaction.atomic():
        WebhookEndpoint.objects.select_for_update().filter(pk=endpoint.pk).first()
        WebhookSecret.objects.filter(endpoint=endpoint, expires_at__isnull=True).update(expires_at=grace_ends)
        secret = _add_secret(endpoint, now)
        data = {**snapshot(endpoint), "previous_secret_expires_at": grace_ends.isoformat().replace("+00:00", "Z")}
        _emit("webhook.secret_rotated", endpoint, data=data)
    return secret, grace_ends


def disable_endpoint(*, endpoint_id: Any, reason: str, now: datetime | None = None) -> bool:
    """Disable an endpoint (410 Gone, or failing too long): waiting deliveries fail, ``webhook.updated`` is
    emitted. Returns False when it was already disabled. Precondition: inside a transaction is fine (nests).
    """
    now = now or timezone.now()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().filter(pk=endpoint_id).first()
        if endpoint is None or not endpoint.enabled:
            return False
        before = snapshot(endpoint)
        endpoint.enabled, endpoint.disabled_reason, endpoint.disabled_at = False, reason[:500], now
        endpoint.save(update_fields=["enabled", "disabled_reason", "disabled_at", "updated_at"])
        _fail_waiting_deliveries(endpoint.pk, f"endpoint disabled: {reason}")
        after = snapshot(endpoint)
        _emit("webhook.updated", endpoint, data={**after, "changed": ["enabled"]}, before=before, after=after)
    logger.warning("webhook endpoint %s disabled: %s", endpoint_id, reason)
    return True


def _fail_waiting_deliveries(endpoint_id: Any, reason: str) -> None:
    WebhookDelivery.objects.filter(
        endpoint_id=endpoint_id, status__in=[DeliveryStatus.PENDING, DeliveryStatus.QUEUED]
    ).exclude(event_type="webhook.test").update(status=DeliveryStatus.FAILED, last_error=reason[:500], lease_token=None)


def _emit(event_type: str, endpoint: WebhookEndpoint, *, data: dict[str, Any], before: Any = None, after: Any = None):
    return events.emit(
        event_type,
        tenant_id=endpoint.tenant_id,
        resource_type=RESOURCE_TYPE,
        resource_id=endpoint.pk,
        data=data,
        before=before,
        after=after,
    )


# --- the outbox ---------------------------------------------------------------------------------------------------
def enqueue_event(event: Event) -> int:
    """Write one outbox row per subscribed endpoint and ask for delivery on commit; returns how many.

    Precondition: inside the event's transaction (``events.emit``). One indexed query when the tenant has no
    endpoint. Side effect on commit: one ``webhooks.send_due`` wake-up on the ``webhooks`` queue (per event, not
    per row), which a worker's sender answers by claiming the due rows within milliseconds.
    """
    if event.tenant_id is None:
        return 0
    subject = str(event.data.get("webhook_id", "")) if event.type.startswith("webhook.") else ""
    if event.type == "webhook.test":
        if not subject:
            return 0
        endpoints = list(WebhookEndpoint.objects.filter(pk=subject, tenant_id=event.tenant_id))
    else:
        candidates = WebhookEndpoint.objects.filter(tenant_id=event.tenant_id, enabled=True).only("id", "events")
        endpoints = [e for e in candidates if e.wants(event.type) and str(e.pk) != subject]
    if not endpoints:
        return 0
    body = json.dumps(event.payload(), cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False)
    now = timezone.now()
    is_test = event.type == "webhook.test"
    traceparent = tracecontext.current_traceparent()
    rows = [
        WebhookDelivery(
            tenant_id=event.tenant_id,
            endpoint_id=endpoint.pk,
            event_id=event.id,
            event_type=event.type,
            message_id=message_id_for(event.id),
            body=body,
            status=DeliveryStatus.QUEUED,
            # A test is sent by the request itself and tried once; the sweep only rescues a crashed request.
            max_attempts=1 if is_test else MAX_ATTEMPTS,
            next_attempt_at=now + REDISPATCH_AFTER,
            created_at=now,
            traceparent=traceparent,
        )
        for endpoint in endpoints
    ]
    WebhookDelivery.objects.bulk_create(rows)
    if not is_test:
        ids = [str(row.pk) for row in rows]
        transaction.on_commit(lambda: send_delivery_tasks(ids), robust=True)
    return len(rows)


def send_delivery_tasks(delivery_ids: Iterable[str], *, countdown: float | None = None) -> None:
    """Wake a sender for these deliveries: ONE ``webhooks.send_due`` message however many there are (issue 22;
    the sender claims whatever is due from the database, so the ids are not sent). Nothing to send: no message.
    A broker failure is logged, not raised: the rows are in the database and the sweep wakes a sender later.
    """
    ids = list(delivery_ids)
    if ids:
        wake_senders(countdown=countdown, why=f"{len(ids)} deliveries", coalesce=countdown is None)


# Set while a wake-up is queued and not yet taken by a worker (``tasks.send_due`` deletes it before it wakes the
# sender, so a row committed after that sends its own); commits meanwhile send nothing more: the queued one will
# find their rows. The expiry bounds the harm of a lost message (the sweep nudges every WEBHOOK_SWEEP_SECONDS too).
WAKE_PENDING_KEY = "webhooks:wake-pending"
WAKE_PENDING_SECONDS = 2


def wake_senders(*, countdown: float | None = None, why: str = "", coalesce: bool = False) -> None:
    """Send one ``webhooks.send_due`` message, or none with ``coalesce`` when one is already waiting in the queue
    (under a backlog, thousands of commits cost a handful of messages). A broker failure is logged, not raised
    (the sweep wakes later); a cache failure sends the message anyway.
    """
    from .tasks import send_due

    if coalesce:
        try:
            if not cache.add(WAKE_PENDING_KEY, 1, timeout=WAKE_PENDING_SECONDS):
                return
        except Exception:  # the cache only saves messages; without it every commit sends one
            logger.warning("webhook wake-up coalescing unavailable (cache error); sending", exc_info=True)
    try:
        send_due.apply_async((), queue="webhooks", countdown=countdown)
    except Exception:  # the rows are in the database; the periodic sweep will wake a sender
        logger.exception("could not wake a webhook sender (%s); the sweep will retry", why)


def redeliver(*, delivery: WebhookDelivery, now: datetime | None = None) -> WebhookDelivery:
    """Send a delivery again with a fresh retry schedule (same ``webhook-id``: it is the same message).

    Raises ``InvalidStateError`` while an attempt is in flight or when the endpoint is disabled. Side effects: a
    ``webhook.redelivered`` audit entry; on commit, a ``webhooks.send_due`` wake-up.
    """
    now = now or timezone.now()
    with transaction.atomic():
        row = WebhookDelivery.objects.select_for_update().select_related("endpoint").get(pk=delivery.pk)
        if row.status == DeliveryStatus.DELIVERING and row.next_attempt_at > now:
            raise InvalidStateError("An attempt of this delivery is in progress; try again shortly.")
        if not row.endpoint.enabled:
            raise InvalidStateError("The endpoint is disabled; enable it before redelivering.")
        before = {"status": row.status, "attempt_count": row.attempt_count}
        row.status = DeliveryStatus.QUEUED
        row.attempt_count = 0
        row.max_attempts = MAX_ATTEMPTS
        row.next_attempt_at = now + REDISPATCH_AFTER
        row.lease_token = None
        row.last_error = ""
        row.save(
            update_fields=[
                "status",
                "attempt_count",
                "max_attempts",
                "next_attempt_at",
                "lease_token",
                "last_error",
                "updated_at",
            ]
        )
        events.emit(
            "webhook.redelivered",
            tenant_id=row.tenant_id,
            resource_type="webhook_delivery",
            resource_id=row.pk,
            data={"delivery_id": str(row.pk), "endpoint_id": str(row.endpoint_id), "event": row.event_type},
            before=before,
            after={"status": row.status, "attempt_count": row.attempt_count},
        )
        transaction.on_commit(lambda: send_delivery_tasks([str(row.pk)]), robust=True)
    logger.info("webhook delivery %s queued for redelivery", row.pk)
    return row


def dispatch_due_deliveries(*, now: datetime | None = None, batch_size: int = 500, max_batches: int = 20) -> int:
    """The sweep: hand due PENDING retries, QUEUED rows whose task was lost and DELIVERING rows whose worker
    died (lease expired) to the broker again. Claimed with ``FOR UPDATE SKIP LOCKED`` so sweeps running at once
    never hand out the same row twice. Returns how many were dispatched.

    Each batch costs one wake-up message, not one per row, and pushes the rows' ``next_attempt_at`` on by
    ``REDISPATCH_AFTER``: under CPU starvation (senders alive but slow) the sweep does not flood the broker with
    copies of a backlog that is already being worked through.
    """
    dispatched = 0
    # Each delivery is a unit (issue 16): one UPDATE for the batch, delivery by delivery if the database refuses
    # it; a delivery that keeps failing is quarantined FAILED (``_quarantine_delivery``).
    guard = units.Guard(DISPATCH_JOB, quarantine=_quarantine_delivery)
    failed: list[Any] = []  # not picked again by this sweep's next batches
    for _ in range(max_batches):
        at = now or timezone.now()
        with transaction.atomic():
            due = (
                WebhookDelivery.objects.filter(status__in=LIVE_DELIVERY_STATUSES, next_attempt_at__lte=at)
                .order_by("next_attempt_at")
                .exclude(pk__in=failed)
                .select_for_update(skip_locked=True)
            )
            rows = list(due.values_list("id", "tenant_id")[:batch_size])
            queued = guard.batch(rows, _delivery_unit, partial(_requeue, at=at))
            failed += [pk for pk, _ in set(rows) - set(queued)]
            if queued:
                transaction.on_commit(partial(send_delivery_tasks, [str(pk) for pk, _ in queued]), robust=True)
        dispatched += len(queued)
        if len(rows) < batch_size:
            break
    if not dispatched and WebhookDelivery.objects.filter(status=DeliveryStatus.QUEUED).exists():
        # QUEUED rows are claimable at once: if their wake-up was lost (or every sender was busy), one nudge per
        # sweep gets them sent within WEBHOOK_SWEEP_SECONDS instead of after REDISPATCH_AFTER.
        wake_senders(why="sweep")
    return dispatched


DISPATCH_JOB = "webhooks.dispatch"


def _requeue(rows: Sequence[tuple[Any, Any]], *, at: datetime) -> None:
    WebhookDelivery.objects.filter(pk__in=[pk for pk, _ in rows]).update(
        status=DeliveryStatus.QUEUED, lease_token=None, next_attempt_at=at + REDISPATCH_AFTER
    )


def _delivery_unit(row: tuple[Any, Any]) -> units.Unit:
    return units.Unit(key=f"delivery:{row[0]}", ids={"tenant": row[1], "delivery": row[0]})


def _quarantine_delivery(unit: units.Unit, ids: Any, reason: str) -> None:
    """A delivery the sweep keeps failing to re-dispatch gives up: FAILED with ``reason`` (it can be redelivered)."""
    WebhookDelivery.objects.filter(pk=ids["delivery"], status__in=LIVE_DELIVERY_STATUSES).update(
        status=DeliveryStatus.FAILED, lease_token=None, last_error=reason[:500]
    )


def prune_deliveries(*, now: datetime | None = None, batch_size: int = 1000) -> int:
    """Delete finished deliveries (and their attempts) older than ``WEBHOOK_DELIVERY_RETENTION_DAYS`` (0 keeps
    them forever), and secrets whose grace period is over. Returns the number of deliveries removed.
    """
    now = now or timezone.now()
    WebhookSecret.objects.filter(expires_at__lte=now).delete()
    days = settings.WEBHOOK_DELIVERY_RETENTION_DAYS
    if days <= 0:
        return 0
    cutoff = now - timedelta(days=days)
    removed = 0
    while True:
        ids = list(
            WebhookDelivery.objects.filter(
                created_at__lt=cutoff, status__in=[DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED]
            ).values_list("id", flat=True)[:batch_size]
        )
        if not ids:
            return removed
        WebhookDelivery.objects.filter(pk__in=ids).delete()
        removed += len(ids)


def reencrypt_secrets() -> int:
    """Re-encrypt every stored secret under the primary key of ``WEBHOOK_ENCRYPTION_KEYS`` (key rotation)."""
    count = 0
    for row in WebhookSecret.objects.only("id", "ciphertext").iterator():
        WebhookSecret.objects.filter(pk=row.pk, ciphertext=row.ciphertext).update(
            ciphertext=crypto.reencrypt(row.ciphertext)
        )
        count += 1
    return count
