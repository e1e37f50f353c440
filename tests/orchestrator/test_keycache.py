"""The per-process API-key cache (orchestrator/lib/keycache.py): no lookup query for a known key, and a change to
any key (revocation, an admin edit, a change published by another process) is seen on the very next request;
when the shared epoch cannot be read, every request goes to the database."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from orchestrator import services
from orchestrator.lib import keycache
from orchestrator.models import ApiKey, Scope

pytestmark = pytest.mark.django_db


def me(raw_key: str, client: Any) -> int:
    return int(client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw_key}").status_code)


@pytest.fixture
def key(tenant, make_api_key) -> tuple[ApiKey, str]:
    return make_api_key(tenant, [Scope.WORKFLOWS])


def test_a_known_key_costs_no_lookup_query(key, client, django_assert_num_queries) -> None:
    _api_key, raw = key
    assert me(raw, client) == 200  # looks it up (and touches last_used_at)
    with django_assert_num_queries(1):  # /me reads the caller's tenants; nothing else
        assert me(raw, client) == 200


def test_revocation_is_refused_on_the_next_request(key, client, django_capture_on_commit_callbacks) -> None:
    api_key, raw = key
    assert me(raw, client) == 200
    with django_capture_on_commit_callbacks(execute=True):
        services.revoke_api_key(api_key=api_key)
    assert me(raw, client) == 401


def test_a_change_published_by_another_process_is_seen(key, client) -> None:
    """Another process revoked the key: the row changed and the epoch moved, our local copy did not."""
    api_key, raw = key
    assert me(raw, client) == 200
    ApiKey.objects.filter(pk=api_key.pk).update(revoked_at=timezone.now())  # no signal, no local clear
    assert me(raw, client) == 200, "precondition: without a new epoch the local copy is used"
    cache.set(keycache.EPOCH_KEY, 12345, timeout=None)  # what invalidate_all does in the other process
    assert me(raw, client) == 401


def test_an_admin_edit_of_the_scopes_applies_at_once(key, client, django_capture_on_commit_callbacks) -> None:
    api_key, raw = key
    assert client.get("/api/v1/workflows", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        api_key.scopes = [Scope.AUDIT]
        api_key.save()  # what the admin does: post_save → invalidate_all
    assert client.get("/api/v1/workflows", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 403


def test_an_unreadable_epoch_bypasses_the_cache(key, client, monkeypatch, django_assert_num_queries) -> None:
    api_key, raw = key
    assert me(raw, client) == 200

    def down() -> Any:
        raise ConnectionError("redis is down")

    monkeypatch.setattr(keycache, "redis_client", down)
    monkeypatch.setattr(keycache.cache, "get", lambda *a, **k: down())
    with django_assert_num_queries(2):  # the key lookup, every time, and /me's tenants
        assert me(raw, client) == 200
    ApiKey.objects.filter(pk=api_key.pk).update(revoked_at=timezone.now())
    assert me(raw, client) == 401


def test_an_unknown_key_is_refused_and_stays_refused(client) -> None:
    raw = "wfo_deadbeef_" + "x" * 43
    assert me(raw, client) == 401
    assert me(raw, client) == 401
