"""The bugs the API fuzzer found, pinned as ordinary tests (each was a 500 or an undocumented status)."""

from __future__ import annotations

from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

from tests.conftest import assert_problem

pytestmark = pytest.mark.django_db
FAR_OFFSET = "2020-01-01T00:00:00-21:53"  # Python accepts it, PostgreSQL does not


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/workspaces/null,null/status"),
        ("post", "/api/v1/workspaces/not-a-uuid/hibernate"),
        ("get", "/api/v1/workspaces/not-a-uuid/lock"),
        ("post", "/api/v1/api-keys/not-a-uuid/revoke"),
    ],
)
def test_malformed_id_in_path_is_404_not_500(api: Any, method: str, path: str) -> None:
    assert_problem(getattr(api, method)(path, {}, format="json"), 404, "not_found")


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/workflows?created_after={FAR_OFFSET}",
        f"/api/v1/approvals?requested_after={FAR_OFFSET}",
        f"/api/v1/audit/stats?since={FAR_OFFSET}",
        f"/api/v1/audit?until={FAR_OFFSET}",
    ],
)
def test_datetime_filters_with_offsets_postgres_refuses_are_normalised(api: Any, path: str) -> None:
    assert api.get(path.replace("+", "%2B")).status_code == 200


def test_datetime_filter_out_of_range_after_normalising_is_400(api: Any) -> None:
    response = api.get("/api/v1/workflows?created_after=0001-01-01T00:00:00%2B15:00")
    assert_problem(response, 400, "validation_error")


def test_nul_character_in_json_is_400_not_500(api: Any) -> None:
    response = api.post(
        "/api/v1/workspaces", '{"name": "x", "metadata": {"a": "b\\u0000c"}}', content_type="application/json"
    )
    assert_problem(response, 400)
    response = api.post("/api/v1/workspaces", '{"name": "x\\u0000"}', content_type="application/json")
    assert_problem(response, 400)


def test_escaped_backslash_before_u0000_is_not_a_nul(api: Any) -> None:
    response = api.post("/api/v1/workspaces", '{"name": "x\\\\u0000"}', content_type="application/json")
    assert response.status_code == 201, response.content


def test_audit_verify_unknown_tenant_is_a_documented_404(api: Any) -> None:
    assert_problem(api.get("/api/v1/audit/verify?tenant_id=00000000-0000-0000-0000-000000000000"), 404, "not_found")


def test_every_operation_documents_its_problem_responses() -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert "Problem" in schema["components"]["schemas"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status in ("400", "401", "403", "429", "503"):
                assert status in operation["responses"], (method, path, status)
                assert operation["responses"][status].get("content"), (method, path, status)
            if "{" in path:
                assert "404" in operation["responses"], (method, path)
