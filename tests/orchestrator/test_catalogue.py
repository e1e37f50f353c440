"""Executor action catalogues (issue 19): validation against the executor that runs the action, the task
controller's configured and advertised catalogue (a real HTTP server on 127.0.0.1), and the risk it declares."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from approvals import policy, preview
from orchestrator import runs, scheduler
from orchestrator.executors import catalogue, runner
from orchestrator.lib import tools
from orchestrator.models import WorkflowNode, WorkflowNodeRun
from tests.conftest import assert_problem

from .test_task_controller import TOKEN, FakeController

pytestmark = pytest.mark.django_db
CHECKOUT = "https://checkout.shop.example/cart"


def body(*nodes: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": "agents", "nodes": list(nodes), **extra}


def step(key: str, tool: str, params: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"key": key, "type": "TASK", "action": {"tool": tool, "params": params}, **extra}


def fields(response: Any) -> dict[str, str]:
    problem = assert_problem(response, 400, "validation_error")
    return {e["field"]: e["message"] for e in problem["errors"]}


class Capabilities:
    """A controller that answers ``GET /api/v1/capabilities`` with ``document`` and counts the calls."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.calls = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.calls += 1
                raw = json.dumps(owner.document).encode()
                status = 200 if self.path == "/api/v1/capabilities" else 404
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def remote(settings: Any) -> Iterator[None]:
    settings.EXECUTOR_BACKEND = "task_controller"
    catalogue.forget()
    yield
    catalogue.forget()


def test_local_executor_refuses_desktop_actions_naming_the_field(api: APIClient) -> None:
    response = api.post("/api/v1/workflows", body(step("buy", "desktop.purchase", {})), format="json")
    errors = fields(response)
    assert "nodes[0].action.tool" in errors
    assert "local executor" in errors["nodes[0].action.tool"]


def test_task_controller_catalogue_accepts_desktop_steps_and_names_bad_params(api: APIClient, remote: None) -> None:
    ok = body(
        step("type", "desktop.type", {"text": "hello"}), step("buy", "desktop.purchase", {"url": CHECKOUT, "item": "x"})
    )
    assert api.post("/api/v1/workflows", ok, format="json").status_code == 201
    bad = body(
        step("a", "desktop.purchase", {"url": CHECKOUT, "amount": "12", "coupon": "x"}),
        step("b", "desktop.teleport", {}),
        step("c", "desktop.click", {"url": CHECKOUT}),
    )
    errors = fields(api.post("/api/v1/workflows", bad, format="json"))
    assert errors["nodes[0].action.params.item"] == "Required."
    assert "coupon" in errors["nodes[0].action.params.coupon"]
    assert "number" in errors["nodes[0].action.params.amount"]
    assert "desktop.teleport" in errors["nodes[1].action.tool"]
    assert errors["nodes[2].action.params"] == "Needs selector or x and y."


def test_builtin_tools_stay_valid_on_the_task_controller(api: APIClient, remote: None) -> None:
    assert api.post("/api/v1/workflows", body(step("e", "echo", {"x": 1})), format="json").status_code == 201
    errors = fields(api.post("/api/v1/workflows", body(step("s", "sleep", {"seconds": "x"})), format="json"))
    assert "nodes[0].action.params.seconds" in errors


def test_executor_choice_per_run_and_per_node_where_configured(api: APIClient, settings: Any) -> None:
    mixed = body(step("local", "echo", {}), step("buy", "desktop.type", {"text": "x"}, executor="task_controller"))
    errors = fields(api.post("/api/v1/workflows", mixed, format="json"))
    assert "task_controller" in errors["nodes[1].executor"]  # not configured: one executor only
    settings.EXECUTOR_CHOICES = ["local", "task_controller"]
    created = api.post("/api/v1/workflows", mixed, format="json")
    assert created.status_code == 201, created.json()
    nodes = {n.key: n.config for n in WorkflowNode.objects.filter(run_id=created.json()["id"])}
    assert nodes["buy"]["executor"] == "task_controller"
    assert "executor" not in nodes["local"]
    whole_run = body(step("t", "desktop.type", {"text": "x"}), executor="task_controller")
    assert api.post("/api/v1/workflows", whole_run, format="json").status_code == 201
    errors = fields(api.post("/api/v1/workflows", body(step("t", "echo", {}), executor="mars"), format="json"))
    assert "mars" in errors["executor"]


def test_desktop_purchase_on_a_checkout_page_is_critical_with_two_approvers() -> None:
    found = policy.classify(
        django_settings.APPROVAL_RISK_POLICY, tool="desktop.purchase", params={"url": CHECKOUT, "item": "TV"}
    )
    assert (found.level, found.required_approvers, found.requires_approval) == ("CRITICAL", 2, True)
    assert "spends money" in found.reasons  # the catalogue's descriptor, before the desktop rules raised it
    assert preview.summarize("desktop.purchase", {"url": CHECKOUT, "item": "TV"}).startswith("Buy TV")
    typed = policy.classify(django_settings.APPROVAL_RISK_POLICY, tool="desktop.type", params={"text": "hi"})
    assert typed.requires_approval is False


