"""Each class of client mistake, sent to every operation of the OpenAPI schema (issue 16): never a 5xx.

The operations come from the schema ``/api/v1/schema/`` serves (generated in-process), not from a hand list, so a
new endpoint is covered the day it is added. Path parameters get the id of a real object of the caller's tenant
where there is one, so the mistake reaches the view behind the lookup.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from orchestrator import services
from tests.conftest import ALL_SCOPES
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db

OPERATIONS = [
    (method, path)
    for path, operations in SchemaGenerator().get_schema(request=None, public=True)["paths"].items()
    for method in operations
    if method in ("get", "post", "put", "patch", "delete")
]

# A class of mistake: (query string to add, body, content type, extra headers, path-parameter override)
Mistake = tuple[str, bytes | None, str, dict[str, str], str | None]
JSON = "application/json"
DEEP = b'{"a": ' + b"[" * 20000 + b"]" * 20000 + b"}"
MISTAKES: dict[str, Mistake] = {
    "payload_too_large": (
        "",
        b'{"a": "' + b"x" * 64 + b'"}',
        "application/json",
        {"CONTENT_LENGTH": "999999999"},
        None,
    ),
    "deep_nesting": ("", DEEP, JSON, {}, None),
    "lone_surrogate": ("", b'{"name": "\\ud800", "reason": "\\udc00", "url": "\\ud800"}', JSON, {}, None),
    "invalid_utf8": ("", b'{"name": "\xff"}', JSON, {}, None),
    "nul_in_body": ("", b'{"name": "a\\u0000", "reason": "\\u0000"}', JSON, {}, None),
    "huge_number": ("", b'{"lease_seconds": 1e999, "limit": 1e999, "name": 1e999}', JSON, {}, None),
    "nul_in_query": ("?limit=%00&name=a%00b", None, "", {}, None),
    "control_in_query": ("?x%01=1", None, "", {}, None),
    "invalid_cursor": ("?cursor=cD0yMDI0LTAxLTAx", None, "", {}, None),
    "huge_limit": ("?limit=" + "9" * 50, None, "", {}, None),
    "format_param": ("?format=xml", None, "", {}, None),
    "far_timestamps": (
        "?created_after=0001-01-01T00:00:00%2B15:00&since=9999-12-31T23:59:59-15:00",
        None,
        "",
        {},
        None,
    ),
    "nul_in_path": ("", None, "", {}, "a%00b"),
    "long_path_id": ("", None, "", {}, "9" * 3000),
}
# What the class must answer wherever it is sent (besides "no 5xx").
EXPECTED: dict[str, set[int]] = {
    "payload_too_large": {413},
    "nul_in_query": {400},
    "control_in_query": {400},
    "nul_in_path": {400},
}


@pytest.fixture
def caller(db: Any) -> tuple[Client, Callable[[str, str], str]]:
    tenant = TenantFactory()
    _, raw = services.create_api_key(tenant=tenant, name="every-op", scopes=ALL_SCOPES)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}", raise_request_exception=False)
    nodes = [{"key": "a", "type": "TASK", "action": {"tool": "noop", "params": {}}}]
    run = client.post("/api/v1/workflows", {"name": "r", "nodes": nodes}, content_type="application/json").json()
    hook = client.post(
        "/api/v1/webhooks", {"url": "https://example.com/h", "events": ["*"]}, content_type="application/json"
    ).json()
    workspace = client.post("/api/v1/workspaces", {"name": "w"}, content_type="application/json").json()
    real = {"workflows": run["id"], "webhooks": hook["id"], "workspaces": workspace["id"]}

    def fill(path: str, override: str | None) -> str:
        out = []
        for segment in path.split("/"):
            if segment.startswith("{"):
                if override is not None:
                    segment = override
                elif segment == "{key}":
                    segment = "a"
                else:
                    segment = next((v for k, v in real.items() if f"/{k}/" in path), "00000000-0000-0000-0000-0000")
            out.append(segment)
        return "/".join(out)

    return client, fill


def test_schema_lists_the_operations() -> None:
    assert len(OPERATIONS) > 30
    assert ("post", "/api/v1/workflows") in OPERATIONS


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_every_operation_answers_each_mistake_without_a_5xx(
    caller: tuple[Client, Callable[[str, str], str]], mistake: str
) -> None:
    client, fill = caller
    query, body, content_type, headers, override = MISTAKES[mistake]
    failures = []
    for method, path in OPERATIONS:
        url = fill(path, override) + query
        kwargs: dict[str, Any] = dict(headers)
        if body is not None and method in ("post", "put", "patch"):
            kwargs.update(data=body, content_type=content_type)
        if override is not None and "{" not in path:
            continue  # a path-segment mistake needs a path parameter
        response = getattr(client, method)(url, **kwargs)
        status = response.status_code
        problem = status >= 400 and not response.get("Content-Type", "").startswith("application/problem+json")
        wrong = mistake in EXPECTED and status not in EXPECTED[mistake]
        if status >= 500 or problem or wrong:
            content = b"(streamed)" if response.streaming else response.content[:160]
            failures.append((method.upper(), url[:120], status, content))
        if mistake == "format_param":
            assert status != 404 or json.loads(response.content)["code"] == "not_found"
    assert not failures, failures
