"""``/api/v1/workflows`` through HTTP: the SPEC §3.1 example, validation errors, filters, transitions, tenancy."""

from __future__ import annotations

import copy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core import mail
from rest_framework.test import APIClient

from orchestrator.models import Scope, WorkflowRun
from tests.conftest import assert_problem
from workspaces.models import Workspace

from .engine_helpers import definition, drive, task

pytestmark = pytest.mark.django_db

SPEC_EXAMPLE: dict[str, Any] = {
    "name": "Quarterly invoice run",
    "description": "…",
    "workspace_id": None,
    "metadata": {},
    "start": False,
    "nodes": [
        {
            "key": "fetch",
            "type": "TASK",
            "name": "Fetch invoices",
            "action": {"tool": "http.request", "params": {"method": "GET", "url": "https://…"}},
            "retry": {"max_attempts": 3, "backoff_seconds": 5, "max_backoff_seconds": 300},
            "timeout_seconds": 600,
        },
        {
            "key": "check",
            "type": "DECISION",
            "depends_on": ["fetch"],
            "conditions": [{"when": {"path": "fetch.output.count", "op": "gt", "value": 0}, "then": "send"}],
            "default": "skip_notice",
        },
        {
            "key": "send",
            "type": "TASK",
            "depends_on": ["check"],
            "action": {"tool": "email.send", "params": {"to": "…", "subject": "…", "body": "…"}},
        },
        {"key": "skip_notice", "type": "TASK", "depends_on": ["check"], "action": {"tool": "noop", "params": {}}},
        {"key": "fanout", "type": "PARALLEL", "depends_on": ["send"], "branches": ["a", "b"]},
        {"key": "pause", "type": "WAIT", "depends_on": ["fetch"], "wait": {"seconds": 30}},
    ],
}


class InvoiceHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"count": 2, "invoices": ["i1", "i2"]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def invoice_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), InvoiceHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/invoices"
    server.shutdown()
    server.server_close()


def test_spec_example_as_printed_names_its_placeholders(api: APIClient) -> None:
    """The example in SPEC §3.1 elides parts ("…" as an e-mail address, branches a and b that are not defined):
    each one is reported with its path. ("https://…" is a syntactically valid URL; it fails closed at run time.)"""
    body = assert_problem(api.post("/api/v1/workflows", SPEC_EXAMPLE, format="json"), 400, "validation_error")
    fields = {e["field"] for e in body["errors"]}
    assert {
        "nodes[2].action.params.to",
        "nodes[4].branches[0]",
        "nodes[4].branches[1]",
    } <= fields
    assert not WorkflowRun.objects.exists()  # atomic: nothing stored


