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
