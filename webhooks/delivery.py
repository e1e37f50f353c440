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
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from orchestrator import events, metrics
from orchestrator.lib import crypto, tracecontext

from . import services, signing, ssrf
from .models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookSecret
from .schedule import parse_retry_after, retry_delay

logger = logging.getLogger(__name__)

USER_AGENT = "workflow-orchestrator-webhooks/1.0"
# A retry task whose countdown fires a little early still finds its delivery due.
CLAIM_TOLERANCE = timedelta(seconds=1)
# Retries due sooner than this get a countdown task (prompt); later ones are left to the sweep (durable).
COUNTDOWN_MAX = timedelta(minutes=5)


# A ``webhook.test`` delivery is sent by the request that asked for it (``send_test``); a sender takes it only if
# that request died before claiming it, i.e. once it is this old.
TEST_GRACE = timedelta(seconds=60)


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
    prepared = _prepare(endpoint, delivery, services.live_secrets(endpoint.pk, now=now), now=now, resolver=resolver)
    if isinstance(prepared, ssrf.HttpResult):
        return prepared
    target, body, headers = prepared
    with tracecontext.continued(delivery.traceparent):
        return ssrf.post_pinned(target, body=body, headers=headers, timeout_s=settings.WEBHOOK_TIMEOUT_MS / 1000)


def _prepare(
    endpoint: WebhookEndpoint,
    delivery: WebhookDelivery,
    secrets: Collection[str],
    *,
    now: datetime,
    resolver: ssrf.Resolver | None,
) -> ssrf.HttpResult | tuple[ssrf.Target, bytes, dict[str, str]]:
    """The checked target, body and signed headers of one attempt, or the ``blocked`` result when the SSRF guard
    refuses the host (resolved on every attempt, so DNS rebinding meets the check each time). No I/O but DNS."""
    try:
        target = ssrf.resolve_target(
            endpoint.url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS, resolver=resolver
        )
    except ssrf.BlockedDestination as exc:
        return ssrf.HttpResult(None, {}, "", f"blocked: {exc.message}"[:500], False, 0.0)
    body = delivery.body.encode("utf-8")
    headers = {
        **signing.headers_for(secrets, message_id=delivery.message_id, timestamp=int(now.timestamp()), body=body),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }
    return target, body, headers


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
            response_excerpt=_text(result.excerpt[:2000]),
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


# --- Batches (the sender, ``webhooks.sender``; issue 22) ------------------------------------------------------------
# One statement claims up to ``limit`` due deliveries: the oldest due rows not locked by another claimer (SKIP
# LOCKED), at most ``room`` per endpoint (the sender's per-endpoint cap minus what it already has in flight; endpoints
# with no room are left out of the scan), stamped DELIVERING with one lease token and the lease expiry. A worker that
# dies leaves its rows DELIVERING until the lease ends; then they are due again (here and in the sweep), same id.
_CLAIM_SQL = """
WITH locked AS (
    SELECT id, endpoint_id, next_attempt_at FROM {delivery}
    WHERE (status = 'QUEUED' OR (status IN ('PENDING', 'DELIVERING') AND next_attempt_at <= %(due)s))
      AND (event_type <> 'webhook.test' OR created_at <= %(tests_before)s)
      AND NOT (endpoint_id = ANY(%(full)s::uuid[]))
    ORDER BY next_attempt_at
    LIMIT %(scan)s
    FOR UPDATE SKIP LOCKED
), ranked AS (
    SELECT id, endpoint_id, next_attempt_at,
           row_number() OVER (PARTITION BY endpoint_id ORDER BY next_attempt_at, id) AS rn
    FROM locked
), chosen AS (
    SELECT r.id FROM ranked r
    LEFT JOIN unnest(%(room_ids)s::uuid[], %(room_n)s::int[]) AS room(endpoint_id, n)
           ON room.endpoint_id = r.endpoint_id
    WHERE r.rn <= COALESCE(room.n, %(cap)s)
    ORDER BY r.next_attempt_at
    LIMIT %(limit)s
)
UPDATE {delivery} AS d SET status = 'DELIVERING', lease_token = %(token)s, next_attempt_at = %(lease_until)s
FROM chosen, {endpoint} AS e
WHERE d.id = chosen.id AND e.id = d.endpoint_id
RETURNING d.id, d.tenant_id, d.endpoint_id, d.event_id, d.event_type, d.message_id, d.body, d.attempt_count,
          d.attempts_made, d.max_attempts, d.next_attempt_at, d.delivered_at, d.created_at, d.traceparent,
          e.url, e.enabled, e.failing_since,
          ARRAY(SELECT s.ciphertext FROM {secret} AS s
                WHERE s.endpoint_id = d.endpoint_id AND (s.expires_at IS NULL OR s.expires_at > %(now)s)
                ORDER BY s.created_at DESC, s.id DESC)
"""
_CLAIM_COLUMNS = [
    *("id", "tenant_id", "endpoint_id", "event_id", "event_type", "message_id", "body", "attempt_count"),
    *("attempts_made", "max_attempts", "next_attempt_at", "delivered_at", "created_at", "traceparent"),
]


