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
"""

from __future__ import annotations

import logging
import math
import time
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
        pipe.incr(full_key(current))
        pipe.expire(full_key(current), ttl)  # the key names its window, so pushing its end back is harmless
        pipe.get(full_key(previous))
        count, _, before = pipe.execute()
        return int(count), int(before or 0)
    cache.add(current, 0, timeout=ttl)
    return int(cache.incr(current)), int(cache.get(previous) or 0)


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
        now = time.time()
        window, elapsed = divmod(now, duration)
        self.retry_after = duration - elapsed
        key = self.get_cache_key(request, view)
        try:
            count, previous = count_in_window(key, int(window), 2 * duration + 1)
            # The previous window counts for the part of it still inside the last ``duration`` seconds.
            estimate = previous * (1 - elapsed / duration) + count
            if estimate <= limit:
                return True
            take_back(key, int(window))
        except Exception:
            logger.warning("throttle counter unreachable; request allowed", exc_info=True)
            return True
        return False

    def wait(self) -> float | None:
        """Seconds until the current window ends, when the oldest counted requests start to weigh less
        (DRF turns it into ``Retry-After``)."""
        return max(1.0, math.ceil(self.retry_after))
