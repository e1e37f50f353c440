"""The Python client (``client/orchestrator_client``, issue 19) against the live server (pytest-django's
``live_server``: a real HTTP server on 127.0.0.1 in this process): the generated typed layer, request_approval with
long polling, problems with their ``code``, retries that replay one Idempotency-Key, webhook verification; and the
check that the committed generated code matches the server's schema."""

from __future__ import annotations

import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from orchestrator import scheduler
from orchestrator.models import WorkflowRun
from tests.polling import poll
from webhooks import signing

CLIENT_DIR = Path(__file__).resolve().parents[2] / "client"
sys.path.insert(0, str(CLIENT_DIR))  # as `pip install ./client` would make it importable

from orchestrator_client import (  # noqa: E402
    ApprovalTimeout,
    Orchestrator,
    ProblemError,
    RetryTransport,
    Webhook,
    WebhookVerificationError,
)
from orchestrator_client.api.api.workflows import workflows_list  # noqa: E402
from orchestrator_client.api.models import PaginatedRunList  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)
NOOP = {"key": "a", "type": "TASK", "action": {"tool": "noop"}}


@pytest.fixture
def agent(live_server: Any, tenant: Any, make_api_key: Any) -> Orchestrator:
    _, key = make_api_key(tenant)
    with Orchestrator(live_server.url, key, backoff=0.05) as client:
        yield client


@pytest.fixture
def reviewer(live_server: Any, tenant: Any, make_api_key: Any) -> Orchestrator:
    _, key = make_api_key(tenant, name="reviewer")
    with Orchestrator(live_server.url, key) as client:
        yield client


def running_node(agent: Orchestrator) -> str:
    """A started run whose one TASK is RUNNING (claimed; no worker runs it here), for POST /approvals/request."""
    body = {"name": "agent", "start": True, "nodes": [{"key": "act", "type": "TASK", "action": {"tool": "noop"}}]}
    run = agent.create_workflow(body)
    scheduler.tick(dispatch=lambda ids: None)
    return str(run["id"])


def test_typed_layer_lists_workflows_into_models(agent: Orchestrator) -> None:
    created = agent.create_workflow(
        {"name": "typed", "nodes": [{"key": "a", "type": "TASK", "action": {"tool": "noop"}}]}
    )
    page = workflows_list.sync(client=agent.api)
    assert isinstance(page, PaginatedRunList)
    assert [str(run.id) for run in page.results] == [created["id"]]


def test_problems_raise_with_their_code_and_fields(agent: Orchestrator) -> None:
    bad = {"name": "bad", "nodes": [{"key": "a", "type": "TASK", "action": {"tool": "desktop.teleport"}}]}
    with pytest.raises(ProblemError) as caught:
        agent.create_workflow(bad)
    assert caught.value.status == 400 and caught.value.code == "validation_error"
    assert caught.value.errors[0]["field"] == "nodes[0].action.tool"
    with pytest.raises(ProblemError) as missing:
        agent.get_workflow("00000000-0000-0000-0000-000000000000")
    assert missing.value.code == "not_found"


@pytest.mark.parametrize(("decision", "outcome"), [("approve", "approved"), ("reject", "rejected")])
def test_request_approval_asks_then_waits_for_the_decision(
    agent: Orchestrator, reviewer: Orchestrator, decision: str, outcome: str
) -> None:
    run_id = running_node(agent)
    email = {"to": "ceo@example.com", "subject": "Q3", "body": "numbers"}
    result: dict[str, Any] = {}

    def ask() -> None:
        began = time.monotonic()
        result["decision"] = agent.request_approval(workflow_id=run_id, node_key="act", tool="email.send", params=email)
        result["elapsed"] = time.monotonic() - began

    asking = threading.Thread(target=ask, daemon=True)
    asking.start()
    pending = poll(lambda: reviewer.list_approvals(workflow_id=run_id), 20, "the approval request")
    approval_id = pending[0]["id"]
    if decision == "approve":
        reviewer.approve(approval_id, "fine")
    else:
        reviewer.reject(approval_id, "not today")
    asking.join(40)
    assert result["decision"].outcome == outcome
    assert result["decision"].approval["id"] == approval_id
    assert result["elapsed"] < 25  # woken by the decision, not by the 30 s wait running out


def test_request_approval_of_a_low_risk_action_needs_none(agent: Orchestrator) -> None:
    run_id = running_node(agent)
    decision = agent.request_approval(workflow_id=run_id, node_key="act", tool="echo", params={})
    assert (decision.outcome, decision.required, decision.approval) == ("approved", False, None)


def test_request_approval_times_out_and_refusals_carry_the_code(agent: Orchestrator) -> None:
    run_id = running_node(agent)
    with pytest.raises(ApprovalTimeout) as waited:
        agent.request_approval(workflow_id=run_id, node_key="act", tool="email.send", params={"to": "a@b.c"}, timeout=1)
    assert waited.value.approval["status"] == "PENDING"
    with pytest.raises(ProblemError) as refused:
        agent.request_approval(workflow_id=run_id, node_key="nope", tool="email.send", params={})
    assert refused.value.status in (400, 404, 409) and refused.value.code