@dataclass(frozen=True)
class Claimed:
    """A delivery this process holds the lease of, with what sending it needs (loaded once per batch)."""

    delivery: WebhookDelivery
    endpoint: WebhookEndpoint
    secrets: tuple[str, ...]
    token: uuid.UUID
    claimed_at: datetime

    def safe_to_start(self, now: datetime) -> bool:
        """Whether a delivery that waited in the sender's local queue may still start: an attempt started now must
        end (timeout included) well before the lease does, or another worker could claim it meanwhile; a late one
        is skipped and the lease returns it. A prompt start (within a second of the claim) is always allowed, as
        before batching, even where the lease is configured shorter than the timeout."""
        timeout = timedelta(milliseconds=settings.WEBHOOK_TIMEOUT_MS)
        may_wait = max(lease_duration() - timeout - timedelta(seconds=5), timedelta(seconds=1))
        return now <= self.claimed_at + may_wait


@dataclass(frozen=True)
class Outcome:
    """A sent (or refused) delivery waiting to be recorded."""

    claimed: Claimed
    result: ssrf.HttpResult
    started_at: datetime
    finished_at: datetime


def claim_batch(
    *, limit: int, now: datetime, cap: int, room: Mapping[Any, int] | None = None, full: Collection[Any] = ()
) -> list[Claimed]:
    """Claim up to ``limit`` due deliveries (one UPDATE … FOR UPDATE SKIP LOCKED statement), at most ``cap`` per
    endpoint, ``room[endpoint]`` for endpoints listed there, none for endpoints in ``full``; load their endpoints
    and live secrets (two more statements). Deliveries of a disabled endpoint (other than tests) are failed at once
    and not returned. Side effects: the rows become DELIVERING under a fresh lease token.
    """
    if limit <= 0:
        return []
    if connection.vendor != "postgresql":
        return _claim_batch_portable(limit=limit, now=now, cap=cap, room=room or {}, full=full)
    token = uuid.uuid4()
    room = dict(room or {})
    params: dict[str, Any] = {
        "due": now + CLAIM_TOLERANCE,
        "full": [str(e) for e in full],
        # Read past rows of endpoints that have little room, so others further back still fill the batch.
        "scan": min(limit * 4 + sum(room.values()), 2000),
        "room_ids": [str(e) for e in room],
        "room_n": list(room.values()),
        "cap": cap,
        "limit": limit,
        "token": token,
        "lease_until": now + lease_duration(),
        "now": now,
        "tests_before": now - TEST_GRACE,
    }
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL.format(**_tables()), params)
        fetched = cursor.fetchall()
    keys = tuple(settings.WEBHOOK_ENCRYPTION_KEYS)
    claimed: list[Claimed] = []
    disabled: list[Any] = []
    endpoints: dict[Any, WebhookEndpoint] = {}
    for row in sorted(fetched, key=lambda r: r[10]):  # oldest due first
        delivery = WebhookDelivery(**dict(zip(_CLAIM_COLUMNS, row[:14], strict=True)))
        url, enabled, failing_since, ciphertexts = row[14:]
        if not enabled and delivery.event_type != "webhook.test":
            disabled.append(delivery.pk)
            continue
        endpoint = endpoints.get(delivery.endpoint_id)
        if endpoint is None:
            endpoint = endpoints[delivery.endpoint_id] = WebhookEndpoint(
                id=delivery.endpoint_id, tenant_id=delivery.tenant_id, url=url, enabled=enabled,
                failing_since=failing_since,
            )  # fmt: skip
        secrets = tuple(_decrypt(c, keys, settings.SECRET_KEY) for c in ciphertexts)
        claimed.append(Claimed(delivery, endpoint, secrets, token, claimed_at=now))
    _fail_disabled(disabled, token)
    return claimed


def _tables() -> dict[str, str]:
    quote = connection.ops.quote_name
    return {
        "delivery": quote(WebhookDelivery._meta.db_table),
        "endpoint": quote(WebhookEndpoint._meta.db_table),
        "secret": quote(WebhookSecret._meta.db_table),
        "attempt": quote(WebhookAttempt._meta.db_table),
    }


