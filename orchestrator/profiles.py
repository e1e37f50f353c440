"""A person's console preferences (``ConsoleProfile``): read with a fallback, written after validation."""

from __future__ import annotations

import zoneinfo
from functools import lru_cache
from typing import Any

from orchestrator.lib.errors import InvalidInput
from orchestrator.models import ConsoleProfile

DEFAULT_TIME_ZONE = "UTC"


@lru_cache(maxsize=1)
def time_zone_names() -> tuple[str, ...]:
    """Every IANA zone name this system knows, sorted (the profile form's choices)."""
    return tuple(sorted(zoneinfo.available_timezones()))


def time_zone_for(user: Any) -> zoneinfo.ZoneInfo:
    """The zone ``user`` reads absolute times in (UTC without a profile, or for a zone this system no longer
    knows). At most one query."""
    user_id = getattr(user, "pk", None)
    name = None
    if user_id is not None:
        name = ConsoleProfile.objects.filter(user_id=user_id).values_list("time_zone", flat=True).first()
    try:
        return zoneinfo.ZoneInfo(name or DEFAULT_TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(DEFAULT_TIME_ZONE)


def set_time_zone(*, user: Any, name: str) -> ConsoleProfile:
    """Save ``user``'s time zone. Raises ``InvalidInput`` (field ``time_zone``) for a name that is not an IANA zone.
    Side effect: creates the profile on first use."""
    if name not in time_zone_names():
        raise InvalidInput("Not a time zone name (e.g. Europe/Berlin).", field="time_zone")
    profile, _ = ConsoleProfile.objects.update_or_create(user=user, defaults={"time_zone": name})
    return profile
