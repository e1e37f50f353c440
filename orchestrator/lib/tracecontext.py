"""W3C trace context carried across a hand-off that is not a Celery message (e.g. a webhook delivery row claimed
later by a sender thread), so the work done there stays in the trace of the request that caused it.

Both functions cost a dictionary and a lookup when tracing is off: without an active span there is nothing to
carry, and an empty context continues nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import context, propagate


def current_traceparent() -> str:
    """The ``traceparent`` of the active span ('' when there is none, e.g. tracing is off). No side effects."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent", "")


@contextmanager
def continued(traceparent: str) -> Iterator[None]:
    """Make ``traceparent`` (as stored by ``current_traceparent``) the current context inside the block, so spans
    and outgoing ``traceparent`` headers made there belong to that trace. '' or a malformed value: no change."""
    if not traceparent:
        yield
        return
    token = context.attach(propagate.extract({"traceparent": traceparent}))
    try:
        yield
    finally:
        context.detach(token)
