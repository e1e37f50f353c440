"""Retry backoff (SPEC §3.5), in pure Python: how long a failed attempt waits, and whether another is allowed."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

DEFAULT_RETRY = {"max_attempts": 1, "backoff_seconds": 1.0, "max_backoff_seconds": 300.0}


def retry_delay(attempt: int, retry: Mapping[str, Any], rand: Callable[[], float]) -> float:
    """Seconds to wait before attempt ``attempt + 1``: exponential backoff capped at ``max_backoff_seconds``,
    with "equal jitter" (half fixed, half random) so retries of many nodes spread out but never fire early."""
    base = float(retry.get("backoff_seconds", DEFAULT_RETRY["backoff_seconds"]))
    cap = float(retry.get("max_backoff_seconds", DEFAULT_RETRY["max_backoff_seconds"]))
    delay = min(cap, base * (2 ** max(0, attempt - 1)))
    return delay / 2 + rand() * delay / 2


def attempts_left(attempts_in_series: int, retry: Mapping[str, Any]) -> bool:
    """Another attempt is allowed after ``attempts_in_series`` (counted since the last manual retry)."""
    return attempts_in_series < int(retry.get("max_attempts", 1))
