"""How run answers present their nodes: in definition order, with ``requires_approval`` saying what the policy
decided for each step (issue 21), and OpenAPI descriptions written for API users."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from orchestrator.models import NodeStatus, WorkflowNode

from .engine_helpers import definition, drive, task

pytestmark = pytest.mark.django_db


def _keys(body: dict[str, Any]) -> list[str]:
    return [node["key"] for node in body["nodes"]]


def test_nodes_are_listed_in_definition_order(api: APIClient) -> None:
    keys = ["zulu", "alpha", "mike", "bravo"]
    body = definition(*[task(k) for k in keys])
    created = api.post("/api/v1/workflows", body, format="json").json()
    assert _keys(created) == keys
    assert _keys(api.get(f"/api/v1/workflows/{created['id']}").json()) == keys
    assert list(WorkflowNode.objects.filter(run_id=created["id"]).values_list("key", flat=True)) == keys


def test_requires_approval_is_what_the_policy_decided(api: APIClient) -> None:
    mail = task("mail", "email.send", {"to": "finance@example.com", "subject": "Hi", "body": "Hello"})
    body = definition(task("prep", "echo", {"v": 1}), {**mail, "depends_on": ["prep"]}, start=True)
    created = api.post("/api/v1/workflows", body, format="json").json()
    before = {n["key"]: n for n in created["nodes"]}
    # Not reached yet: what the tenant's policy will decide (email.send is HIGH, echo LOW).
    assert (before["mail"]["requires_approval"], before["mail"]["risk_level"]) == (True, "HIGH")
    assert (before["prep"]["requires_approval"], before["prep"]["risk_level"]) == (False, "LOW")
    assert before["mail"]["definition"]["requires_approval"] is False  # what the author asked for

    drive()
    answer = api.get(f"/api/v1/workflows/{created['id']}").json()
    waiting = {n["key"]: n for n in answer["nodes"]}
    assert waiting["mail"]["status"] == NodeStatus.WAITING_APPROVAL
    assert waiting["mail"]["requires_approval"] is True
    assert waiting["prep"]["status"] == NodeStatus.COMPLETED and waiting["prep"]["requires_approval"] is False
    node = api.get(f"/api/v1/workflows/{created['id']}/nodes/mail").json()
    assert node["requires_approval"] is True and node["risk_level"] == "HIGH"


def test_the_definition_flag_forces_approval_of_a_low_risk_step(api: APIClient) -> None:
    body = definition(task("pay", "echo", {"v": 1}, requires_approval=True), task("wait_note", "noop"))
    created = api.post("/api/v1/workflows", body, format="json").json()
    nodes = {n["key"]: n for n in created["nodes"]}
    assert nodes["pay"]["requires_approval"] is True and nodes["wait_note"]["requires_approval"] is False


def test_control_nodes_never_need_approval(api: APIClient) -> None:
    body = definition(task("a"), {"key": "pause", "type": "WAIT", "depends_on": ["a"], "wait": {"seconds": 5}})
    nodes = {n["key"]: n for n in api.post("/api/v1/workflows", body, format="json").json()["nodes"]}
    assert (nodes["pause"]["requires_approval"], nodes["pause"]["risk_level"]) == (False, None)


INTERNAL_WORDS = ("Mixin", "represent_many", "``", "ViewSet", "serializer", "queryset", "selector")


def test_openapi_descriptions_are_for_api_users(api: APIClient) -> None:
    schema = api.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            where = f"{method.upper()} {path}"
            assert operation.get("summary"), f"{where} has no summary"
            text = f"{operation.get('summary', '')} {operation.get('description', '')}"
            for word in INTERNAL_WORDS:
                assert word not in text, f"{where} mentions {word!r}: {text!r}"


def test_openapi_documents_examples_for_the_main_operations(api: APIClient) -> None:
    schema = api.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    for path, method in (
        ("/api/v1/workflows", "post"),
        ("/api/v1/workflows/{id}", "get"),
        ("/api/v1/approvals/{id}/approve", "post"),
        ("/api/v1/approvals/{id}/reject", "post"),
    ):
        assert "example" in json.dumps(schema["paths"][path][method]), f"{method.upper()} {path} has no example"
