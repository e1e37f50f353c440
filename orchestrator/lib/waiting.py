"""Long polling without polling storms: ``GET …?wait=N`` answers when the resource's state changes or after N s.

How a waiting request learns of a change: every service that changes what ``GET /workflows/{id}`` or
``GET /approvals/{id}`` shows announces it (``changed(kind, id)``; the engine's write paths call ``run_changed``).
Announcements are collected per transaction and sent **on commit** (a waiter never wakes to a state it cannot read
yet), each key at most once per transaction, all of a transaction's keys in one Redis round trip (a pipeline of
``PUBLISH orch:changed:<kind>:<id>``). Each web process has **one** Redis subscription (a daemon thread,
``psubscribe orch:changed:*``) that sets the ``threading.Event`` of the requests waiting for that key; waiting
requests hold no database connection (it is closed before blocking) and no Redis connection of their own.

A waiter re-reads only when woken, at its deadline, and when the resource changes by the clock alone (``due``: an
approval is shown EXPIRED at its ``expires_at``) — but only while the subscription has been live since before its
last read: a waiter that read while the hub was (re)subscribing polls every ``POLL_SECONDS`` until a read made under
a live subscription, and losing the subscription wakes every waiter (announcements sent meanwhile are lost).
Without Redis (the embedded default: one machine, few clients) it re-reads every ``POLL_SECONDS``; in-process
announcements still wake it at once.

The state compared is a fingerprint chosen by the view. The client may send the ``ETag`` of its last answer as
``If-None-Match``: a state that already differs answers at once; without it the state at the request's start is the
baseline (so a change between two requests is only seen with the ETag). After N s the current state is returned
(200) either way.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import redis
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from orchestrator.lib.errors import InvalidInput

logger = logging.getLogger(__name__)
MAX_WAIT_SECONDS = 30
POLL_SECONDS = 1.0
PREFIX = "orch:changed:"
READ_CONCURRENCY = 8
_readers = threading.BoundedSemaphore(READ_CONCURRENCY)


def channel(kind: str, ident: Any) -> str:
    return f"{PREFIX}{kind}:{str(ident).lower()}"


def wait_seconds(value: Any) -> float:
    """The ``wait`` query parameter: absent → 0; a number 0..``MAX_WAIT_SECONDS``; else 400 naming ``wait``."""
    if value in (None, ""):
        return 0.0
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if not 0 <= seconds <= MAX_WAIT_SECONDS:
        raise InvalidInput(f"wait: a number of seconds between 0 and {MAX_WAIT_SECONDS}.", field="wait")
    return seconds


def fingerprint(state: Any) -> str:
    return hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()[:32]


# --- Announcing -------------------------------------------------------------------------------------------------


class _Batch:
    """The keys one transaction changed, published together by one on-commit callback."""

    __slots__ = ("flush", "keys")

    def __init__(self) -> None:
        self.keys: set[str] = set()
        self.flush = self._flush  # one bound method, so the connection's callback list can be searched by identity

    def _flush(self) -> None:
        keys, self.keys = self.keys, set()
        publish_many(sorted(keys))


def changed(kind: str, ident: Any) -> None:
    """Announce that resource ``kind``/``ident`` changed, once the current transaction commits (now if none).

    Coalesced: each key at most once per transaction, every key of the transaction in one publish after commit.
    A savepoint rolled back with the announcement's on-commit callback drops it (its changes are gone too), and the
    next announcement registers a new one; keys announced inside a rolled-back savepoint whose callback survived
    are still published (a spurious wake-up costs a waiter one read, a missed one costs it the deadline)."""
    key = channel(kind, ident)
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        publish_many([key])
        return
    batch: _Batch | None = getattr(conn, "_waiting_batch", None)
    if batch is None or not any(entry[1] is batch.flush for entry in conn.run_on_commit):
        batch = _Batch()
        conn._waiting_batch = batch  # type: ignore[attr-defined]
        transaction.on_commit(batch.flush, robust=True)
    batch.keys.add(key)


def run_changed(run_id: Any) -> None:
    """What ``GET /workflows/{run_id}`` shows changed (the run, a node, its workspace): wake its waiters on commit.
    Called by every engine write path (``orchestrator.progress``, ``completion``, ``claims``, ``runs``, ``scheduler``,
    ``recovery``, ``approval_outcomes``, ``approvals.services``); ``tests/orchestrator/test_waiting.py`` checks that
    each kind of change wakes a waiter before its deadline."""
    changed("workflow", run_id)


def announce_event(recorded: Any) -> None:
    """An ``events.recorders`` subscriber (it gets one ``events.Recorded``: read by attribute, since this ground-floor
    module cannot import its sibling ``orchestrator.events``): every event about a run or an approval announces it,
    and an event about an approval or a node announces its run too."""
    resource_type, resource_id = recorded.resource_type, str(recorded.resource_id)
    kinds = {"workflow_run": "workflow", "approval": "approval"}
    if resource_type in kinds:
        changed(kinds[resource_type], resource_id)
    data = getattr(recorded.event, "data", None) or {}
    run_id = data.get("run_id") or data.get("workflow_id")
    if run_id and not (resource_type == "workflow_run" and str(run_id) == resource_id):
        changed("workflow", run_id)


_client_lock = threading.Lock()
_clients: dict[int, Any] = {}


def _redis() -> Any:
    """One Redis client per process (its own pool; a forked child makes a new one)."""
    with _client_lock:
        client = _clients.get(os.getpid())
        if client is None:
            client = redis.Redis.from_url(str(settings.REDIS_URL), socket_timeout=5, socket_connect_timeout=2)
            _clients.clear()
            _clients[os.getpid()] = client
        return client


class Stats:
    """Announcements sent by this process (read by tests and ``bench/engine.py``)."""

    keys = 0  # keys announced
    round_trips = 0  # Redis round trips (one pipeline per committed transaction)


def publish(key: str) -> None:
    """``publish_many([key])``."""
    publish_many([key])


def publish_many(keys: list[str]) -> None:
    """Wake this process's waiters on ``keys`` and, with Redis, every process's, in one round trip (a pipeline).
    Never raises (a lost announcement only delays waiters until their next re-check)."""
    if not keys:
        return
    for key in keys:
        hub.wake(key)
    Stats.keys += len(keys)
    if not settings.REDIS_URL:
        return
    try:
        client = _redis()
        if len(keys) == 1:
            client.publish(keys[0], "1")
        else:
            pipe = client.pipeline(transaction=False)
            for key in keys:
                pipe.publish(key, "1")
            pipe.execute()
        Stats.round_trips += 1
    except Exception:  # Redis down: waiters fall back to their re-check
        logger.warning("could not announce %s", ", ".join(keys), exc_info=True)


# --- Waiting ----------------------------------------------------------------------------------------------------


class Hub:
    """Per process: key → the events of the requests waiting for it, and the one subscription feeding them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[str, set[threading.Event]] = {}
        self._thread: threading.Thread | None = None
        self._pid = 0
        self.live = threading.Event()  # subscribed right now (Redis confirmed the PSUBSCRIBE)
        self.generation = 0  # + 1 on every confirmed subscription: a waiter trusts one that outlived its read

    def register(self, keys: Iterable[str]) -> threading.Event:
        event = threading.Event()
        with self._lock:
            for key in keys:
                self._waiters.setdefault(key, set()).add(event)
        self._ensure_listening()
        return event

    def unregister(self, keys: Iterable[str], event: threading.Event) -> None:
        with self._lock:
            for key in keys:
                waiting = self._waiters.get(key)
                if waiting is not None:
                    waiting.discard(event)
                    if not waiting:
                        del self._waiters[key]

    def wake(self, key: str) -> None:
        with self._lock:
            events = tuple(self._waiters.get(key, ()))
        for event in events:
            event.set()

    def wake_all(self) -> None:
        """Every waiter re-reads (the subscription was lost or renewed: announcements may have been missed)."""
        with self._lock:
            events = {event for waiting in self._waiters.values() for event in waiting}
        for event in events:
            event.set()

    def subscribed_since(self) -> int | None:
        """The current subscription's generation, or None when not subscribed (call before reading the state)."""
        with self._lock:
            return self.generation if self.live.is_set() else None

    def still_subscribed(self, since: int | None) -> bool:
        """Whether the subscription of ``subscribed_since()`` is still the live one: every announcement since then
        reached this process."""
        with self._lock:
            return since is not None and self.live.is_set() and self.generation == since

    def waiting(self) -> int:
        with self._lock:
            return sum(len(v) for v in self._waiters.values())

    def subscribed(self) -> None:
        """Redis confirmed the subscription: a new generation; waiters that read before it re-read."""
        with self._lock:
            self.generation += 1
            self.live.set()
        self.wake_all()

    def lost(self) -> None:
        """The subscription is gone: what is announced until it is back is lost, so every waiter re-reads now and
        polls meanwhile."""
        with self._lock:
            self.live.clear()
        self.wake_all()

    def _ensure_listening(self) -> None:
        if not settings.REDIS_URL:
            return
        with self._lock:
            if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
                return
            self._pid = os.getpid()
            self.live.clear()
            self._thread = threading.Thread(target=self._listen, name="wait-hub", daemon=True)
            self._thread.start()

    def _listen(self) -> None:
        while True:
            try:
                # Its own client: the subscription blocks without a read timeout, publishing must not.
                client = redis.Redis.from_url(str(settings.REDIS_URL), socket_connect_timeout=2, socket_keepalive=True)
                pubsub = client.pubsub()
                pubsub.psubscribe(f"{PREFIX}*")
                for message in pubsub.listen():
                    kind = message.get("type")
                    if kind == "pmessage":
                        raw = message.get("channel")
                        self.wake(raw.decode() if isinstance(raw, bytes) else str(raw))
                    elif kind == "psubscribe":
                        # Live only once Redis confirmed it: ``psubscribe()`` returns before Redis has processed it,
                        # and a PUBLISH in between reaches nobody.
                        self.subscribed()
            except Exception:
                logger.warning("wait hub lost its Redis subscription; retrying", exc_info=True)
            self.lost()
            # Waiters re-check on their own meanwhile; reconnect after a pause, not in a tight loop.
            threading.Event().wait(1.0)