def _fail_disabled(ids: list[Any], token: uuid.UUID) -> None:
    if ids:
        WebhookDelivery.objects.filter(pk__in=ids, lease_token=token).update(
            status=DeliveryStatus.FAILED, lease_token=None, last_error="endpoint disabled"
        )


def _claim_batch_portable(
    *, limit: int, now: datetime, cap: int, room: Mapping[Any, int], full: Collection[Any]
) -> list[Claimed]:
    """SQLite (the embedded development mode, one worker): candidates first, then each claimed with ``claim``'s
    conditional UPDATE, so the outcome is the same, only with more statements."""
    claimable = Q(status=DeliveryStatus.QUEUED) | Q(
        status__in=[DeliveryStatus.PENDING, DeliveryStatus.DELIVERING], next_attempt_at__lte=now + CLAIM_TOLERANCE
    )
    due = (
        WebhookDelivery.objects.filter(claimable)
        .exclude(event_type="webhook.test", created_at__gt=now - TEST_GRACE)
        .exclude(endpoint_id__in=list(full))
        .order_by("next_attempt_at")
        .values_list("id", "endpoint_id")[: limit * 4]
    )
    token = uuid.uuid4()
    taken: Counter[Any] = Counter()
    chosen: list[Any] = []
    for pk, endpoint_id in due:
        if len(chosen) >= limit or taken[endpoint_id] >= room.get(endpoint_id, cap):
            continue
        claimed = WebhookDelivery.objects.filter(claimable, pk=pk).update(
            status=DeliveryStatus.DELIVERING, lease_token=token, next_attempt_at=now + lease_duration()
        )
        if claimed:
            taken[endpoint_id] += 1
            chosen.append(pk)
    return _with_endpoints(list(WebhookDelivery.objects.filter(pk__in=chosen, lease_token=token)), token, now=now)


def _with_endpoints(rows: list[WebhookDelivery], token: uuid.UUID, *, now: datetime) -> list[Claimed]:
    if not rows:
        return []
    rows.sort(key=lambda d: d.next_attempt_at)
    endpoint_ids = {d.endpoint_id for d in rows}
    endpoints = {e.pk: e for e in WebhookEndpoint.objects.filter(pk__in=endpoint_ids)}
    secrets = _live_secrets_of(endpoint_ids, now=now)
    claimed: list[Claimed] = []
    disabled: list[Any] = []
    for delivery in rows:
        endpoint = endpoints.get(delivery.endpoint_id)
        if endpoint is None:  # deleted meanwhile (its deliveries go with it)
            continue
        if not endpoint.enabled and delivery.event_type != "webhook.test":
            disabled.append(delivery.pk)
            continue
        claimed.append(Claimed(delivery, endpoint, tuple(secrets.get(endpoint.pk, ())), token, claimed_at=now))
    _fail_disabled(disabled, token)
    return claimed


def _live_secrets_of(endpoint_ids: Collection[Any], *, now: datetime) -> dict[Any, list[str]]:
    """Decrypted live secrets per endpoint, newest first (as ``services.live_secrets``), in one statement."""
    rows = (
        WebhookSecret.objects.filter(endpoint_id__in=endpoint_ids)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .order_by("-created_at", "-id")
        .values_list("endpoint_id", "ciphertext")
    )
    found: dict[Any, list[str]] = {}
    keys = tuple(settings.WEBHOOK_ENCRYPTION_KEYS)
    for endpoint_id, ciphertext in rows:
        found.setdefault(endpoint_id, []).append(_decrypt(ciphertext, keys, settings.SECRET_KEY))
    return found


@lru_cache(maxsize=4096)
def _decrypt(ciphertext: str, keys: tuple[str, ...], secret_key: str) -> str:
    """Fernet decryption is ~50 µs and the same few ciphertexts come back batch after batch; keyed by the key
    material too, so a key change is never answered from the cache."""
    del keys, secret_key  # part of the cache key only; crypto reads the same settings
    return crypto.decrypt(ciphertext)


