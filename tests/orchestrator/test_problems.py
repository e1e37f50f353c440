"""Every API error is an RFC 9457 problem document with a stable code (SPEC §2)."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import path
from rest_framework.test import APIClient
from rest_framework.views import APIView

from orchestrator.models import Role
from tests.conftest import assert_problem

pytestmark = pytest.mark.django_db


class _Boom(APIView):
    permission_classes: list = []
    authentication_classes: list = []

    def get(self, request):
        raise RuntimeError("secret internals that must not leak")


def _plain_boom(request):
    raise RuntimeError("secret internals that must not leak")


urlpatterns = [
    path("api/v1/boom", _Boom.as_view()),
    path("api/v1/plain-boom", _plain_boom),
]
handler500 = "orchestrator.urls.handler500"


@pytest.fixture(autouse=True)
def _clear_throttle_cache():
    cache.clear()
    yield
    cache.clear()


def test_unknown_api_path_is_404_problem() -> None:
    assert_problem(Client().get("/api/v1/no-such-thing"), 404, "not_found")


def test_unknown_object_id_is_404_problem(tenant, member_client) -> None:
    client = member_client(tenant, Role.OPERATOR)
    assert_problem(client.get("/api/v1/api-keys/00000000-0000-0000-0000-000000000000"), 404, "not_found")


def test_malformed_id_is_404_not_500(tenant, member_client) -> None:
    client = member_client(tenant, Role.OPERATOR)
    assert_problem(client.get("/api/v1/api-keys/not-a-uuid"), 404, "not_found")


def test_malformed_json_is_400_parse_error(tenant, member_client) -> None:
    client = member_client(tenant, Role.OPERATOR)
    response = client.post("/api/v1/api-keys", data="{not json", content_type="application/json")
    assert_problem(response, 400, "parse_error")


def test_wrong_content_type_is_415(tenant, member_client) -> None:
    client = member_client(tenant, Role.OPERATOR)
    response = client.post("/api/v1/api-keys", data="name=x", content_type="application/x-www-form-urlencoded")
    assert_problem(response, 415, "unsupported_media_type")


def test_wrong_method_is_405(api: APIClient) -> None:
    assert_problem(api.delete("/api/v1/me"), 405, "method_not_allowed")


def test_validation_error_lists_each_field(tenant, member_client) -> None:
    client = member_client(tenant, Role.OPERATOR)
    body = assert_problem(client.post("/api/v1/api-keys", {}, format="json"), 400, "validation_error")
    assert {e["field"] for e in body["errors"]} == {"name", "scopes"}


@pytest.mark.urls(__name__)
def test_unexpected_error_is_500_problem_without_stack_trace() -> None:
    body = assert_problem(Client(raise_request_exception=False).get("/api/v1/boom"), 500, "internal_error")
    assert "secret internals" not in str(body)
    assert "Traceback" not in str(body)
    assert body["request_id"]


@pytest.mark.urls(__name__)
def test_unexpected_error_outside_drf_is_500_problem() -> None:
    response = Client(raise_request_exception=False).get("/api/v1/plain-boom")
    body = assert_problem(response, 500, "internal_error")
    assert "secret internals" not in str(body)


def test_throttled_caller_gets_429_with_retry_after(api: APIClient, settings) -> None:
    settings.API_THROTTLE_RATE = "2/min"
    assert api.get("/api/v1/me").status_code == 200
    assert api.get("/api/v1/me").status_code == 200
    response = api.get("/api/v1/me")
    assert_problem(response, 429, "rate_limited")
    assert int(response["Retry-After"]) >= 1


def test_throttle_buckets_are_per_caller(tenant, key_client, settings) -> None:
    settings.API_THROTTLE_RATE = "1/min"
    first, second = key_client(tenant), key_client(tenant)
    assert first.get("/api/v1/me").status_code == 200
    assert_problem(first.get("/api/v1/me"), 429, "rate_limited")
    assert second.get("/api/v1/me").status_code == 200


def test_request_id_is_echoed_and_generated(api: APIClient) -> None:
    assert api.get("/api/v1/me", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] == "abc-123"
    generated = api.get("/api/v1/me", HTTP_X_REQUEST_ID="bad id with spaces")["X-Request-ID"]
    assert generated != "bad id with spaces" and len(generated) == 32


def test_pagination_limit_and_next(tenant, member_client, make_api_key) -> None:
    for index in range(3):
        make_api_key(tenant, name=f"k{index}")
    client = member_client(tenant, Role.OPERATOR)
    page = client.get("/api/v1/api-keys?limit=2").json()
    assert len(page["results"]) == 2 and page["next"]
    rest = client.get(page["next"]).json()
    assert len(rest["results"]) == 1 and rest["next"] is None
    seen = {r["id"] for r in page["results"]} | {r["id"] for r in rest["results"]}
    assert len(seen) == 3


def test_pagination_rejects_bad_limit_and_cursor(tenant, member_client) -> None:
    client = member_client(tenant, Role.OPERATOR)
    assert_problem(client.get("/api/v1/api-keys?limit=abc"), 400, "validation_error")
    assert_problem(client.get("/api/v1/api-keys?limit=0"), 400, "validation_error")
    assert_problem(client.get("/api/v1/api-keys?cursor=garbage"), 400, "invalid_cursor")
    assert client.get("/api/v1/api-keys?limit=100000").status_code == 200


@pytest.mark.redis
def test_throttle_counter_is_exact_under_concurrent_callers() -> None:
    """16 threads call the throttle's own ``count_in_window`` 25 times each on one window: 400 distinct counts, no
    lost update (the old sliding log lost them: read-modify-write of a pickled list)."""
    import threading
    import uuid

    from django.conf import settings as django_settings

    from orchestrator.lib import throttling

    if not django_settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    key = f"test-throttle-{uuid.uuid4().hex}"
    seen: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(25):
            count, _previous = throttling.count_in_window(key, 7, 60)
            with lock:
                seen.append(count)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen) == list(range(1, 401))
    assert throttling.count_in_window(key, 7, 60) == (401, 0)
    assert throttling.count_in_window(key, 8, 60) == (1, 401)


def test_refused_requests_do_not_use_up_the_allowance(api: APIClient, settings) -> None:
    """2/min: two allowed, five refused; half a minute into the next window the previous one weighs about half, so
    a request is allowed again (2 x 0.48 + 1 <= 2). Had the refused attempts been counted (7 x 0.48 + 1) it would
    still be refused."""
    import time_machine

    settings.API_THROTTLE_RATE = "2/min"
    start = (int(time.time()) // 60 + 1) * 60 + 1  # one second into a fresh window
    with time_machine.travel(start, tick=False):
        assert api.get("/api/v1/me").status_code == 200
        assert api.get("/api/v1/me").status_code == 200
        for _ in range(5):
            assert_problem(api.get("/api/v1/me"), 429, "rate_limited")
    with time_machine.travel(start + 60 + 30, tick=False):
        assert api.get("/api/v1/me").status_code == 200
