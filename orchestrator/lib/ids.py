"""Ids in paths and bodies: parsed once, here. A malformed id is treated like an unknown one by the callers (404 or
a field error), never a 500."""

from __future__ import annotations

import uuid
from typing import Any


def parse_uuid(value: Any) -> uuid.UUID | None:
    """``value`` (a UUID, or its text with or without hyphens) as a ``uuid.UUID``; None when it is not one."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
