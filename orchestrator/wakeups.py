"""Wake-ups and worker continuation: how new work reaches a scheduler tick and an executor.

``wake()`` registers an on-commit tick: in web processes it enqueues ``scheduler_tick`` on the ``scheduler`` queue;
inside ``inline_wakeups`` (a worker that just finished a node) it runs the tick in-process (no broker round trip
between a predecessor finishing and its successor being dispatched). Beat ticks every few seconds as the safety
net. ``dispatch_to_executors`` sends new attempts to the ``executor`` queue.

The lowest module of the engine: it knows the Celery tasks by name only (``orchestrator.tasks`` is an interface
that imports the engine, not the other way round), and the tick to run inline is handed in by the caller.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from celery.exceptions import NotRegistered
from django.db import connection, transaction

from orchestrator.celery import app

logger = logging.getLogger(__name__)

Dispatcher = Callable[[list[str]], None]
Tick = Callable[[], int]

TICK_TASK = "orchestrator.tasks.scheduler_tick"
EXECUTE_TASK = "orchestrator.tasks.execute_node_run"
EXECUTE_BATCH_TASK = "orchestrator.tasks.execute_node_runs"
CANCEL_REMOTE_TASK = "orchestrator.tasks.cancel_remote_tasks"

MAX_TIMER_COUNTDOWN = 3600.0  # longer timers are left to the beat tick (broker ETAs are not durable that long)
EXECUTOR_MESSAGE_BATCH = 8

_local = threading.local()


# --- Celery messages ----------------------------------------------------------------------------------------------


def _task(name: str) -> Any:
    """The registered Celery task ``name``.

    ``orchestrator.tasks`` sits above this module, so it is found through Celery's autodiscovery, which a worker
    runs at start-up but a web process never does by itself: the first lookup there imports the apps' task
    modules (without this, wake-ups from the API were silently left to the beat tick).
    """
    try:
        return app.tasks[name]
    except NotRegistered:
        app.loader.import_default_modules()
        return app.tasks[name]


def enqueue_tick(countdown: float | None = None) -> None:
    """Send one ``scheduler_tick`` message (never raises: beat catches up when the broker is down)."""
    try:
        _task(TICK_TASK).apply_async(queue="scheduler", countdown=countdown)
    except Exception:  # the broker being down must not fail the request that committed; beat catches up
        logger.warning("could not enqueue a scheduler tick; the periodic tick will pick the work up", exc_info=True)


def dispatch_to_executors(node_run_ids: list[str]) -> None:
    """Send the attempts to the ``executor`` queue: one ``execute_node_run`` message for a single attempt, else
    ``execute_node_runs`` messages of up to ``EXECUTOR_MESSAGE_BATCH`` attempts (fewer broker round trips for a
    fan-out, still spread over the workers), published over one broker connection."""
    if not node_run_ids:
        return
    if len(node_run_ids) == 1:
        _task(EXECUTE_TASK).apply_async(args=[node_run_ids[0]], queue="executor")
        return
    batch = _task(EXECUTE_BATCH_TASK)
    with app.producer_or_acquire() as producer:
        for start in range(0, len(node_run_ids), EXECUTOR_MESSAGE_BATCH):
            chunk = node_run_ids[start : start + EXECUTOR_MESSAGE_BATCH]
            batch.apply_async(args=[chunk], queue="executor", producer=producer)


def executor_backlog() -> int | None:
    """How many messages wait in the ``executor`` queue right now, or None when the broker cannot say.

    Crash recovery asks before re-publishing attempts that have waited long: while messages are still queued, the
    attempts' own messages are most likely among them (a busy queue, not a lost message)."""
    try:
        with app.connection_or_acquire() as conn:
            channel = conn.default_channel
            size = getattr(channel, "_size", None)  # kombu's virtual transports (Redis, filesystem): no declare
            if callable(size):
                return int(size("executor"))
            return int(channel.queue_declare(queue="executor", passive=True).message_count)
    except Exception:  # an unreachable broker: recovery re-publishes (harmless duplicates) rather than waits
        logger.debug("could not measure the executor queue", exc_info=True)
        return None