hub = Hub()


def wait_for_change(
    keys: list[str],
    read: Callable[[], tuple[Any, Any]],
    *,
    baseline: str | None,
    seconds: float,
    due: Callable[[], datetime | None] | None = None,
) -> tuple[str, Any]:
    """``read()`` → ``(state, value)``; returns ``(fingerprint, value)`` as soon as the state's fingerprint differs
    from ``baseline`` (None: the first read's) or after ``seconds``. ``due()``, called after each read, may name
    when the state changes by the clock alone (re-read then). The database connection is closed before each pause
    (not inside a transaction, e.g. a test's), so a waiting request holds none."""
    if seconds <= 0:
        state, value = read()
        return fingerprint(state), value
    deadline = time.monotonic() + seconds
    event = hub.register(keys)  # before the first read: a change committed after it wakes us
    try:
        while True:
            # Taken before the read: only a subscription live since then has delivered every later announcement.
            since = hub.subscribed_since()
            # At most READ_CONCURRENCY waiters of this process read at once, each giving its connection back right
            # after: when one commit wakes hundreds of waiters they queue here instead of opening hundreds of
            # database connections (the answer needs no database once read).
            with _readers:
                try:
                    state, value = read()
                    changes_at = due() if due is not None else None
                finally:
                    if not connection.in_atomic_block:
                        connection.close()
            current = fingerprint(state)
            if baseline is None:
                baseline = current
            remaining = deadline - time.monotonic()
            if current != baseline or remaining <= 0:
                return current, value
            # Subscribed since before the read: sleep until an announcement or the deadline (re-reading on a timer is
            # the polling storm this avoids). Otherwise (no Redis, or the subscription is new or reconnecting):
            # re-read every POLL_SECONDS.
            pause = remaining if hub.still_subscribed(since) else POLL_SECONDS
            if changes_at is not None:
                pause = min(pause, max(0.0, (changes_at - timezone.now()).total_seconds()) + 0.05)
            event.wait(min(pause, remaining))
            event.clear()
    finally:
        hub.unregister(keys, event)


def etag_of(request_headers: Any) -> str | None:
    """The fingerprint a client sent back as ``If-None-Match`` (quotes and ``W/`` stripped), if any."""
    raw = request_headers.get("If-None-Match") if request_headers is not None else None
    if not raw or not isinstance(raw, str):
        return None
    return raw.strip().removeprefix("W/").strip('"') or None
