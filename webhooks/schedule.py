"""The retry schedule (pure functions, no database): when the next attempt of a failed delivery is due.

Standard Webhooks style: attempt 1 at once, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h: eight
attempts over about 27.5 hours. Each delay is spread by ±``JITTER`` so that endpoints recovering from an outage
are not hit by every retry at the same instant. ``Retry-After`` on 429/503 pushes the next attempt later, never
earlier, and is capped at ``RETRY_AFTER_CAP``.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

# Delay before attempt n+1 (index n-1 is the delay before attempt n; attempt 1 is immediate).
RETRY_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(0),
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(RETRY_SCHEDULE)
JITTER = 0.2
RETRY_AFTER_CAP = timedelta(hours=24)


def retry_delay(failed_attempts: int, *, rng: random.Random | None = None) -> timedelta:
    """The delay after the ``failed_attempts``-th failure (1-based), with jitter. Precondition: < MAX_ATTEMPTS."""
    base = RETRY_SCHEDULE[min(failed_attempts, MAX_ATTEMPTS - 1)]
    factor = (rng or random).uniform(1 - JITTER, 1 + JITTER)
    return timedelta(seconds=base.total_seconds() * factor)


def parse_retry_after(value: str | None, *, now: datetime) -> timedelta | None:
    """``Retry-After`` as a delay: delta-seconds or an HTTP date; ``None`` when absent or unparsable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(timedelta(seconds=int(value)), RETRY_AFTER_CAP)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return min(max(when - now, timedelta(0)), RETRY_AFTER_CAP)
