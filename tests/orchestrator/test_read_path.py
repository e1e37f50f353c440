"""The API's hot paths (issue 22) cost what they should and answer what they did: SQL statements per request for
the run detail and create (counted, not timed), the tenant's risk policy read with the run, the create answer
equal to a later GET, and the console link built from a template equal to ``reverse``."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from approvals.events import console_url
from orchestrator import selectors
from orchestrator.api.workflows import RunDetailSerializer
from orchestrator.lib.auth import caller_for_api_key
from orchestrator.lib.represent import represent
from orchestrator.models import Tenant, WorkflowRun

pytestmark = pytest.mark.django_db

WORKFLOW = {
    "name": "hot path",
    "nodes": [
        {"key": "a", "type": "TASK", "action": {"tool": "echo", "params": {"n": 1}}},
        {"key": "b", "type": "TASK", "depends_on": ["a"], "action": {"tool": "noop", "params": {}}},
        {"key": "w", "type": "WAIT", "depends_on": ["b"], "wait": {"seconds": 5}},
    ],
}


def statements(fn: Any) -> tuple[Any, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        result = fn()
    return result, [q["sql"] for q in queries.captured_queries]


def test_run_detail_is_two_statements_with_the_policy_in_the_first(api) -> None:
    run_id = api.post("/api/v1/workflows", WORKFLOW, format="json").json()["id"]
    assert api.get(f"/api/v1/workflows/{run_id}").status_code == 200  # the key is cached from here on
    response, sql = statements(lambda: api.get(f"/api/v1/workflows/{run_id}"))
    assert response.status_code == 200
    assert len(sql) == 2, sql  # the run (with its tenant's risk policy) and its nodes
    assert "risk_policy" in sql[0]


def test_the_policy_read_with_the_run_decides_like_the_tenant_row(tenant, make_api_key, api) -> None:
    tenant.risk_policy = {"tools": {"noop": {"level": "HIGH", "reason": "tenant says so"}}}
    tenant.save()
    run_id = api.post("/api/v1/workflows", WORKFLOW, format="json").json()["id"]
    caller = caller_for_api_key(make_api_key(tenant)[0])
    raw = selectors.get_run_detail_for(caller, run_id)
    assert raw.tenant_risk_policy == tenant.risk_policy  # JSON converted as the ORM would
    orm = selectors.run_detail_for(caller).get(pk=run_id)
    selectors.annotate_approval_facts(raw, raw.nodes.all())
    selectors.annotate_approval_facts(orm, orm.nodes.all())  # reads the tenant row itself
    assert represent(RunDetailSerializer, raw) == represent(RunDetailSerializer, orm)
    b = next(n for n in api.get(f"/api/v1/workflows/{run_id}").json()["nodes"] if n["key"] == "b")
    assert (b["risk_level"], b["requires_approval"]) == ("HIGH", True)


def test_a_tenant_without_an_override_reads_as_its_stored_default(tenant, make_api_key, api) -> None:
    run_id = api.post("/api/v1/workflows", WORKFLOW, format="json").json()["id"]
    raw = selectors.get_run_detail_for(caller_for_api_key(make_api_key(tenant)[0]), run_id)
    assert raw.tenant_risk_policy == Tenant.objects.get(pk=tenant.pk).risk_policy


def test_create_answers_what_a_get_answers_and_reads_back_raw(api) -> None:
    api.get("/api/v1/workflows")  # the key is cached from here on
    created, sql = statements(lambda: api.post("/api/v1/workflows", WORKFLOW, format="json"))
    assert created.status_code == 201, created.content
    body = created.json()
    assert body == api.get(f"/api/v1/workflows/{body['id']}").json()
    # Read back by the run detail's two statements (no ORM prefetch, no separate policy query).
    after_commit = sql[sql.index("COMMIT") + 1 :] if "COMMIT" in sql else sql[-2:]
    assert len(after_commit) == 2, after_commit
    assert WorkflowRun.objects.filter(pk=body["id"]).exists()


def test_console_url_equals_reverse(settings) -> None:
    approval_id = uuid.uuid4()
    expected = settings.CONSOLE_BASE_URL + reverse("console:approval", args=[approval_id])
    assert console_url(approval_id) == expected
    assert console_url(approval_id) == expected  # from the cached template
    assert console_url(str(approval_id)) == expected  # not a UUID object: reversed as before


# --- One Redis round trip per request: the throttle count travels with the API-key cache epoch ---------------------


class RedisSends:
    """Counts Redis round trips: one send of a command or of a whole pipeline."""

    def __init__(self, monkeypatch: Any) -> None:
        from redis.connection import AbstractConnection

        self.count = 0
        original = AbstractConnection.send_packed_command

        def send(conn: Any, command: Any, check_health: bool = True) -> None:
            self.count += 1
            original(conn, command, check_health)

        monkeypatch.setattr(AbstractConnection, "send_packed_command", send)


def counter(api_key_pk: Any, window: int) -> int:
    from orchestrator.lib.cacheclient import full_key, redis_client

    return int(redis_client().get(full_key(f"throttle_caller_key:{api_key_pk}:{window}")) or 0)


@pytest.fixture
def on_redis(settings) -> None:
    from orchestrator.lib.cacheclient import redis_client

    if redis_client() is None:
        pytest.skip("needs REDIS_URL (the embedded cache has no round trips to merge)")


@pytest.mark.redis
def test_a_known_key_costs_one_redis_round_trip(on_redis, api, monkeypatch) -> None:
    run_id = api.post("/api/v1/workflows", WORKFLOW, format="json").json()["id"]
    assert api.get(f"/api/v1/workflows/{run_id}").status_code == 200
    sends = RedisSends(monkeypatch)
    assert api.get(f"/api/v1/workflows/{run_id}").status_code == 200
    assert api.get("/api/v1/approvals?limit=20").status_code == 200
    assert sends.count == 2  # epoch + throttle counter together, once per request


@pytest.mark.redis
def test_the_prefetched_count_still_throttles(on_redis, tenant, make_api_key, settings) -> None:
    import time

    import time_machine
    from rest_framework.test import APIClient

    settings.API_THROTTLE_RATE = "3/min"
    api_key, raw = make_api_key(tenant)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    start = (int(time.time()) // 60 + 1) * 60 + 1  # one second into a fresh window
    window = start // 60
    with time_machine.travel(start, tick=False):
        assert [client.get("/api/v1/me").status_code for _ in range(3)] == [200, 200, 200]
        refused = client.get("/api/v1/me")
        assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
        assert counter(api_key.pk, window) == 3  # the refused request was taken back


@pytest.mark.redis
def test_requests_that_never_reach_the_throttle_give_their_count_back(on_redis, tenant, make_api_key, settings) -> None:
    import time

    import time_machine
    from rest_framework.test import APIClient

    settings.API_THROTTLE_RATE = "2/min"
    api_key, raw = make_api_key(tenant, ["audit"])  # may call /me, may not read workflows
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    start = (int(time.time()) // 60 + 1) * 60 + 1
    with time_machine.travel(start, tick=False):
        assert client.get("/api/v1/me").status_code == 200  # looked up and cached: prefetching from here on
        for _ in range(5):
            assert client.get("/api/v1/workflows").status_code == 403  # refused before the throttle
        assert counter(api_key.pk, start // 60) == 1
        assert client.get("/api/v1/me").status_code == 200
        assert client.get("/api/v1/me").status_code == 429


@pytest.mark.redis
def test_a_key_revoked_by_another_process_is_refused_at_once_and_its_count_given_back(
    on_redis, tenant, make_api_key
) -> None:
    """This process still holds the key (so it prefetches the count with the epoch); the new epoch sends it to the
    database, which says revoked: 401, and the count goes back."""
    import time

    import time_machine
    from django.core.cache import cache
    from django.utils import timezone
    from rest_framework.test import APIClient

    from orchestrator.lib import keycache
    from orchestrator.models import ApiKey

    api_key, raw = make_api_key(tenant)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    start = (int(time.time()) // 60 + 1) * 60 + 1
    with time_machine.travel(start, tick=False):
        assert client.get("/api/v1/me").status_code == 200
        assert client.get("/api/v1/me").status_code == 200
        ApiKey.objects.filter(pk=api_key.pk).update(revoked_at=timezone.now())  # another process revoked it
        cache.set(keycache.EPOCH_KEY, uuid.uuid4().int >> 66, timeout=None)  # and published a new epoch
        assert keycache.peek(api_key.key_hash) is not None, "precondition: the local copy is still here"
        assert client.get("/api/v1/me").status_code == 401
        assert counter(api_key.pk, start // 60) == 2


# --- The default approvals listing: pages read by SQL built once, the same rows and cursors as the ORM --------------


@pytest.fixture
def pending(tenant, other_tenant) -> list[Any]:
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from tests.console.helpers import pending_approval

    made = []
    start = timezone.now()
    for index in range(7):
        with time_machine.travel(start + timedelta(seconds=index), tick=False):
            made.append(pending_approval(tenant, note=str(index)))
    with time_machine.travel(start + timedelta(seconds=3), tick=False):  # same created_at as another row
        made.append(pending_approval(tenant, note="tie"))
    pending_approval(other_tenant)  # never listed for ``tenant``
    return made


def pages(client: Any, url: str) -> list[list[dict[str, Any]]]:
    out = []
    while url:
        body = client.get(url).json()
        out.append(body["results"])
        url = body["next"]
    return out


def test_default_pages_equal_the_orm_pages(tenant, key_client, pending) -> None:
    from approvals.api.serializers import ApprovalSerializer
    from approvals.filters import ApprovalFilter
    from approvals.selectors import approval_rows_for

    client = key_client(tenant, ["approvals:request"])
    raw = pages(client, "/api/v1/approvals?limit=3")  # no filter: PendingPages
    orm = pages(client, "/api/v1/approvals?limit=3&status=PENDING")  # the filter set and the ORM
    assert [len(p) for p in raw] == [3, 3, 2]
    assert raw == orm
    # Row by row as DRF renders the ORM's rows.
    caller = caller_for_api_key(make_key(client))
    rows = list(ApprovalFilter.unfiltered(approval_rows_for(caller)))
    assert [r["id"] for p in raw for r in p] == [str(r.pk) for r in rows]
    assert [r for p in raw for r in p] == [dict(ApprovalSerializer(r).data) for r in rows]


def make_key(client: Any) -> Any:
    from orchestrator.lib.auth import hash_key
    from orchestrator.models import ApiKey

    raw = client._credentials["HTTP_AUTHORIZATION"].split()[1]
    return ApiKey.objects.get(key_hash=hash_key(raw))


def test_an_overdue_request_is_not_in_the_default_pages(tenant, key_client, pending) -> None:
    from datetime import timedelta

    from approvals.models import ApprovalRequest

    overdue = pending[2]
    past = overdue.created_at - timedelta(hours=1)
    ApprovalRequest.objects.filter(pk=overdue.pk).update(expires_at=past)  # overdue, still PENDING
    client = key_client(tenant, ["approvals:request"])
    ids = [r["id"] for p in pages(client, "/api/v1/approvals?limit=3") for r in p]
    assert str(overdue.pk) not in ids and len(ids) == 7


def test_a_default_page_is_one_statement(tenant, key_client, pending) -> None:
    client = key_client(tenant, ["approvals:request"])
    client.get("/api/v1/approvals?limit=3")  # the key is cached from here on
    response, sql = statements(lambda: client.get("/api/v1/approvals?limit=3"))
    assert response.status_code == 200 and len(sql) == 1, sql
    assert client.get(response.json()["next"]).status_code == 200


def test_a_caller_without_approval_scopes_reads_no_pages(tenant, key_client, pending) -> None:
    from approvals.selectors import PendingPages

    caller = caller_for_api_key(make_key(key_client(tenant, ["workflows"])))
    assert PendingPages(caller).order_by("-created_at", "-id")[0:21] == []


def test_the_tenant_written_to_is_read_whole(tenant) -> None:
    tenant.risk_policy = {"tools": {"noop": {"level": "HIGH", "reason": "x"}}}
    tenant.save()
    read = selectors.tenant_for_write(tenant.pk)
    orm = Tenant.objects.get(pk=tenant.pk)
    assert [getattr(read, f.attname) for f in Tenant._meta.concrete_fields] == [
        getattr(orm, f.attname) for f in Tenant._meta.concrete_fields
    ]
    with pytest.raises(Tenant.DoesNotExist):
        selectors.tenant_for_write(uuid.uuid4())
