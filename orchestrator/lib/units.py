"""Units of work in batch jobs (issue 16): one unit's error neither rolls back nor blocks the others.

Every periodic or batch job (the scheduler tick, lease reaping, approval expiry, the webhook sweep, workspace
sweeps, audit retention) handles many tenants' units (a run's node, an attempt, an approval, a delivery, a
workspace, an audit chain) in one pass. Each unit runs under a :class:`Guard`:

- **Isolation.** Inside a transaction the unit runs in a savepoint (``transaction.atomic()`` nested), so a
  statement the database refuses rolls back only that unit and the pass goes on; outside one it is its own
  transaction. Code that runs no SQL, or opens its own transactions, can skip the savepoint (``sql=False``; two
  round trips saved per unit on the scheduler's hot path); if a statement fails there and leaves the enclosing
  transaction aborted, nothing can be isolated and the error is raised.
- **Reporting.** Every failure increments ``orchestrator_unit_failures_total{job}`` and logs one line with the
  job and the unit's ids (tenant, run, node, …) and the traceback.
- **Quarantine.** A unit that fails ``UNIT_QUARANTINE_AFTER_FAILURES`` times in a row is handed to the job's
  ``quarantine`` callable (in its own savepoint), which moves it to its terminal state (a run FAILED with
  ``internal_error``, a delivery FAILED, an approval EXPIRED…). The count lives in the cache (Redis in
  production, shared by every process; the file cache otherwise), keyed by job and unit, and expires
  ``UNIT_FAILURE_WINDOW_SECONDS`` after the last failure. A success clears it when this process recorded a
  failure of that unit (a set kept in memory, so the success path costs no cache call); a success seen by another
  process only lets the count expire. Nothing is written on the success path.
- **Transient errors** (``OperationalError``/``InterfaceError``: deadlock, serialization failure, lock or
  statement timeout, lost connection) are counted and logged but never lead to quarantine: they say nothing about
  the unit. A connection that is no longer usable ends the job (every other unit would fail the same way).
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, connection, transaction

from orchestrator import metrics

logger = logging.getLogger("orchestrator.units")

T = TypeVar("T")

# Units this process saw fail and whose count may still be in the cache: a success clears only those (bounded).
_RECENT_FAILURES: OrderedDict[str, None] = OrderedDict()
_RECENT_LIMIT = 10_000


@dataclass(frozen=True)
class Unit:
    """One unit of a job: ``key`` identifies it for the failure count (an id); ``ids`` are logged (tenant, run…).
    ``lookup``, when given, returns more ids and is called only when the unit failed (a query the success path
    does not pay for: the tenant and run of an attempt the reaper knows by id)."""

    key: str
    ids: Mapping[str, Any] = field(default_factory=dict)
    lookup: Callable[[], Mapping[str, Any]] | None = None

    def resolved(self) -> dict[str, Any]:
        """``ids`` completed by ``lookup`` (best effort: a failing lookup adds nothing)."""
        found = dict(self.ids)
        if self.lookup is not None:
            try:
                with transaction.atomic():
                    found.update(self.lookup())
            except Exception:
                logger.debug("unit ids lookup failed for %s", self.key, exc_info=True)
        return found

    def describe(self, ids: Mapping[str, Any] | None = None) -> str:
        shown = self.ids if ids is None else ids
        return " ".join(f"{name}={value}" for name, value in shown.items() if value not in (None, "")) or (
            f"unit={self.key}"
        )


@dataclass
class Outcome:
    """Set when the ``with guard.unit(...)`` block exits: whether the unit failed (its work rolled back)."""

    failed: bool = False
    error: BaseException | None = None
    quarantined: bool = False


# Called with the unit (its ids completed by ``lookup``) and the reason it carries (``reason()``).
Quarantine = Callable[[Unit, Mapping[str, Any], str], None]


def _cache_key(job: str, key: str) -> str:
    # Fixed-length and cache-safe whatever the unit key holds.
    return "unit-failures:" + hashlib.sha256(f"{job}\x00{key}".encode()).hexdigest()[:32]


def record_failure(job: str, key: str) -> int:
    """Count one more consecutive failure of the unit; returns the count (0 when the cache is unavailable)."""
    cache_key = _cache_key(job, key)
    ttl = settings.UNIT_FAILURE_WINDOW_SECONDS
    _RECENT_FAILURES[cache_key] = None
    _RECENT_FAILURES.move_to_end(cache_key)
    while len(_RECENT_FAILURES) > _RECENT_LIMIT:
        _RECENT_FAILURES.popitem(last=False)
    try:
        cache.add(cache_key, 0, ttl)
        try:
            count = int(cache.incr(cache_key))
        except ValueError:  # expired between add and incr
            cache.set(cache_key, 1, ttl)
            count = 1
        cache.touch(cache_key, ttl)
        return count
    except Exception:  # the count is a convenience: a cache outage must not break the job
        logger.warning("unit failure count unavailable (cache error) job=%s unit=%s", job, key, exc_info=True)
        return 0


def clear_failures(job: str, key: str) -> None:
    """Forget the unit's failures (it succeeded, or was quarantined)."""
    cache_key = _cache_key(job, key)
    _RECENT_FAILURES.pop(cache_key, None)
    try:
        cache.delete(cache_key)
    except Exception:
        logger.warning("unit failure count not cleared (cache error) job=%s unit=%s", job, key, exc_info=True)


def failure_count(job: str, key: str) -> int:
    """The unit's current consecutive failure count (tests, operators)."""
    try:
        return int(cache.get(_cache_key(job, key)) or 0)
    except Exception:
        return 0


