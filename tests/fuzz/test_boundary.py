"""Client mistakes at the API boundary (issue 16): each is a 4xx problem document with a stable code."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from django.db import DataError, transaction
from django.http import HttpResponseNotAllowed
from django.test import Client

from orchestrator.lib.boundary import _as_problem
from orchestrator.models import WorkflowNode, WorkflowRun
from tests.conftest import assert_problem

pytestmark = pytest.mark.django_db


def _wait_workflow(wait: dict[str, Any]) -> dict[str, Any]:
    return {"name": "w", "nodes": [{"key": "pause", "type": "WAIT", "wait": wait}]}


def _field(body: dict[str, Any]) -> list[str]:
    return [error["field"] for error in body["errors"]]


# --- Values the database cannot store (run these on PostgreSQL: that is where they used to fail) -------------------


@pytest.mark.parametrize(
    ("until", "message"),
    [
        ("9999-12-31T23:59:59-15:00", "between"),  # year 10000 in UTC
        ("0001-01-01T00:00:00+15:00", "between"),  # year 0 in UTC
        ("0001-01-01T00:00:00Z", "between"),
        ("2020-01-01T00:00:00", "timezone"),
        ("not a time", "ISO 8601"),
    ],
)
def test_wait_until_out_of_range_is_400_naming_the_field(api: Any, until: str, message: str) -> None:
    body = assert_problem(api.post("/api/v1/workflows", _wait_workflow({"until": until}), format="json"), 400)
    assert _field(body) == ["nodes[0].wait.until"]
    assert message in body["errors"][0]["message"]


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("value", "refused_by_api"),
    [
        (datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-15))), "9999-12-31T23:59:59-15:00"),
        ("x" * 201, None),
        (2**63, None),
    ],
)
def test_postgres_refuses_these_values_and_the_api_refuses_them_first(
    api: Any, tenant: Any, value: Any, refused_by_api: str | None
) -> None:
    """What the API now answers with a 400 is what PostgreSQL answers with a range error (once a 500 or a poisoned
    scheduler tick): a timestamp beyond year 9999 in UTC (PostgreSQL stores it; Python cannot read it back), a
    string over its varchar, an integer over the column."""
    nodes = [{"key": "a", "type": "TASK", "action": {"tool": "noop", "params": {}}}]
    run_id = api.post("/api/v1/workflows", {"name": "r", "nodes": nodes}, format="json").json()["id"]
    workspace_id = api.post("/api/v1/workspaces", {"name": "w"}, format="json").json()["id"]
    column = {datetime: "started_at", str: "name", int: "attempts"}[type(value)]
    model = WorkflowRun if column != "attempts" else WorkflowNode
    target = model.objects.filter(pk=run_id) if model is WorkflowRun else model.objects.filter(run_id=run_id)
    with pytest.raises(DataError), transaction.atomic():
        target.update(**{column: value})  # a string or an integer: refused on write
        list(target.values_list(column, flat=True))  # a timestamp: stored, but every read of it fails
    if refused_by_api is not None:
        body = _wait_workflow({"until": refused_by_api})
        assert_problem(api.post("/api/v1/workflows", body, format="json"), 400)
    elif isinstance(value, str):
        assert_problem(api.post("/api/v1/workflows", {"name": value, "nodes": []}, format="json"), 400)
    else:
        body = {"owner": "o", "lease_seconds": value}
        assert_problem(api.post(f"/api/v1/workspaces/{workspace_id}/lock", body, format="json"), 400)


def test_wait_until_beyond_max_wait_days_is_400(api: Any, settings: Any) -> None:
    settings.MAX_WAIT_DAYS = 10
    late = (datetime.now(UTC) + timedelta(days=11)).isoformat()
    body = assert_problem(api.post("/api/v1/workflows", _wait_workflow({"until": late}), format="json"), 400)
    assert _field(body) == ["nodes[0].wait.until"]
    assert "10 days" in body["detail"]
    body = assert_problem(api.post("/api/v1/workflows", _wait_workflow({"seconds": 11 * 86400}), format="json"), 400)
    assert _field(body) == ["nodes[0].wait.seconds"]


def test_wait_seconds_follow_a_raised_max_wait_days(api: Any, settings: Any) -> None:
    """MAX_WAIT_DAYS above the default admits longer WAITs (the descriptor used to cap them at 366 days)."""
    settings.MAX_WAIT_DAYS = 1000
    response = api.post("/api/v1/workflows", _wait_workflow({"seconds": 900 * 86400}), format="json")
    assert response.status_code == 201, response.content
    body = assert_problem(api.post("/api/v1/workflows", _wait_workflow({"seconds": 1001 * 86400}), format="json"), 400)
    assert _field(body) == ["nodes[0].wait.seconds"]
    assert "1000 days" in str(body["errors"])


def test_wait_until_is_stored_in_utc(api: Any) -> None:
    response = api.post("/api/v1/workflows", _wait_workflow({"until": "2020-01-01T00:00:00-21:53"}), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["nodes"][0]["definition"]["wait"]["until"] == "2020-01-01T21:53:00+00:00"
    listed = api.get("/api/v1/workflows")  # the stored run reads back (used to be a permanent 500 on PostgreSQL)
    assert listed.status_code == 200


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/workspaces", {"name": "x" * 201}, "name"),
        ("/api/v1/api-keys", {"name": "k" * 101, "scopes": ["workflows"]}, "name"),
        ("/api/v1/webhooks", {"url": "https://e.com/" + "a" * 2000, "events": ["*"]}, "url"),
        ("/api/v1/workflows", {"name": "n" * 201, "nodes": [{"key": "a", "type": "PARALLEL"}]}, "name"),
        ("/api/v1/workspaces", {"name": "x", "metadata": {"n": 1e400}}, "metadata.n"),
        ("/api/v1/workspaces", {"name": "x", "metadata": {"n": float("-inf")}}, "metadata.n"),
    ],
)
def test_values_beyond_a_column_are_400_naming_the_field(api: Any, path: str, body: Any, field: str) -> None:
    raw = json.dumps(body).replace("Infinity", "1e999")  # json.dumps spells infinity as a token JSON lacks
    problem = assert_problem(api.post(path, raw, content_type="application/json"), 400)
    assert field in _field(problem), problem


def test_huge_integer_in_query_or_body_is_400(api: Any) -> None:
    assert_problem(api.get("/api/v1/workflows?limit=" + "9" * 5000), 400, "validation_error")
    big = '{"name": "x", "metadata": {"n": ' + "9" * 5000 + "}}"
    assert_problem(api.post("/api/v1/workspaces", big, content_type="application/json"), 400)


# --- Malformed requests --------------------------------------------------------------------------------------------


def test_body_over_the_limit_is_413_stating_it(api: Any, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    body = json.dumps({"name": "x", "metadata": {"pad": "a" * 4096}})
    problem = assert_problem(
        api.post("/api/v1/workspaces", body, content_type="application/json"), 413, "payload_too_large"
    )
    assert problem["limit_bytes"] == 2048
    assert "2048 bytes" in problem["detail"]


def test_body_over_the_limit_with_idempotency_key_is_413(api: Any, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    body = json.dumps({"name": "x", "metadata": {"pad": "a" * 4096}})
    response = api.post("/api/v1/workspaces", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k1")
    assert_problem(response, 413, "payload_too_large")


def test_nesting_beyond_the_limit_is_400(api: Any) -> None:
    for depth in (65, 5000, 100_000):
        body = '{"name": "x", "metadata": {"a": ' + "[" * depth + "]" * depth + "}}"
        assert_problem(api.post("/api/v1/workspaces", body, content_type="application/json"), 400, "nesting_too_deep")
    ok = '{"name": "x", "metadata": {"a": ' + "[" * 60 + "]" * 60 + "}}"
    assert api.post("/api/v1/workspaces", ok, content_type="application/json").status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        '{"name": "\\ud800"}',
        '{"name": "x", "metadata": {"\\udfff": 1}}',
        '{"name": "x", "metadata": {"a": ["ok", "\\uDBFF"]}}',
    ],
)
def test_lone_surrogates_anywhere_are_400(api: Any, body: str) -> None:
    assert_problem(api.post("/api/v1/workspaces", body, content_type="application/json"), 400, "invalid_unicode")


def test_surrogate_pair_is_valid_unicode(api: Any) -> None:
    response = api.post("/api/v1/workspaces", '{"name": "\\ud83d\\ude00"}', content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["name"] == "\U0001f600"


def test_invalid_utf8_body_is_400(api: Any) -> None:
    response = api.post("/api/v1/workspaces", b'{"name": "\xff\xfe"}', content_type="application/json")
    assert_problem(response, 400, "invalid_unicode")


@pytest.mark.parametrize("cursor", ["garbage", "cD0yMDI0", "cD1ub3QtYS1kYXRl", "%00", "a:b:c"])
def test_hand_made_or_garbled_cursor_is_400_invalid_cursor(api: Any, cursor: str) -> None:
    for path in ("/api/v1/workflows", "/api/v1/approvals", "/api/v1/audit", "/api/v1/webhooks"):
        response = api.get(f"{path}?cursor={cursor}")
        assert response.status_code == 400, (path, response.content)
        assert response.json()["code"] in ("invalid_cursor", "invalid_character")


def test_tampered_cursor_is_400_and_the_real_one_pages(api: Any) -> None:
    for i in range(3):
        api.post("/api/v1/workspaces", {"name": f"w{i}"}, format="json")
    first = api.get("/api/v1/workspaces?limit=2").json()
    assert first["next"]
    cursor = first["next"].split("cursor=")[1].split("&")[0]
    assert api.get(f"/api/v1/workspaces?limit=2&cursor={cursor}").status_code == 200
    tampered = ("A" if cursor[0] != "A" else "B") + cursor[1:]
    assert_problem(api.get(f"/api/v1/workspaces?limit=2&cursor={tampered}"), 400, "invalid_cursor")
    # A cursor of one list is not valid for another.
    assert_problem(api.get(f"/api/v1/workflows?cursor={cursor}"), 400, "invalid_cursor")


@pytest.mark.parametrize("value", ["%00", "a%01b", "%7F", "x%0Ay"])
def test_control_characters_in_query_parameters_are_400(api: Any, value: str) -> None:
    problem = assert_problem(api.get(f"/api/v1/workflows?name={value}"), 400, "invalid_character")
    assert _field(problem) == ["name"]
    assert_problem(api.get(f"/api/v1/workflows?na{value}me=1"), 400, "invalid_character")


def test_control_characters_in_path_segments_are_400(api: Any) -> None:
    assert_problem(api.get("/api/v1/workflows/ab%00cd"), 400, "invalid_character")
    assert_problem(api.post("/api/v1/workspaces/x%01/lock", {}, format="json"), 400, "invalid_character")


def test_nul_in_a_header_is_400(api: Any) -> None:
    problem = assert_problem(api.get("/api/v1/workflows", HTTP_USER_AGENT="a\x00b"), 400, "invalid_character")
    assert _field(problem) == ["User-Agent"]
    response = api.post("/api/v1/workspaces", {"name": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="k\x00")
    assert_problem(response, 400, "invalid_character")


def test_format_is_not_a_magic_parameter(api: Any) -> None:
    for value in ("json", "api", "xml", "csv"):
        response = api.get(f"/api/v1/workflows?format={value}")
        assert response.status_code == 200, (value, response.status_code)
        assert response["Content-Type"].startswith("application/json")


def test_accept_negotiates_and_an_unknown_one_is_406_problem(api: Any) -> None:
    assert_problem(api.get("/api/v1/workflows", HTTP_ACCEPT="application/xml"), 406, "not_acceptable")


def test_django_level_errors_on_api_paths_are_problem_documents() -> None:
    client = Client(raise_request_exception=False)
    assert_problem(client.get("/api/v1/no-such-thing"), 404, "not_found")
    assert_problem(client.get("/api/v1/health/live", HTTP_HOST="evil.example"), 400, "bad_request")
    assert_problem(client.delete("/api/v1/docs/"), 405, "method_not_allowed")
    assert_problem(client.post("/api/v1/schema/"), 405, "method_not_allowed")
    # The console keeps Django's own pages.
    not_allowed = _as_problem(HttpResponseNotAllowed(["GET"]))  # what a plain Django view answers
    assert not_allowed.status_code == 405
    assert json.loads(not_allowed.content)["code"] == "method_not_allowed"
    assert not_allowed["Allow"] == "GET"
    assert not client.get("/console/no-such-page").get("Content-Type", "").startswith("application/problem")
