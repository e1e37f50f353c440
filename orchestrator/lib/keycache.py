"""A per-process cache of API-key lookups that every process drops at once when any key changes.

Why: looking a key up is one ORM query per request (query compilation plus a database round trip), the largest
fixed cost of an API call. Keys change rarely (revocation, scope edits in the admin), so each process keeps the
keys it looked up and, per request, reads one shared value from the Django cache (Redis in production): the
*epoch*. Any change to a key replaces the epoch with a new random number after its transaction commits, so a revoked
key is refused by every process on its very next request. The epoch is read *before* the database lookup whose
result is cached, so a change that commits in between makes the cached entry stale on arrival, never valid.

When the cache cannot be read (Redis down), nothing is served from this cache: every request goes to the
database, exactly as without it. Entries also age out after ``API_KEY_CACHE_SECONDS`` as a backstop.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from orchestrator.lib.cacheclient import full_key, redis_client
from orchestrator.models import ApiKey

logger = logging.getLogger(__name__)

EPOCH_KEY = "orchestrator:api-keys:epoch"
MAX_ENTRIES = 4096
UNREADABLE = object()  # the epoch could not be read: bypass the cache

# key hash -> (the ApiKey as loaded, or None for "no such active key"; the epoch it was loaded under; loaded at)
_entries: dict[str, tuple[Any, Any, float]] = {}


def read_epoch() -> Any:
    """The current epoch (``None`` before any change was recorded), or ``UNREADABLE``."""
    try:
        client = redis_client()
        if client is None:
            return cache.get(EPOCH_KEY)
        raw = client.get(full_key(EPOCH_KEY))  # stored by ``cache.set`` as a plain integer
        return None if raw is None else int(raw)
    except Exception:
        logger.debug("API-key cache epoch unreadable; looking keys up in the database", exc_info=True)
        return UNREADABLE


def read_epoch_with(queue: Callable[[Any], None]) -> tuple[Any, list[Any] | None]:
    """``read_epoch`` and, in the same Redis round trip, the commands ``queue`` adds to the pipeline it is given;
    returns ``(epoch, their results)``. Without Redis the commands are not sent (``None``); when the round trip
    fails, ``(UNREADABLE, None)``."""
    try:
        client = redis_client()
        if client is None:
            return read_epoch(), None
        pipe = client.pipeline(transaction=False)
        pipe.get(full_key(EPOCH_KEY))
        queue(pipe)
        raw, *results = pipe.execute()
        return (None if raw is None else int(raw)), results
    except Exception:
        logger.debug("API-key cache epoch unreadable; looking keys up in the database", exc_info=True)
        return UNREADABLE, None


def peek(key_hash: str) -> Any:
    """The key this process last loaded for ``key_hash`` (fresh or not; ``None`` if none): a guess at who is
    calling, good enough to fetch its throttle counter together with the epoch. Never an authentication."""
    entry = _entries.get(key_hash)
    return None if entry is None else entry[0]


def get(key_hash: str, epoch: Any) -> tuple[bool, Any]:
    """``(True, api_key_or_None)`` when a fresh entry loaded under ``epoch`` exists, else ``(False, None)``."""
    if epoch is UNREADABLE:
        return False, None
    entry = _entries.get(key_hash)
    if entry is None:
        return False, None
    api_key, loaded_epoch, loaded_at = entry
    if loaded_epoch != epoch or time.monotonic() - loaded_at > settings.API_KEY_CACHE_SECONDS:
        _entries.pop(key_hash, None)
        return False, None
    return True, api_key


def put(key_hash: str, api_key: Any, epoch: Any) -> None:
    """Remember a lookup made after reading ``epoch`` (not cached when the epoch was unreadable)."""
    if epoch is UNREADABLE or settings.API_KEY_CACHE_SECONDS <= 0:
        return
    if len(_entries) >= MAX_ENTRIES:
        _entries.clear()  # crude but bounded; keys in use come back on their next request
    _entries[key_hash] = (api_key, epoch, time.monotonic())


def invalidate_all() -> None:
    """Drop this process's copies now and, after the current transaction commits, give every process a new epoch.

    A random number rather than a counter, so an epoch lost with a Redis restart can never come back to a value an
    old entry was loaded under. If the cache is unreachable the entries still age out after
    ``API_KEY_CACHE_SECONDS``, and no process caches while it cannot read the epoch.
    """

    _entries.clear()  # this process at once (a reload before the commit only caches under the old epoch)

    def bump() -> None:
        _entries.clear()
        try:
            cache.set(EPOCH_KEY, secrets.randbits(62), timeout=None)
        except Exception:
            logger.warning("could not publish the API-key cache epoch; other processes catch up within %ss",
                           settings.API_KEY_CACHE_SECONDS, exc_info=True)  # fmt: skip

    transaction.on_commit(bump)


def _key_changed(sender: Any, instance: Any, created: bool = False, **kwargs: Any) -> None:
    if not created:  # a new key is in nobody's cache yet
        invalidate_all()


def connect_signals() -> None:
    """Invalidate on every saved or deleted ``ApiKey`` (admin edits of scopes, deletes, tenant cascades).
    Queryset ``update()`` sends no signal: the services that use it call ``invalidate_all`` themselves."""
    post_save.connect(_key_changed, sender=ApiKey, dispatch_uid="keycache-save")
    post_delete.connect(_key_changed, sender=ApiKey, dispatch_uid="keycache-delete")