def test_wait_for_workflow_returns_when_the_run_ends(agent: Orchestrator, reviewer: Orchestrator) -> None:
    run_id = running_node(agent)
    threading.Timer(1.0, lambda: reviewer.cancel_workflow(run_id, "stop")).start()
    began = time.monotonic()
    assert agent.wait_for_workflow(run_id, timeout=30)["status"] == "CANCELLED"
    assert time.monotonic() - began < 20


def test_submit_input_fills_a_form_and_a_decision_branches_on_it(agent: Orchestrator, reviewer: Orchestrator) -> None:
    """Issue 19: the agent's run asks a person (an INPUT step); the reviewer's client waits for the question,
    answers it, and the DECISION after it takes the branch the answer chose."""
    from django.db import connection

    from tests.orchestrator.engine_helpers import drive
    from tests.orchestrator.test_inputs import review_workflow

    def engine() -> None:
        try:
            drive()
        finally:
            connection.close()  # this thread's own connection

    run_id = str(agent.create_workflow(review_workflow())["id"])
    threading.Timer(0.5, engine).start()  # the engine reaches the step while the reviewer waits for it
    asked = reviewer.waiting_input(run_id, "review", timeout=20)
    assert asked["input"]["prompt"] == "Approve this refund?"
    assert asked["input"]["field_order"][:2] == ["approved", "amount"]
    with pytest.raises(ProblemError) as wrong:
        reviewer.submit_input(run_id, "review", {"approved": True, "amount": "lots"})
    assert wrong.value.code == "validation_error" and wrong.value.errors[0]["field"] == "values.amount"
    done = reviewer.submit_input(run_id, "review", {"approved": False, "amount": 0})
    assert done["status"] == "COMPLETED" and done["output"] == {"approved": False, "amount": 0}
    with pytest.raises(ProblemError) as again:
        reviewer.submit_input(run_id, "review", {"approved": True, "amount": 1})
    assert again.value.status == 409 and again.value.code == "input_not_waiting"
    drive()
    run = agent.wait_for_workflow(run_id, timeout=20)
    assert run["status"] == "COMPLETED"
    assert {n["key"]: n["status"] for n in run["nodes"]}["notify_rejection"] == "COMPLETED"
    assert {n["key"]: n["status"] for n in run["nodes"]}["ship"] == "SKIPPED"


class LosesFirstAnswer(httpx.BaseTransport):
    """Forwards every request to the server, but reports the first write's answer as lost (a dropped connection
    after the server acted): the client must retry with the same Idempotency-Key."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.keys: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "POST":
            self.keys.append(request.headers["Idempotency-Key"])
            if len(self.keys) == 1:
                response.read()
                raise httpx.ReadError("connection dropped", request=request)
        return response


def test_a_retried_write_replays_its_idempotency_key_and_acts_once(
    live_server: Any, tenant: Any, make_api_key: Any
) -> None:
    _, key = make_api_key(tenant)
    flaky = LosesFirstAnswer()
    with Orchestrator(live_server.url, key, transport=flaky, backoff=0.01) as client:
        created = client.create_workflow(
            {"name": "once", "nodes": [{"key": "a", "type": "TASK", "action": {"tool": "noop"}}]}
        )
    assert len(flaky.keys) == 2 and flaky.keys[0] == flaky.keys[1]
    assert list(WorkflowRun.objects.filter(tenant=tenant).values_list("id", flat=True)) == [uuid.UUID(created["id"])]


def test_retry_transport_backs_off_on_503_then_gives_up() -> None:
    calls: list[str] = []
    pauses: list[float] = []

    def always_busy(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers.get("Idempotency-Key", ""))
        return httpx.Response(503, headers={"Retry-After": "1"})

    transport = RetryTransport(httpx.MockTransport(always_busy), retries=3, sleep=pauses.append)
    with httpx.Client(transport=transport, base_url="http://orchestrator.test") as http:
        assert http.post("/api/v1/workflows", json={}).status_code == 503
    assert len(calls) == 4 and len(set(calls)) == 1 and calls[0]
    assert pauses == [1.0, 1.0, 1.0]


def test_webhook_verifier_accepts_the_servers_signature_and_refuses_tampering() -> None:
    secret = signing.generate_secret()
    body = b'{"id": "evt_1", "type": "approval.requested", "data": {}}'
    now = int(time.time())
    headers = signing.headers_for([signing.generate_secret(), secret], message_id="msg_1", timestamp=now, body=body)
    assert Webhook(secret).verify(body, headers)["type"] == "approval.requested"
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b"requested", b"approved"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, headers, now=now + 3600)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.generate_secret()).verify(body, headers)


@pytest.mark.slow
def test_generated_client_matches_the_servers_schema() -> None:
    """CI fails when the API changed and `make client` was not run (schema or generated code drifted)."""
    sys.path.insert(0, str(CLIENT_DIR))
    import generate

    assert generate.check() == []
