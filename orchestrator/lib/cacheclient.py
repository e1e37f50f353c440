"""Direct access to the Redis behind the Django cache, for the two per-request hot paths (API-key cache epoch,
throttle counter). Django's ``RedisCache`` builds a new client object on every call; this keeps one per process
(it shares Django's connection pool, and redis-py's pool reconnects after a fork or a Redis restart)."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache

_client: Any = None


def redis_client() -> Any | None:
    """The default cache's Redis client, or ``None`` when the cache is not Redis (the embedded default)."""
    global _client
    if _client is None:
        backend = getattr(cache, "_cache", None)
        if backend is None or not hasattr(backend, "get_client"):
            return None
        _client = backend.get_client(write=True)
    return _client


def full_key(key: str) -> str:
    """The key as the Django cache stores it (prefix and version applied)."""
    return str(cache.make_and_validate_key(key))