def send_claimed(item: Claimed, *, pools: Any, now: datetime, resolver: ssrf.Resolver | None = None) -> ssrf.HttpResult:
    """Resolve and check the host (every attempt: the SSRF guard), sign, POST over a pooled connection to the
    checked address (``webhooks.transport``). No database access: this runs on the sender's threads."""
    from . import transport

    prepared = _prepare(item.endpoint, item.delivery, item.secrets, now=now, resolver=resolver)
    if isinstance(prepared, ssrf.HttpResult):
        return prepared
    target, body, headers = prepared
    # A sender thread has no context of its own: the POST continues the trace of the action behind the event.
    with tracecontext.continued(item.delivery.traceparent):
        return transport.post(pools, target, body=body, headers=headers, timeout_s=settings.WEBHOOK_TIMEOUT_MS / 1000)


_SUCCEED_SQL = """
WITH v(id, token, code, started, finished, latency, excerpt) AS (VALUES {values}),
done AS (
    UPDATE {delivery} AS d SET status = 'SUCCEEDED', attempts_made = d.attempts_made + 1, lease_token = NULL,
        last_status_code = v.code, last_error = '', delivered_at = v.finished, updated_at = %s
    FROM v WHERE d.id = v.id AND d.lease_token = v.token
    RETURNING d.id, d.attempts_made, d.endpoint_id, d.event_type
), attempts AS (
    INSERT INTO {attempt} (delivery_id, number, created_at, success, status_code, latency_ms, error,
                           response_excerpt, next_attempt_at)
    SELECT done.id, done.attempts_made, v.started, TRUE, v.code, v.latency, '', v.excerpt, NULL
    FROM done JOIN v ON v.id = done.id
), healthy AS (
    UPDATE {endpoint} AS e SET failing_since = NULL
    WHERE e.failing_since IS NOT NULL
      AND e.id IN (SELECT endpoint_id FROM done WHERE event_type <> 'webhook.test')
)
SELECT id FROM done
"""
_SUCCEED_ROW = "(%s::uuid, %s::uuid, %s::int, %s::timestamptz, %s::timestamptz, %s::int, %s::text)"


def record_batch(outcomes: Sequence[Outcome]) -> int:
    """Record sent deliveries; returns how many were recorded (a lost lease records nothing: the new holder will).

    Successes, the common case, take ONE statement for the whole batch (atomic on its own): an UPDATE … FROM
    (VALUES …) checked against each row's lease token, the INSERT of their attempts and the UPDATE clearing the
    failure clock of endpoints that were failing, as data-modifying CTEs. Failures go one by one through
    ``_record`` (retry schedule, Retry-After, 410, disabling): they are rare and each may change its endpoint.
    """
    portable = connection.vendor != "postgresql"  # SQLite: every outcome through ``_record``
    wins = [] if portable else [o for o in outcomes if _outcome(o.result) == "success"]
    recorded = 0
    if wins:
        by_id = {o.claimed.delivery.pk: o for o in wins}
        params: list[Any] = []
        for o in wins:
            params += [o.claimed.delivery.pk, o.claimed.token, o.result.status_code, o.started_at, o.finished_at,
                       round(o.result.latency_s * 1000), _text(o.result.excerpt[:2000])]  # fmt: skip
        params.append(timezone.now())  # updated_at, after the VALUES in the statement's text
        # One statement (atomic on its own): the outcome rows, their attempts, the endpoints' failure clocks.
        sql = _SUCCEED_SQL.format(values=", ".join([_SUCCEED_ROW] * len(wins)), **_tables())
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                numbers = {row[0] for row in cursor.fetchall()}
        except DatabaseError:
            # One row the database refuses must not hold the batch back: record them one by one (below).
            logger.exception("webhook sender: recording a batch of %d failed; recording one by one", len(wins))
            portable, wins, numbers, by_id = True, [], set(), {}
        for pk in set(by_id) - set(numbers):
            logger.warning("webhook delivery %s: lease lost before recording the attempt", pk)
        for o in wins:
            metrics.webhooks_total.labels(event_type=o.claimed.delivery.event_type, outcome="success").inc()
            metrics.webhook_delivery_seconds.labels(event_type=o.claimed.delivery.event_type).observe(
                o.result.latency_s
            )
        recorded += len(numbers)
    for o in outcomes:
        if not portable and _outcome(o.result) == "success":
            continue
        c = o.claimed
        try:
            attempt = _record(
                c.delivery, c.endpoint, c.token, o.result, started_at=o.started_at, finished_at=o.finished_at, rng=None
            )
        except DatabaseError:  # this one returns through its lease; the others are recorded
            logger.exception("webhook sender: recording delivery %s failed", c.delivery.pk)
            continue
        recorded += attempt is not None
    return recorded


def _text(value: str) -> str:
    """PostgreSQL text cannot hold NUL; a response excerpt may (it is whatever the subscriber sent)."""
    return value.replace("\x00", "\ufffd")
