"""Per-caller throttling: one bucket per API key or user, by client address for anonymous requests.

A sliding-window counter (two fixed windows, the previous one weighted by how much of it still overlaps the last
``duration`` seconds) rather than DRF's default sliding log: DRF's ``SimpleRateThrottle`` reads, appends to and
rewrites the caller's whole list of request times on every request, so its cost grows with the rate (60,000
timestamps pickled both ways per request at 1,000 req/s) and two processes can lose each other's updates. Here a
request is one Redis round trip (``INCR`` + ``EXPIRE`` of the current window, ``GET`` of the previous one) and the
count is atomic across processes. A refused request is taken back (``DECR``), so hammering while throttled does not
extend the wait.

If the counter cannot be reached (Redis down) the request is allowed: throttling protects the service, it is not
a correctness guarantee, and refusing every request because the cache is down would turn a cache outage into an
API outage.

One round trip per request (issue 22): for a known API key the counter is fetched *ahead*, in the pipeline that
reads the API-key cache epoch (``prefetch``, called by ``orchestrator.lib.auth.lookup_api_key``). The throttle then
uses that count instead of asking Redis again. A request the throttle never checks (refused by authentication or
permissions, or a view without throttling) gives its count back when the response leaves
(``release_unused``, from ``ApiBoundaryMiddleware``), so what is counted is still exactly the requests that reached
the throttle: the only difference is that a concurrent request may briefly see one more.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import SimpleRateThrottle

from orchestrator.lib.cacheclient import full_key, redis_client

logger = logging.getLogger(__name__)


def count_in_window(key: str, window: int, ttl: int) -> tuple[int, int]:
    """Add one to the counter of ``window`` under ``key`` and return ``(this window's count, the previous
    window's count)``. Counters live ``ttl`` seconds after their last hit.

    Redis: one pipelined round trip, atomic across processes. Other cache backends (the embedded default's file
    cache): ``add`` + ``incr`` + ``get``.
    """
    current, previous = f"{key}:{window}", f"{key}:{window - 1}"
    client = redis_client()
    if client is not None:
        pipe = client.pipeline(transaction=False)
        queue_count(pipe, key, window, ttl)
        count, _, before = pipe.execute()
        return int(count), int(before or 0)
    cache.add(current, 0, timeout=ttl)
    return int(cache.incr(current)), int(cache.get(previous) or 0)


def queue_count(pipe: Any, key: str, window: int, ttl: int) -> None:
    """Add ``count_in_window``'s three commands to a Redis pipeline (results: count, ``EXPIRE``'s, previous)."""
    current = full_key(f"{key}:{window}")
    pipe.incr(current)
    pipe.expire(current, ttl)  # the key names its window, so pushing its end back is harmless
    pipe.get(full_key(f"{key}:{window - 1}"))


PREFETCHED = "_throttle_prefetched"  # attribute of the Django request holding a ``Prefetched``


@dataclass
class Prefetched:
    """A throttle count taken ahead for ``key`` (this request already counted), not yet used by a throttle."""

    key: str
    window: int
    elapsed: float
    limit: int
    duration: int
    count: int = 0
    previous: int = 0
    used: bool = False


@functools.lru_cache(maxsize=8)
def _parse_rate(rate: str) -> tuple[int | None, int | None]:
    return SimpleRateThrottle.parse_rate(None, rate)  # type: ignore[arg-type]  # uses nothing of ``self``


def plan_for_api_key(api_key_pk: Any) -> Prefetched | None:
    """What ``CallerRateThrottle`` will count for requests of this key now, or ``None`` when not throttling."""
    rate = settings.API_THROTTLE_RATE
    if rate is None:
        return None
    limit, duration = _parse_rate(rate)
    if limit is None or duration is None:
        return None
    window, elapsed = divmod(time.time(), duration)
    key = CallerRateThrottle.cache_format % {"scope": CallerRateThrottle.scope, "ident": f"key:{api_key_pk}"}
    return Prefetched(key=key, window=int(window), elapsed=elapsed, limit=limit, duration=duration)


def prefetch(plan: Prefetched) -> Any:
    """A ``queue`` for ``keycache.read_epoch_with``: counts this request under ``plan`` in that round trip."""
    return lambda pipe: queue_count(pipe, plan.key, plan.window, 2 * plan.duration + 1)


def keep_prefetched(request: Any, plan: Prefetched, results: list[Any] | None) -> None:
    """Remember on the Django ``request`` the count ``prefetch`` fetched (``results``: its pipeline's results)."""
    if not results:
        return
    plan.count, plan.previous = int(results[0]), int(results[2] or 0)
    request.__dict__[PREFETCHED] = plan


def release_unused(request: Any) -> None:
    """Give back a count fetched ahead that no throttle used (the request never reached one)."""
    plan = request.__dict__.pop(PREFETCHED, None)
    if plan is None or plan.used:
        return
    try:
        take_back(plan.key, plan.window)
    except Exception:
        logger.warning("could not give back an unused throttle count", exc_info=True)


def take_back(key: str, window: int) -> None:
    """Undo one ``count_in_window`` (a refused request does not use up the allowance)."""
    client = redis_client()
    if client is not None:
        client.decr(full_key(f"{key}:{window}"))
    else:
        cache.decr(f"{key}:{window}")


class CallerRateThrottle(SimpleRateThrottle):
    scope = "caller"

    def get_rate(self) -> str | None:
        # Read at request time (not import time) so the rate can be changed by settings in tests and ops.
        return settings.API_THROTTLE_RATE

    def get_cache_key(self, request: Any, view: Any) -> str:
        if getattr(request, "auth", None) is not None and hasattr(request.auth, "pk"):
            ident = f"key:{request.auth.pk}"
        elif request.user is not None and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request: Any, view: Any) -> bool:
        limit: int | None = getattr(self, "num_requests", None)  # set by DRF from the rate
        duration: int | None = getattr(self, "duration", None)
        if self.rate is None or limit is None or duration is None:
            return True
        key = self.get_cache_key(request, view)
        plan: Prefetched | None = getattr(request._request, PREFETCHED, None)
        try:
            if plan is not None and not plan.used and (plan.key, plan.limit, plan.duration) == (key, limit, duration):
                plan.used = True  # counted in the authentication's round trip: no second one
                window, elapsed, count, previous = plan.window, plan.elapsed, plan.count, plan.previous
            else:
                whole, elapsed = divmod(time.time(), duration)
                window = int(whole)
                count, previous = count_in_window(key, window, 2 * duration + 1)
            self.retry_after = duration - elapsed
            # The previous window counts for the part of it still inside the last ``duration`` seconds.
            estimate = previous * (1 - elapsed / duration) + count
            if estimate <= limit:
                return True
            take_back(key, window)
        except Exception:
            logger.warning("throttle counter unreachable; request allowed", exc_info=True)
            return True
        return False

    def wait(self) -> float | None:
        """Seconds until the current window ends, when the oldest counted requests start to weigh less
        (DRF turns it into ``Retry-After``)."""
        return max(1.0, math.ceil(self.retry_after))
