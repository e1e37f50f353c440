"""Retries with backoff and an ``Idempotency-Key`` on every write, as an httpx transport.

Every request of the client — the hand-written conveniences and the generated typed layer alike — goes through
``RetryTransport``. A write (POST/PUT/PATCH/DELETE) gets an ``Idempotency-Key`` (a new UUID unless the caller set
one) *before* the first try, so a retry after a lost answer replays the same key and the server answers it from
its idempotency store instead of acting twice. Retried: connection errors, timeouts, 429, 502, 503 and 504
(``Retry-After`` honoured, capped), with exponential backoff and jitter.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable

import httpx

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})


class RetryTransport(httpx.BaseTransport):
    """Wraps ``inner`` (default: ``httpx.HTTPTransport()``); ``retries`` extra tries after the first."""

    def __init__(
        self,
        inner: httpx.BaseTransport | None = None,
        *,
        retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.inner = inner or httpx.HTTPTransport()
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.sleep = sleep

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None:
            retry_after = response.headers.get("Retry-After", "")
            if retry_after.isdigit():
                return min(float(retry_after), self.max_backoff)
        return min(self.max_backoff, self.backoff * (2**attempt)) * (0.5 + random.random() / 2)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method in WRITE_METHODS and "Idempotency-Key" not in request.headers:
            request.headers["Idempotency-Key"] = str(uuid.uuid4())
        request.read()  # a body that can be sent again
        attempt = 0
        while True:
            try:
                response = self.inner.handle_request(request)
            except httpx.TransportError as exc:
                if attempt >= self.retries or isinstance(exc, httpx.UnsupportedProtocol):
                    raise
                self.sleep(self._delay(attempt, None))
                attempt += 1
                continue
            if response.status_code not in RETRY_STATUSES or attempt >= self.retries:
                return response
            response.read()
            response.close()
            self.sleep(self._delay(attempt, response))
            attempt += 1

    def close(self) -> None:
        self.inner.close()
