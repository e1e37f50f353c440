"""The webhook sender of one worker process (issue 22): batch claims, sending threads, a cap per endpoint.

Two threads per process touch the database, each on its own connection, and overlap: the *pump* claims due
deliveries in one statement (``delivery.claim_batch``), the *recorder* writes finished attempts in batches
(``delivery.record_batch``, one statement for a batch of successes). Between them, ``WEBHOOK_SENDER_THREADS``
sending threads only resolve + check the host (SSRF guard), sign and POST over keep-alive pools per checked address
(``webhooks.transport``). At most ``per_endpoint`` requests run against one endpoint at a time: an endpoint that
answers after 5 s holds that many threads and the others keep serving the rest. Claimed deliveries of an endpoint
that answers promptly wait in a short local queue, so a thread that finishes starts the next one at once.

The pump wakes on ``wake()`` (the ``webhooks.send_due`` task: sent on the commit that wrote the outbox rows, by the
sweep and by retry countdowns) and whenever the recorder frees room (so a backlog drains without further messages);
it parks when nothing is due. The broker message carries no delivery id: it only says "look"; the database is the
queue, so a lost or duplicated message loses or duplicates nothing. A process that dies leaves its claims to the
lease: they are claimed again, with the same ``webhook-id``, once it has run out.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter, deque
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from . import delivery, services, ssrf, transport

logger = logging.getLogger(__name__)

# After a database error the pump waits this long before trying again (the sweep is the durable backstop).
ERROR_BACKOFF_S = 1.0
# A process holds up to DEPTH × its threads deliveries (running + waiting), DEPTH × the cap of a fast endpoint.
DEPTH = 8
# An endpoint whose recent answers took longer than this on average is held to its cap (no local queue).
SLOW_S = 1.0
# How often the pump checks its database connection (Django's CONN_MAX_AGE and health check), not every round.
HEALTH_CHECK_EVERY_S = 30.0


class Sender:
    """Sends due deliveries of this process. Thread-safe; ``wake()`` never blocks on the network or database.

    Per endpoint at most ``per_endpoint`` requests run and, for an endpoint that answers promptly, up to
    ``DEPTH`` times as many wait in a local queue (claimed, leased), so a sending thread that finishes picks the
    next delivery at once instead of waiting for the pump's next round trip, and a claim takes a large batch.
    A waiting delivery whose lease would no longer cover its timeout is not sent (``safe_to_start``): it returns
    through the lease.
    """

    def __init__(
        self,
        *,
        threads: int,
        per_endpoint: int,
        resolver: ssrf.Resolver | None = None,
        name: str = "webhook-sender",
    ) -> None:
        self.threads = threads
        self.per_endpoint = min(per_endpoint, threads)
        self.resolver = resolver
        self.name = name
        self.pools = transport.Pools(maxsize=threads)
        # One lock, three conditions, so a finished request wakes one sending thread and the recorder, not all
        # threads: the pump (and ``wait_idle``) wait on ``_cond``, the sending threads on ``_work_cond``, the
        # recorder on ``_rec_cond``.
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._work_cond = threading.Condition(self._lock)
        self._rec_cond = threading.Condition(self._lock)
        self._running: Counter[Any] = Counter()  # endpoint id → requests in flight
        self._ready: dict[Any, deque[delivery.Claimed]] = {}  # endpoint id → claimed, waiting for a thread
        self._order: deque[Any] = deque()  # endpoints with waiting deliveries, round robin
        self._held = 0  # claimed and not yet recorded (or dropped): waiting + running + finished
        self._done: list[delivery.Outcome] = []
        self._wakes = 0
        self._parked = False  # the pump is waiting with nothing to do
        self._stopping = False
        self._pump: threading.Thread | None = None
        self._recorder: threading.Thread | None = None
        self._local = threading.local()
        self._workers: list[threading.Thread] = []
        self.claimed_total = 0
        self.recorded_total = 0
        self.skipped_total = 0  # waited too long for the lease: left to it
        self._latency: dict[Any, float] = {}  # endpoint id → moving average of its answer time, seconds

    # --- control --------------------------------------------------------------------------------------------------
    def wake(self) -> None:
        """Ask the pump to look for due deliveries (starting the threads on first use)."""
        with self._cond:
            if self._stopping:
                return
            self._wakes += 1
            self._parked = False
            if self._pump is None:
                self._pump = threading.Thread(target=self._run, name=f"{self.name}-pump", daemon=True)
                self._pump.start()
                self._recorder = threading.Thread(target=self._record_loop, name=f"{self.name}-record", daemon=True)
                self._recorder.start()
                for n in range(self.threads):
                    worker = threading.Thread(target=self._work, name=f"{self.name}-http-{n}", daemon=True)
                    worker.start()
                    self._workers.append(worker)
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is due to this process, nothing is held and every result is recorded (tests,
        benchmarks). Returns False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._parked and self._held == 0 and not self._done, timeout)

    def in_flight(self) -> dict[Any, int]:
        """Requests running now, per endpoint."""
        with self._cond:
            return {e: n for e, n in self._running.items() if n}

    def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming and starting; wait up to ``timeout`` for running requests to finish and be recorded.
        Deliveries still waiting or running after that are left to their lease (sent again later, same id)."""
        with self._cond:
            self._stopping = True
            for queue in self._ready.values():
                self._held -= len(queue)
            self._ready.clear()
            self._order.clear()
            self._cond.notify_all()
            self._work_cond.notify_all()
            self._rec_cond.notify_all()
            pump, recorder = self._pump, self._recorder
        deadline = time.monotonic() + timeout
        for thread in (pump, recorder):
            if thread is not None:
                thread.join(max(0.0, deadline - time.monotonic()))
        self.pools.close()

    # --- the pump and the recorder (the threads here that touch the database, each on its own connection) --------
    def _run(self) -> None:
        """The pump: claim while there is room, then park until woken."""
        try:
            while True:
                with self._cond:
                    while not (self._wakes or self._stopping):
                        self._parked = self._held == 0
                        self._cond.notify_all()
                        self._cond.wait()
                    self._parked = False
                    if self._stopping:
                        return
                    self._wakes = 0
                    free = DEPTH * self.threads - self._held
                    held = Counter(self._running)
                    for e, queue in self._ready.items():
                        held[e] += len(queue)
                    for outcome in self._done:
                        held[outcome.claimed.endpoint.pk] += 1
                    limits = {e: self._hold_limit(e) for e in held}
                if free <= 0:
                    continue  # the recorder wakes the pump when it frees room
                try:
                    self._check_connection()
                    self._claim(free, held, limits)
                except Exception:
                    logger.exception("webhook sender: claiming failed; retrying in %.0f s", ERROR_BACKOFF_S)
                    connection.close()
                    with self._cond:
                        self._wakes += 1
                        self._cond.wait(ERROR_BACKOFF_S)
        finally:
            connection.close()
            with self._cond:
                self._parked = True
                self._cond.notify_all()

    def _record_loop(self) -> None:
        """The recorder: write finished attempts in batches while the pump claims (the two overlap)."""
        retried: set[int] = set()
        try:
            while True:
                with self._cond:
                    while not self._done and not (self._stopping and self._held == 0):
                        self._rec_cond.wait(0.5 if self._stopping else None)
                    if not self._done:
                        return  # stopping, and nothing is held any more
                    done, self._done = self._done, []
                try:
                    self._check_connection()
                    self.recorded_total += delivery.record_batch(done)
                    retried = set()
                except Exception:
                    logger.exception("webhook sender: recording failed; retrying in %.0f s", ERROR_BACKOFF_S)
                    connection.close()
                    # Outcomes not recorded get one more try; after that the lease returns them (sent again).
                    retry = [o for o in done if id(o) not in retried]
                    retried = {id(o) for o in retry}
                    with self._cond:
                        self._done = retry + self._done
                        self._held -= len(done) - len(retry)
                        self._rec_cond.wait(ERROR_BACKOFF_S)
                    continue
                with self._cond:
                    self._held -= len(done)
                    self._wakes += 1  # room freed: the pump claims more (or finds nothing and parks)
                    self._cond.notify_all()
        finally:
            connection.close()

    def _check_connection(self) -> None:
        now = time.monotonic()
        if now >= getattr(self._local, "next_check", 0.0):
            close_old_connections()  # an obsolete or broken connection is replaced, not reused
            self._local.next_check = now + HEALTH_CHECK_EVERY_S

    def _hold_limit(self, endpoint_id: Any) -> int:
        """How many deliveries of an endpoint this process may hold (running + waiting). Precondition: lock held.

        A fast endpoint gets a local queue DEPTH times its cap deep, so batches are large and threads never wait
        for the pump; a slow one (recent requests over SLOW_S) only its cap, so nothing of it waits here for
        seconds (its deliveries stay claimable by other processes) and its lease is never at risk.
        """
        slow = self._latency.get(endpoint_id, 0.0) > SLOW_S
        return self.per_endpoint if slow else DEPTH * self.per_endpoint

    def _claim(self, free: int, held: Counter[Any], limits: dict[Any, int]) -> None:
        cap = DEPTH * self.per_endpoint  # endpoints this process holds nothing of (unknown or idle: fast)
        room = {e: limits[e] - n for e, n in held.items() if 0 < n < limits[e]}
        full = [e for e, n in held.items() if n >= limits[e]]
        claimed = delivery.claim_batch(limit=free, now=timezone.now(), cap=cap, room=room, full=full)
        if not claimed:
            return
        self.claimed_total += len(claimed)
        with self._cond:
            for item in claimed:
                endpoint_id = item.endpoint.pk
                queue = self._ready.get(endpoint_id)
                if queue is None:
                    queue = self._ready[endpoint_id] = deque()
                    self._order.append(endpoint_id)
                queue.append(item)
                self._held += 1
            if len(claimed) >= free:
                self._wakes += 1  # a full batch: more may be due; look again when there is room
            self._work_cond.notify(len(claimed))
        if len(claimed) >= free:
            # More is due than this process holds: nudge the other worker processes too (coalesced: at most one
            # message waits in the queue), so a backlog is shared without a message per delivery.
            services.wake_senders(why="backlog", coalesce=True)

    # --- the sending threads ---------------------------------------------------------------------------------------
    def _next(self) -> delivery.Claimed | None:
        """The next delivery of an endpoint below its cap, round robin over endpoints; None when stopping.
        Precondition: ``self._lock`` held."""
        while not self._stopping:
            for _ in range(len(self._order)):
                endpoint_id = self._order[0]
                self._order.rotate(-1)
                if self._running[endpoint_id] < self.per_endpoint:
                    queue = self._ready[endpoint_id]
                    item = queue.popleft()
                    if not queue:
                        del self._ready[endpoint_id]
                        self._order.remove(endpoint_id)
                    self._running[endpoint_id] += 1
                    return item
            self._work_cond.wait()
        return None

    def _work(self) -> None:
        while True:
            with self._cond:
                item = self._next()
            if item is None:
                return
            started_at = timezone.now()
            if not item.safe_to_start(started_at):
                self._finish(item, None)
                continue
            try:
                result = delivery.send_claimed(item, pools=self.pools, now=started_at, resolver=self.resolver)
            except Exception as exc:  # a bug must not leak a thread slot; recorded as a failed attempt (retried)
                logger.exception("webhook sender: sending delivery %s failed", item.delivery.pk)
                result = ssrf.HttpResult(None, {}, "", f"internal error: {type(exc).__name__}"[:500], False, 0.0)
            finished_at: datetime = started_at + timedelta(seconds=result.latency_s)
            self._finish(item, delivery.Outcome(item, result, started_at, finished_at))

    def _finish(self, item: delivery.Claimed, outcome: delivery.Outcome | None) -> None:
        with self._cond:
            endpoint_id = item.endpoint.pk
            if outcome is not None:  # moving average of the endpoint's answer time (decides its local queue)
                before = self._latency.get(endpoint_id, outcome.result.latency_s)
                self._latency[endpoint_id] = 0.7 * before + 0.3 * outcome.result.latency_s
                if len(self._latency) > 10_000:
                    self._latency.clear()  # a bound, not a cache policy: it only steers batch sizes
            self._running[endpoint_id] -= 1
            if self._running[endpoint_id] <= 0:
                del self._running[endpoint_id]
            if outcome is None:
                self.skipped_total += 1
                self._held -= 1
                self._wakes += 1  # room freed
                self._cond.notify_all()
            else:
                self._done.append(outcome)
            self._rec_cond.notify()
            if self._ready:
                self._work_cond.notify()  # a slot of this endpoint is free: one thread looks


_sender: Sender | None = None
_sender_pid: int | None = None
_sender_lock = threading.Lock()


def get_sender() -> Sender:
    """This process's sender (a forked child makes its own: threads and sockets do not survive a fork)."""
    global _sender, _sender_pid
    with _sender_lock:
        if _sender is None or _sender_pid != os.getpid():
            _sender = Sender(
                threads=settings.WEBHOOK_SENDER_THREADS, per_endpoint=settings.WEBHOOK_ENDPOINT_CONCURRENCY
            )
            _sender_pid = os.getpid()
        return _sender


def shutdown(timeout: float = 10.0) -> None:
    """Stop this process's sender if it was started (worker process shutdown)."""
    global _sender
    with _sender_lock:
        sender, _sender = (_sender, None) if _sender_pid == os.getpid() else (None, _sender)
    if sender is not None:
        sender.stop(timeout)