def test_capabilities_refresh_replaces_the_catalogue_but_not_the_risk_floor(
    api: APIClient, remote: None, settings: Any
) -> None:
    offered = {
        "namespaces": {
            "desktop": {
                "actions": {
                    # The controller under-declares: the configured HIGH stays the floor.
                    "purchase": {"risk": "LOW", "params": {"type": "object", "required": ["sku"]}},
                    "drag": {"risk": "LOW", "params": {"type": "object", "properties": {"to": {"type": "string"}}}},
                }
            }
        }
    }
    controller = Capabilities(offered)
    try:
        settings.TASK_CONTROLLER_URL = controller.url
        settings.TASK_CONTROLLER_CAPABILITIES_TTL_SECONDS = 300
        assert (
            api.post("/api/v1/workflows", body(step("d", "desktop.drag", {"to": "x"})), format="json").status_code
            == 201
        )
        errors = fields(api.post("/api/v1/workflows", body(step("p", "desktop.purchase", {})), format="json"))
        assert "nodes[0].action.params.sku" in errors
        errors = fields(api.post("/api/v1/workflows", body(step("t", "desktop.type", {"text": "x"})), format="json"))
        assert "nodes[0].action.tool" in errors  # the controller no longer offers it
        assert controller.calls == 1  # cached for the TTL
        assert tools.get_tool("desktop.purchase").declared_risk()[0] == "HIGH"  # type: ignore[union-attr]
    finally:
        controller.server.shutdown()
        controller.server.server_close()


def test_unreachable_controller_falls_back_to_the_configured_catalogue(
    api: APIClient, remote: None, settings: Any
) -> None:
    settings.TASK_CONTROLLER_URL = "http://127.0.0.1:9"
    settings.TASK_CONTROLLER_CAPABILITIES_TTL_SECONDS = 300
    settings.TASK_CONTROLLER_TIMEOUT_SECONDS = 1
    assert (
        api.post("/api/v1/workflows", body(step("t", "desktop.type", {"text": "x"})), format="json").status_code == 201
    )


def test_catalogue_file_setting_and_malformed_documents(tmp_path: Path, settings: Any) -> None:
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps({"namespaces": {"crm": {"actions": {"update": {"risk": "MEDIUM"}}}}}))
    settings.TASK_CONTROLLER_CATALOGUE_FILE = str(path)
    assert set(catalogue.configured_catalogue()) == {"crm.update"}
    for broken, where in [
        ({"namespaces": {"x": {"actions": {"y": {"risk": "HUGE"}}}}}, "x.y.risk"),
        ({"namespaces": {"x": {"actions": {"y": {"params": {"type": "array"}}}}}}, "x.y.params"),
        ({"namespaces": {"x": {"actions": {"y": {"params": {"type": "object", "required": 3}}}}}}, "x.y.params"),
        ({"namespaces": {"x": []}}, "namespaces.x.actions"),
    ]:
        with pytest.raises(catalogue.CatalogueError, match=where.replace(".", r"\.")):
            catalogue.parse_catalogue(broken)


def test_each_node_runs_on_the_executor_it_picked(tenant: Any, settings: Any) -> None:
    """EXECUTOR_CHOICES with both: the desktop step is dispatched to the controller, the echo runs in the worker."""
    fake = FakeController()
    try:
        settings.EXECUTOR_CHOICES = ["local", "task_controller"]
        settings.TASK_CONTROLLER_URL = fake.url
        settings.INTERNAL_SERVICE_TOKEN = TOKEN
        definition = body(
            step("local", "echo", {"x": 1}),
            step("typed", "desktop.type", {"text": "hi"}, executor="task_controller"),
        )
        run = runs.create_run(tenant=tenant, definition=definition)
        runs.start_run(run=run)
        scheduler.tick(dispatch=lambda ids: None)
        outcomes = {
            attempt.node.key: runner.execute(str(attempt.pk))
            for attempt in WorkflowNodeRun.objects.filter(node__run=run).select_related("node")
        }
        assert outcomes == {"local": "completed", "typed": "dispatched"}
        [sent] = fake.dispatches()
        assert sent["body"]["action"] == {"tool": "desktop.type", "params": {"text": "hi"}}
        remote = WorkflowNodeRun.objects.get(node__run=run, node__key="typed")
        assert remote.external_task_id == str(remote.pk) and remote.lease_owner.startswith("task_controller via")
    finally:
        fake.server.shutdown()
        fake.server.server_close()
