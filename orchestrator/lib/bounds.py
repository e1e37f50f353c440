"""Input limits checked at the API boundary (issue 16): values a client sends are parsed, normalised and bounded
here, so nothing a client sends can reach a database range error (a timestamp PostgreSQL cannot store, an integer
beyond a column, a string beyond a ``varchar``).

The limits themselves are documented in ``docs/decisions.md`` ("Input limits"); the OpenAPI schema states them
through the serializers that use these constants.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings

# JSON structure (enforced by ``orchestrator.lib.parsers``).
MAX_JSON_DEPTH = 64
# Any one query parameter value (and name); the OpenAPI schema states it on every string query parameter.
MAX_QUERY_VALUE_LENGTH = 1000
# The earliest and latest instants a client may have stored (after conversion to UTC; filters only compare and
# accept Python's whole range, see ``orchestrator.lib.filters``). PostgreSQL stores years 4713 BC to 294276 AD but
# Python reads back only years 1 to 9999; the margin keeps later arithmetic (+ a lease, ± an offset) in range.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, tzinfo=UTC)


class BoundsError(ValueError):
    """A value outside its documented bounds; ``str()`` is the message for the client."""


def max_wait() -> timedelta:
    """How far ahead a WAIT may end (``MAX_WAIT_DAYS``, default 366)."""
    return timedelta(days=settings.MAX_WAIT_DAYS)


def parse_utc(value: Any) -> datetime:
    """An ISO 8601 timestamp with a timezone (``Z`` accepted), converted to UTC and within ``EARLIEST..LATEST``.

    Raises ``BoundsError`` naming what is wrong. Offsets Python accepts but PostgreSQL refuses (beyond ±15:59) are
    harmless after the conversion.
    """
    if not isinstance(value, str) or len(value) > 64:
        raise BoundsError("An ISO 8601 timestamp with a timezone, e.g. 2030-01-01T00:00:00Z.")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise BoundsError("An ISO 8601 timestamp with a timezone, e.g. 2030-01-01T00:00:00Z.") from None
    if parsed.tzinfo is None:
        raise BoundsError("The timestamp needs a timezone (Z or ±HH:MM).")
    return check_instant(parsed)


def check_instant(value: datetime) -> datetime:
    """``value`` (timezone-aware) in UTC, or ``BoundsError`` when outside ``EARLIEST..LATEST``."""
    try:
        utc = value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise BoundsError(_range_message()) from None
    if not EARLIEST <= utc <= LATEST:
        raise BoundsError(_range_message())
    return utc


def _range_message() -> str:
    return f"Must be between {EARLIEST.date().isoformat()} and {LATEST.date().isoformat()} (UTC)."


def check_wait_until(value: Any, *, now: datetime) -> datetime:
    """A WAIT ``until``: parsed, in UTC, and at most ``MAX_WAIT_DAYS`` after ``now`` (a past instant is allowed:
    the WAIT then ends at once)."""
    until = parse_utc(value)
    limit = max_wait()
    if until > now + limit:
        raise BoundsError(f"At most {limit.days} days in the future (MAX_WAIT_DAYS).")
    return until
