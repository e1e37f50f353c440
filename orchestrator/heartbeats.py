"""Worker heartbeats: each executor process says it is alive, so recovery notices a dead one within seconds.

A process that runs attempts writes them as its lease owner (``host:pid``, ``runner.worker_identity``). Here that
process upserts one ``WorkerHeartbeat`` row under the same identity every ``WORKER_HEARTBEAT_SECONDS``, from a
daemon thread started when the Celery pool child starts (``orchestrator.tasks``). The row lives in the database,
so it works the same on PostgreSQL and on the embedded default (SQLite), with either broker.

``gone_owners`` is what recovery asks: the identities that stopped beating (SIGKILL, OOM, a host that vanished,
or a clean shutdown, which marks the row gone at once) and those whose process was replaced by a new one with the
same identity (``booted_at`` later than an attempt's start). A process that never wrote a row is unknown, not dead:
its attempts keep the older rule (their lease expires).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from orchestrator.models import WorkerHeartbeat

logger = logging.getLogger(__name__)

GONE = datetime(2000, 1, 1, tzinfo=UTC)  # ``seen_at`` of a process that said goodbye
PRUNE_AFTER = timedelta(hours=1)


def identity() -> str:
    """This process's identity, the same string ``runner.worker_identity`` writes as the lease owner."""
    return f"{socket.gethostname()}:{os.getpid()}"


def beat(who: str, booted_at: datetime, now: datetime | None = None) -> None:
    """Upsert ``who``'s row: alive at ``now``, booted at ``booted_at`` (one statement, no read)."""
    now = now or timezone.now()
    WorkerHeartbeat.objects.update_or_create(identity=who, defaults={"booted_at": booted_at, "seen_at": now})


def say_goodbye(who: str) -> None:
    """A clean exit: mark ``who`` gone now, so recovery does not wait for its heartbeat to time out."""
    WorkerHeartbeat.objects.filter(identity=who).update(seen_at=GONE)


class Heartbeat:
    """One daemon thread per process beating every ``WORKER_HEARTBEAT_SECONDS`` (started again after a fork)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = 0
        self._stop = threading.Event()
        self.booted_at: datetime | None = None

    def start(self) -> None:
        """Start beating in this process (idempotent; a forked child starts its own thread)."""
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._stop = threading.Event()
            self.booted_at = timezone.now()
            threading.Thread(target=self._run, args=(identity(), self.booted_at, self._stop), daemon=True,
                             name="worker-heartbeat").start()  # fmt: skip

    def stop(self) -> None:
        """Stop beating and mark this process gone (clean shutdown of a pool child)."""
        with self._lock:
            if self._pid != os.getpid():
                return
            self._stop.set()
            self._pid = 0
        try:
            say_goodbye(identity())
        except Exception:  # shutting down: the timeout covers a goodbye that could not be written
            logger.warning("could not mark worker %s gone", identity(), exc_info=True)

    @staticmethod
    def _run(who: str, booted_at: datetime, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                beat(who, booted_at)
            except Exception:  # the database being away must not kill the thread; the next beat retries
                logger.warning("worker heartbeat of %s failed", who, exc_info=True)
            finally:
                connection.close()  # never hold a connection between beats
            stop.wait(settings.WORKER_HEARTBEAT_SECONDS)


heartbeat = Heartbeat()


def gone_owners(now: datetime) -> dict[str, datetime | None]:
    """Identities whose process is gone: ``{identity: None}`` for one that stopped beating for
    ``WORKER_HEARTBEAT_TIMEOUT_SECONDS``; ``{identity: booted_at}`` for a live one, since an attempt it owns that
    started before ``booted_at`` belonged to an earlier process with the same identity (restarted)."""
    cutoff = now - timedelta(seconds=settings.WORKER_HEARTBEAT_TIMEOUT_SECONDS)
    return {
        who: (None if seen_at < cutoff else booted_at)
        for who, booted_at, seen_at in WorkerHeartbeat.objects.values_list("identity", "booted_at", "seen_at")
    }


def prune(now: datetime) -> int:
    """Delete rows that stopped beating more than an hour ago (their attempts were recovered long since)."""
    deleted, _ = WorkerHeartbeat.objects.filter(seen_at__lt=now - PRUNE_AFTER).delete()
    return deleted