def cancel_remote_on_commit(task_ids: list[str]) -> None:
    """After commit, tell the task controller to stop ``task_ids`` (best effort, on the ``executor`` queue)."""
    if task_ids:
        transaction.on_commit(lambda: _task(CANCEL_REMOTE_TASK).apply_async(args=[list(task_ids)], queue="executor"))


def dispatch_on_commit(node_run_ids: list[str], dispatch: Dispatcher | None = None) -> None:
    """Hand the new attempts to ``dispatch`` after commit (default: this thread's inline dispatcher, else Celery).

    ``robust``: the attempts are committed whatever the broker says; an error here is logged, never raised into
    the caller after its commit (an API client would see a 500 for work that was done), and a message that never
    left is crash recovery's (``orchestrator.recovery`` re-publishes never-started attempts)."""
    sender = dispatch or getattr(_local, "dispatch", None) or dispatch_to_executors
    transaction.on_commit(lambda: sender(node_run_ids), robust=True)


# --- Wake-ups -----------------------------------------------------------------------------------------------------


@contextmanager
def inline_wakeups(tick: Tick, dispatch: Dispatcher | None = None) -> Iterator[None]:
    """Within this block (a worker executing an attempt) wake-ups run ``tick`` in-process after commit,
    dispatching new attempts with ``dispatch`` (default: Celery messages)."""
    previous = getattr(_local, "tick", None), getattr(_local, "dispatch", None)
    _local.tick, _local.dispatch = tick, dispatch
    try:
        yield
    finally:
        _local.tick, _local.dispatch = previous


def wake(*, countdown: float | None = None) -> None:
    """Ask for a scheduler tick once the current transaction commits (after ``countdown`` seconds if given)."""
    if countdown is not None and countdown > 0.05:
        if countdown <= MAX_TIMER_COUNTDOWN:
            transaction.on_commit(lambda: enqueue_tick(countdown=countdown))
        return
    if getattr(_local, "ticking", False):
        _local.more = True  # the running tick loop will go round again
        return
    if any(entry[1] is _wake_now for entry in connection.run_on_commit):
        return
    transaction.on_commit(_wake_now)


def _wake_now() -> None:
    tick = getattr(_local, "tick", None)
    if tick is not None:
        tick()
    else:
        enqueue_tick()


def tick_until_idle(tick: Tick, *, batch: int, max_seconds: float) -> int:
    """Run ``tick`` until a pass claims less than ``batch`` and nobody asked for more (or ``max_seconds`` pass,
    then enqueue a follow-up). Re-entrant calls (a wake-up during a tick) only ask the running loop for one more
    pass. Returns how many nodes were claimed."""
    if getattr(_local, "ticking", False):
        _local.more = True
        return 0
    _local.ticking = True
    total = 0
    deadline = time.monotonic() + max_seconds
    try:
        while True:
            _local.more = False
            claimed = tick()
            total += claimed
            if claimed < batch and not _local.more:
                break
            if time.monotonic() > deadline:
                enqueue_tick()
                break
    finally:
        _local.ticking = False
        _local.more = False
    return total


# --- Worker continuation: one successor attempt created already started by this worker ----------------------------


@contextmanager
def offer_prestart(owner: str) -> Iterator[None]:
    """Within this block, the next completion may create one successor attempt already started by ``owner``."""
    _local.prestart_owner = owner
    if not hasattr(_local, "prestarted"):
        _local.prestarted = {}
    try:
        yield
    finally:
        _local.prestart_owner = None


def take_prestart_owner() -> str | None:
    """The owner offered by ``offer_prestart``, once per completion (then cleared)."""
    owner = getattr(_local, "prestart_owner", None)
    if owner:
        _local.prestart_owner = None
    return owner or None


def keep_prestarted(node_run_id: str, row: dict[str, Any]) -> None:
    """Remember the row of an attempt this thread created already started, for ``take_prestarted``."""
    _local.prestarted[node_run_id] = row


def take_prestarted(node_run_id: str) -> dict[str, Any] | None:
    """The row of an attempt this thread created already started (see ``claims.claim_ready_successors``), once."""
    prestarted = getattr(_local, "prestarted", None)
    return prestarted.pop(node_run_id, None) if prestarted else None


def prestarted_ids() -> list[str]:
    return list(getattr(_local, "prestarted", None) or ())