def _transaction_broken() -> bool:
    """Whether the current transaction can run no more statements. On PostgreSQL a failed statement aborts the
    transaction (read from the driver, no round trip); Django knows only about atomic blocks it exited."""
    if connection.needs_rollback:
        return True
    raw = connection.connection
    if connection.vendor != "postgresql" or raw is None:
        return False
    status = getattr(getattr(raw, "info", None), "transaction_status", None)  # psycopg 3's pq.TransactionStatus
    return getattr(status, "name", "") == "INERROR"


def _connection_lost() -> bool:
    try:
        return not connection.is_usable()
    except Exception:
        return True


class Guard:
    """The units of one pass of ``job``; ``quarantine`` (optional) moves a unit that keeps failing to its terminal
    state. Use one guard per pass (cheap: it holds no connection and no state besides its arguments)."""

    def __init__(self, job: str, *, quarantine: Quarantine | None = None) -> None:
        self.job = job
        self.quarantine = quarantine
        self.failures = 0

    @contextmanager
    def unit(self, unit: Unit, *, sql: bool = True, last_step: bool = True) -> Iterator[Outcome]:
        """Run the ``with`` body as ``unit``: an exception is caught, reported and counted (the body's writes are
        rolled back), then the pass goes on after the block. ``sql=False`` skips the savepoint for a body that
        runs no SQL (or opens its own transactions). ``last_step=False``: more steps of the same unit follow in
        this pass, so this one's success does not yet clear the unit's failure count.
        """
        outcome = Outcome()
        try:
            if sql:
                with transaction.atomic():
                    yield outcome
            else:
                yield outcome
        except Exception as exc:
            self._failed(unit, exc, outcome)
        else:
            if last_step and _RECENT_FAILURES and _cache_key(self.job, unit.key) in _RECENT_FAILURES:
                clear_failures(self.job, unit.key)

    def each(self, items: Sequence[T], unit_of: Callable[[T], Unit], apply: Callable[[T], Any]) -> list[T]:
        """``apply`` to every item, each as its own unit; returns the items that succeeded."""
        done: list[T] = []
        for item in items:
            with self.unit(unit_of(item)) as outcome:
                apply(item)
            if not outcome.failed:
                done.append(item)
        return done

    def batch(self, items: Sequence[T], unit_of: Callable[[T], Unit], apply: Callable[[Sequence[T]], Any]) -> list[T]:
        """``apply`` to all ``items`` at once (one statement, one savepoint: the fast path); when that fails,
        again item by item, each its own unit, so a bad item costs only itself. Returns the items applied."""
        if not items:
            return []
        if len(items) == 1:
            return self.each(items, unit_of, lambda item: apply([item]))
        try:
            with transaction.atomic():
                apply(items)
        except Exception as exc:
            self._check_connection(exc)
            logger.info("job=%s: a batch of %d failed (%s); retrying unit by unit", self.job, len(items), exc)
            return self.each(items, unit_of, lambda item: apply([item]))
        if _RECENT_FAILURES:
            for item in items:
                unit = unit_of(item)
                if _cache_key(self.job, unit.key) in _RECENT_FAILURES:
                    clear_failures(self.job, unit.key)
        return list(items)

    def _check_connection(self, exc: BaseException) -> None:
        """Re-raise ``exc`` when the job cannot go on: the connection is gone, or the enclosing transaction is
        broken (a savepoint that could not be rolled back, or a ``sql=False`` body that ran a failing statement)."""
        if connection.in_atomic_block and _transaction_broken():
            raise exc
        if isinstance(exc, (OperationalError, InterfaceError)) and _connection_lost():
            raise exc

    def _failed(self, unit: Unit, exc: Exception, outcome: Outcome) -> None:
        self._check_connection(exc)
        outcome.failed, outcome.error = True, exc
        self.failures += 1
        metrics.unit_failures_total.labels(job=self.job).inc()
        transient = isinstance(exc, (OperationalError, InterfaceError))
        count = 0 if transient else record_failure(self.job, unit.key)
        ids = unit.resolved()
        logger.warning(
            "unit failed job=%s %s consecutive=%d%s: %s: %s",
            self.job,
            unit.describe(ids),
            count,
            " (transient, not counted)" if transient else "",
            type(exc).__name__,
            exc,
            exc_info=exc,
        )
        if count >= settings.UNIT_QUARANTINE_AFTER_FAILURES:
            outcome.quarantined = self._quarantine(unit, ids, exc, count)

    def _quarantine(self, unit: Unit, ids: Mapping[str, Any], exc: BaseException, count: int) -> bool:
        if self.quarantine is None:
            logger.error(
                "unit keeps failing job=%s %s consecutive=%d: no terminal state for this job, retried next pass",
                self.job,
                unit.describe(ids),
                count,
            )
            return False
        try:
            with transaction.atomic():
                self.quarantine(unit, ids, reason(self.job, exc))
        except Exception as failure:
            self._check_connection(failure)
            logger.exception("quarantine failed job=%s %s (retried at its next failure)", self.job, unit.describe(ids))
            return False
        clear_failures(self.job, unit.key)
        metrics.unit_quarantined_total.labels(job=self.job).inc()
        logger.error(
            "unit quarantined job=%s %s after %d consecutive failures: %s: %s",
            self.job,
            unit.describe(ids),
            count,
            type(exc).__name__,
            exc,
        )
        return True


def reason(job: str, exc: BaseException) -> str:
    """The text a quarantined unit carries: ``internal_error: …`` with the job and the last error (bounded)."""
    threshold = settings.UNIT_QUARANTINE_AFTER_FAILURES
    return f"internal_error: failed {threshold} times in a row in {job} ({type(exc).__name__}: {exc})"[:1000]
