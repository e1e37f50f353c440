"""Long polling without polling storms: ``GET …?wait=N`` answers when the resource's state changes or after N s.

How a waiting request learns of a change: services announce it (``changed(kind, id)``, sent **on commit**, so a
waiter never wakes to a state it cannot read yet) on the Redis channel ``orch:changed:<kind>:<id>``. Each web
process has **one** Redis subscription (a daemon thread, ``psubscribe orch:changed:*``) that sets the
``threading.Event`` of the requests waiting for that key; waiting requests hold no database connection (it is
closed before blocking) and no Redis connection of their own. While subscribed, a waiter re-reads only when woken
and at its deadline (a change nothing announces, e.g. a node starting, is seen at the deadline: the answer is never
staler than N s). Without Redis (the embedded default: one machine, few clients), or while the subscription
reconnects, it re-reads every ``POLL_SECONDS``; in-process announcements still wake it at once.

The state compared is a small fingerprint chosen by the view (statuses, not timestamps). The client may send the
``ETag`` of its last answer as ``If-None-Match``: a state that already differs answers at once; without it the
state at the request's start is the baseline. After N s the current state is returned (200) either way.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import redis
from django.conf import settings
from django.db import connection, transaction

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


def changed(kind: str, ident: Any) -> None:
    """Announce that resource ``kind``/``ident`` changed, once the current transaction commits (now if none)."""
    key = channel(kind, ident)
    transaction.on_commit(lambda: publish(key))


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


def publish(key: str) -> None:
    """Wake this process's waiters on ``key`` and, with Redis, every process's. Never raises (a lost
    announcement only delays waiters until their next re-check)."""
    hub.wake(key)
    if not settings.REDIS_URL:
        return
    try:
        _redis().publish(key, "1")
    except Exception:  # Redis down: waiters fall back to their re-check
        logger.warning("could not announce %s", key, exc_info=True)


# --- Waiting ----------------------------------------------------------------------------------------------------


class Hub:
    """Per process: key → the events of the requests waiting for it, and the one subscription feeding them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[str, set[threading.Event]] = {}
        self._thread: threading.Thread | None = None
        self._pid = 0
        self.live = threading.Event()  # subscribed right now

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

    def waiting(self) -> int:
        with self._lock:
            return sum(len(v) for v in self._waiters.values())

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
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.psubscribe(f"{PREFIX}*")
                self.live.set()
                for message in pubsub.listen():
                    if message.get("type") == "pmessage":
                        raw = message.get("channel")
                        self.wake(raw.decode() if isinstance(raw, bytes) else str(raw))
            except Exception:
                logger.warning("wait hub lost its Redis subscription; retrying", exc_info=True)
            self.live.clear()
            # Waiters re-check on their own meanwhile; reconnect after a pause, not in a tight loop.
            threading.Event().wait(1.0)


hub = Hub()


def wait_for_change(
    keys: list[str], read: Callable[[], tuple[Any, Any]], *, baseline: str | None, seconds: float
) -> tuple[str, Any]:
    """``read()`` → ``(state, value)``; returns ``(fingerprint, value)`` as soon as the state's fingerprint differs
    from ``baseline`` (None: the first read's) or after ``seconds``. The database connection is closed before each
    pause (not inside a transaction, e.g. a test's), so a waiting request holds none."""
    if seconds <= 0:
        state, value = read()
        return fingerprint(state), value
    deadline = time.monotonic() + seconds
    event = hub.register(keys)  # before the first read: a change committed after it wakes us
    try:
        while True:
            # At most READ_CONCURRENCY waiters of this process read at once, each giving its connection back right
            # after: when one commit wakes hundreds of waiters they queue here instead of opening hundreds of
            # database connections (the answer needs no database once read).
            with _readers:
                try:
                    state, value = read()
                finally:
                    if not connection.in_atomic_block:
                        connection.close()
            current = fingerprint(state)
            if baseline is None:
                baseline = current
            remaining = deadline - time.monotonic()
            if current != baseline or remaining <= 0:
                return current, value
            # Subscribed: sleep until an announcement or the deadline (re-reading on a timer is the polling storm
            # this avoids: 200 waiters re-reading every 5 s cost more than the traffic they wait beside).
            # Not subscribed (no Redis, or reconnecting): re-read every POLL_SECONDS.
            pause = remaining if hub.live.is_set() else POLL_SECONDS
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