def test_spec_example_completed_runs_to_completion(
    api: APIClient, invoice_server: str, settings, tenant, key_client
) -> None:
    """The SPEC example end to end over HTTP: e-mail is HIGH risk, so the run waits for an approval that a second
    key (not the requester) grants through the approvals API, and then runs to COMPLETED."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    body = copy.deepcopy(SPEC_EXAMPLE)
    body["description"] = "Fetch, decide, notify"
    body["nodes"][0]["action"]["params"]["url"] = invoice_server
    body["nodes"][2]["action"]["params"] = {"to": "billing@example.com", "subject": "Invoices", "body": "Sent."}
    body["nodes"][5]["wait"] = {"seconds": 0}
    body["nodes"] += [task("a"), task("b")]
    body["start"] = True
    response = api.post("/api/v1/workflows", body, format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["status"] == "RUNNING"
    assert [n["key"] for n in created["nodes"]] == [n["key"] for n in body["nodes"]]  # definition order
    drive()
    waiting = api.get(f"/api/v1/workflows/{created['id']}").json()
    assert waiting["status"] == "RUNNING"
    assert {n["key"]: n["status"] for n in waiting["nodes"]}["send"] == "WAITING_APPROVAL"
    assert not mail.outbox
    reviewer = key_client(tenant, [Scope.APPROVALS_DECIDE])
    pending = reviewer.get("/api/v1/approvals", {"status": "PENDING"}).json()["results"]
    assert [(p["tool"], p["node_key"]) for p in pending] == [("email.send", "send")]
    # The requester (the key that started the run) may not approve its own action.
    assert_problem(
        api.post(f"/api/v1/approvals/{pending[0]['id']}/approve", {}, format="json"), 403, "self_approval_forbidden"
    )
    approved = reviewer.post(f"/api/v1/approvals/{pending[0]['id']}/approve", {"reason": "ok"}, format="json")
    assert approved.status_code == 200, approved.json()
    assert approved.json()["status"] == "APPROVED"
    drive()
    detail = api.get(f"/api/v1/workflows/{created['id']}").json()
    nodes = {n["key"]: n for n in detail["nodes"]}
    assert detail["status"] == "COMPLETED", detail
    assert reviewer.get(f"/api/v1/approvals/{pending[0]['id']}").json()["status"] == "EXECUTED"
    assert nodes["fetch"]["output"] == {"count": 2, "invoices": ["i1", "i2"]}
    assert nodes["check"]["output"] == {"branch": "send", "matched": 0}
    assert nodes["skip_notice"]["status"] == "SKIPPED"
    assert nodes["a"]["status"] == nodes["b"]["status"] == "COMPLETED"
    assert mail.outbox[0].to == ["billing@example.com"]
    node = api.get(f"/api/v1/workflows/{created['id']}/nodes/fetch").json()
    assert node["node_runs"][0]["attempt"] == 1
    assert node["node_runs"][0]["status"] == "COMPLETED"
    assert node["node_runs"][0]["input"]["tool"] == "http.request"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b.update(colour="red"), "colour"),
        (lambda b: b["nodes"].append(task("a")), "nodes[1].key"),
        (lambda b: b["nodes"][0].update(depends_on=["nope"]), "nodes[0].depends_on[0]"),
        (lambda b: b["nodes"][0].update(typo=1), "nodes[0].typo"),
        (lambda b: b["nodes"][0]["action"].update(tool="rm -rf"), "nodes[0].action.tool"),
        (lambda b: b.update(nodes=[]), "nodes"),
        (lambda b: b.update(workspace_id="not-a-workspace"), "workspace_id"),
    ],
)
def test_validation_errors_are_400_with_field_paths(api: APIClient, mutate, field: str) -> None:
    body = definition(task("a"))
    mutate(body)
    problem = assert_problem(api.post("/api/v1/workflows", body, format="json"), 400, "validation_error")
    assert field in [e["field"] for e in problem["errors"]], problem


def test_cycle_is_a_400_naming_the_cycle(api: APIClient) -> None:
    body = definition(task("a", depends_on=["b"]), task("b", depends_on=["a"]))
    problem = assert_problem(api.post("/api/v1/workflows", body, format="json"), 400, "validation_error")
    assert "a → b → a" in problem["errors"][0]["message"]


@pytest.mark.parametrize("payload", ["[1, 2]", '"text"', "{not json", "null"])
def test_junk_bodies_are_400_not_500(api: APIClient, payload: str) -> None:
    response = api.post("/api/v1/workflows", payload, content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")


def test_workspace_of_another_tenant_is_refused(api: APIClient, tenant, other_tenant) -> None:
    theirs = Workspace.objects.create(tenant=other_tenant, name="theirs")
    mine = Workspace.objects.create(tenant=tenant, name="mine")
    problem = assert_problem(
        api.post("/api/v1/workflows", definition(task("a"), workspace_id=str(theirs.pk)), format="json"),
        400,
        "validation_error",
    )
    assert problem["errors"][0]["field"] == "workspace_id"
    created = api.post("/api/v1/workflows", definition(task("a"), workspace_id=str(mine.pk)), format="json").json()
    assert created["workspace_id"] == str(mine.pk)
    assert created["workspace"]["name"] == "mine"
    listed = api.get(f"/api/v1/workflows?workspace_id={mine.pk}").json()["results"]
    assert [r["id"] for r in listed] == [created["id"]]


def test_list_filters(api: APIClient) -> None:
    first = api.post("/api/v1/workflows", definition(task("a"), name="Invoices Q1"), format="json").json()
    second = api.post("/api/v1/workflows", definition(task("a"), name="Payroll", start=True), format="json").json()
    assert [r["id"] for r in api.get("/api/v1/workflows?status=RUNNING").json()["results"]] == [second["id"]]
    assert [r["id"] for r in api.get("/api/v1/workflows?name=invoice").json()["results"]] == [first["id"]]
    after = api.get("/api/v1/workflows", {"created_after": first["created_at"]}).json()["results"]
    assert {r["id"] for r in after} == {first["id"], second["id"]}
    before = api.get("/api/v1/workflows", {"created_before": second["created_at"]}).json()["results"]
    assert [r["id"] for r in before] == [first["id"]]
    assert_problem(api.get("/api/v1/workflows?status=BOGUS"), 400, "validation_error")
    assert_problem(api.get("/api/v1/workflows?created_after=yesterday"), 400, "validation_error")
    assert_problem(api.get("/api/v1/workflows?workspace_id=zzz"), 400, "validation_error")


def test_start_cancel_and_their_409s(api: APIClient) -> None:
    run = api.post("/api/v1/workflows", definition(task("a")), format="json").json()
    assert api.get(f"/api/v1/workflows/{run['id']}").json()["status"] == "PENDING"
    started = api.post(f"/api/v1/workflows/{run['id']}/start")
    assert started.status_code == 200
    assert started.json()["status"] == "RUNNING"
    assert started.json()["started_by"]["type"] == "api_key"
    assert_problem(api.post(f"/api/v1/workflows/{run['id']}/start"), 409, "invalid_state")
    cancelled = api.post(f"/api/v1/workflows/{run['id']}/cancel", {"reason": "no longer needed"}, format="json")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "CANCELLED"
    assert cancelled.json()["nodes"][0]["status"] == "CANCELLED"
    assert_problem(api.post(f"/api/v1/workflows/{run['id']}/cancel", {}, format="json"), 409, "invalid_state")
    assert_problem(api.post(f"/api/v1/workflows/{run['id']}/start"), 409, "invalid_state")


def test_retry_endpoint(api: APIClient) -> None:
    run = api.post("/api/v1/workflows", definition(task("bad", "fail"), start=True), format="json").json()
    assert_problem(api.post(f"/api/v1/workflows/{run['id']}/nodes/bad/retry"), 409, "invalid_state")
    drive()
    assert api.get(f"/api/v1/workflows/{run['id']}").json()["status"] == "FAILED"
    retried = api.post(f"/api/v1/workflows/{run['id']}/nodes/bad/retry")
    assert retried.status_code == 200
    assert retried.json()["status"] == "RUNNING"
    assert_problem(api.post(f"/api/v1/workflows/{run['id']}/nodes/ghost/retry"), 404, "not_found")
    drive()
    node = api.get(f"/api/v1/workflows/{run['id']}/nodes/bad").json()
    assert [r["attempt"] for r in node["node_runs"]] == [1, 2]


def test_other_tenants_runs_are_404(api: APIClient, other_tenant, key_client) -> None:
    theirs = key_client(other_tenant).post("/api/v1/workflows", definition(task("a")), format="json").json()
    assert_problem(api.get(f"/api/v1/workflows/{theirs['id']}"), 404, "not_found")
    assert_problem(api.post(f"/api/v1/workflows/{theirs['id']}/start"), 404, "not_found")
    assert_problem(api.get(f"/api/v1/workflows/{theirs['id']}/nodes/a"), 404, "not_found")
    assert_problem(api.get("/api/v1/workflows/not-a-uuid"), 404, "not_found")
    assert api.get("/api/v1/workflows").json()["results"] == []


def test_unknown_node_is_404(api: APIClient) -> None:
    run = api.post("/api/v1/workflows", definition(task("a")), format="json").json()
    assert_problem(api.get(f"/api/v1/workflows/{run['id']}/nodes/zzz"), 404, "not_found")


def test_scope_is_required(tenant, key_client) -> None:
    client = key_client(tenant, [Scope.AUDIT])
    assert_problem(client.get("/api/v1/workflows"), 403)
    assert_problem(client.post("/api/v1/workflows", definition(task("a")), format="json"), 403)


def test_viewer_reads_but_cannot_create(tenant, member_client) -> None:
    viewer = member_client(tenant, "viewer")
    assert viewer.get("/api/v1/workflows").status_code == 200
    assert_problem(viewer.post("/api/v1/workflows", definition(task("a")), format="json"), 403)


def test_operator_person_creates(tenant, member_client) -> None:
    operator = member_client(tenant, "operator")
    response = operator.post("/api/v1/workflows", definition(task("a")), format="json")
    assert response.status_code == 201
    assert response.json()["created_by"]["type"] == "user"


def test_detail_query_count_does_not_grow_with_nodes(api: APIClient, django_assert_max_num_queries) -> None:
    run = api.post("/api/v1/workflows", definition(*[task(f"n{i}") for i in range(30)]), format="json").json()
    with django_assert_max_num_queries(8):
        assert len(api.get(f"/api/v1/workflows/{run['id']}").json()["nodes"]) == 30


def test_idempotent_create(api: APIClient) -> None:
    body = definition(task("a"))
    first = api.post("/api/v1/workflows", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    second = api.post("/api/v1/workflows", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.json()["id"] == second.json()["id"]
    assert WorkflowRun.objects.count() == 1


def test_schema_lists_the_workflow_endpoints(api: APIClient) -> None:
    schema = api.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()  # by Accept: no ?format=
    paths = schema["paths"]
    for path in (
        "/api/v1/workflows",
        "/api/v1/workflows/{id}",
        "/api/v1/workflows/{id}/start",
        "/api/v1/workflows/{id}/cancel",
        "/api/v1/workflows/{id}/nodes/{key}",
        "/api/v1/workflows/{id}/nodes/{key}/retry",
        "/api/v1/internal/node-runs/{node_run_id}/result",
    ):
        assert path in paths, sorted(paths)
