"""The suite's one way to wait: poll a condition with a deadline (no sleeping "long enough")."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def poll(
    fn: Callable[[], Any],
    timeout: float,
    what: str,
    *,
    interval: float = 0.05,
    tolerate: tuple[type[BaseException], ...] = (),
) -> Any:
    """Call ``fn`` until it returns something truthy and return that; fail after ``timeout`` seconds naming
    ``what`` and the last value seen. Exceptions listed in ``tolerate`` (e.g. a server not listening yet) count
    as "not yet"."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                return last
        except tolerate as exc:
            last = exc
        time.sleep(interval)  # the polling interval, bounded by the deadline above
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}: {last!r}")
