"""API fuzzing: every operation of ``/api/v1/schema/`` with generated input, authenticated with an all-scopes key.

Checks: no 5xx (``not_a_server_error``) and every response matches the documented schema
(``response_schema_conformance``, ``status_code_conformance``, ``content_type_conformance``). The number of
examples per operation is bounded (``FUZZ_MAX_EXAMPLES``, default 15) so the run fits in CI; no Hypothesis
database is kept, so each run explores afresh.

Path ids: about half the cases get the id of a real object of the caller's tenant (seeded below) instead of a random
string, so the fuzzer reaches the validation and state-machine code behind the 404s.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from orchestrator import services
from tests.conftest import ALL_SCOPES
from tests.factories import TenantFactory

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "15"))
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]


def _load_schema() -> Any:
    """The schema exactly as ``/api/v1/schema/`` serves it, generated in-process (no request, no database)."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    document = json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
    loaded = schemathesis.openapi.from_dict(document)
    loaded.app = get_wsgi_application()
    return loaded


schema = _load_schema()


@contextmanager
def _keep_test_connection_open() -> Iterator[None]:
    """Like Django's test client: a WSGI request must not close the test's database connection (which would end
    the test transaction). Entered around each call, because the test client reconnects the handler after use."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(db: Any) -> dict[str, Any]:
    """A tenant with an all-scopes key and one object of each kind, so path ids can point at something real."""
    tenant = TenantFactory()
    _, raw = services.create_api_key(tenant=tenant, name="fuzz", scopes=ALL_SCOPES)
    http = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    ids: dict[str, list[str]] = {}

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = http.post(path, body, content_type="application/json")
        assert response.status_code in (200, 201), (path, response.status_code, response.content[:300])
        return response.json()

    run = post(
        "/api/v1/workflows",
        {
            "name": "fuzz",
            "nodes": [
                {"key": "a", "type": "TASK", "action": {"tool": "noop", "params": {}}},
                {"key": "b", "type": "TASK", "depends_on": ["a"], "action": {"tool": "echo", "params": {"x": 1}}},
            ],
        },
    )
    ids["workflow"] = [run["id"]]
    ids["key"] = ["a", "b"]
    hook = post("/api/v1/webhooks", {"url": "https://example.com/hook", "events": ["*"]})
    ids["webhook"] = [hook["id"]]
    workspace = post("/api/v1/workspaces", {"name": "fuzz"})
    ids["workspace"] = [workspace["id"]]
    return {"key": raw, "ids": ids}


def _real_id(path: str, name: str, ids: dict[str, list[str]]) -> str | None:
    if name == "key":
        return random.choice(ids["key"])
    for kind in ("workflow", "webhook", "workspace"):
        if f"/{kind}s/{{" in path and ids.get(kind):
            return random.choice(ids[kind])
    return None


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_operation_never_errors_and_matches_schema(case: Any, seeded: dict[str, Any]) -> None:
    path_parameters = case.path_parameters or {}
    for name in list(path_parameters):
        if random.random() < 0.5:
            real = _real_id(case.path, name, seeded["ids"])
            if real is not None:
                path_parameters[name] = real
    with _keep_test_connection_open():
        case.call_and_validate(headers={"Authorization": f"Bearer {seeded['key']}"}, checks=CHECKS)


STATEFUL_STEPS = int(os.environ.get("FUZZ_STATEFUL_STEPS", "8"))


def test_api_stateful_sequences_never_error_and_match_schema(seeded: dict[str, Any]) -> None:
    """The stateful phase: sequences of calls chained by the links schemathesis infers from the schema (a created
    workflow's ``id`` fed to ``/workflows/{id}/start``, ``/cancel``, …), with the same checks as above."""
    base = schema.as_state_machine()
    headers = {"Authorization": f"Bearer {seeded['key']}"}

    class AuthenticatedWorkflow(base):  # type: ignore[misc,valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": headers}

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS)

    assert base.bundles, "no links inferred: the stateful phase would test nothing"
    with _keep_test_connection_open():
        AuthenticatedWorkflow.run(
            settings=settings(
                max_examples=MAX_EXAMPLES,
                stateful_step_count=STATEFUL_STEPS,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
        )
