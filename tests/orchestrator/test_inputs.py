"""INPUT nodes (issue 19) over the API: a reviewer's values become the node's output and a DECISION branches on
them; the form is validated (400 naming the field), who may submit (403), tenancy (404), state (409), expiry with
an injected clock (FAILED ``input_expired``, or the default), events, Idempotency-Key and ``?wait=``."""

from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditLog
from orchestrator import scheduler
from orchestrator.lib import waiting
from orchestrator.models import Role, Scope, WorkflowNode, WorkflowRun
from tests.approvals.helpers import run_concurrently
from tests.conftest import assert_problem
from tests.orchestrator.test_waiting import Waiter
from tests.polling import poll
from webhooks.models import WebhookDelivery

from .engine_helpers import drive, task

pytestmark = pytest.mark.django_db

FORM: dict[str, Any] = {
    "type": "object",
    "properties": {
        "approved": {"type": "boolean", "title": "Approve the refund"},
        "amount": {"type": "number", "title": "Amount", "minimum": 0, "maximum": 10000},
        "reason": {"type": "string", "title": "Reason", "x-multiline": True, "maxLength": 2000},
        "channel": {"type": "string", "title": "Channel", "enum": ["email", "phone"]},
    },
    "required": ["approved", "amount"],
}


def review_workflow(**review: Any) -> dict[str, Any]:
    """review (INPUT) → decide (DECISION on review.output.approved) → ship | notify_rejection (TASKs)."""
    node = {
        "key": "review",
        "type": "INPUT",
        "prompt": "Approve this refund?",
        "form": copy.deepcopy(FORM),
        "due_in_minutes": 60,
        **review,
    }
    return {
        "name": "refund review",
        "start": True,
        "nodes": [
            node,
            {
                "key": "decide",
                "type": "DECISION",
                "depends_on": ["review"],
                "conditions": [{"when": {"path": "review.output.approved", "op": "eq", "value": True}, "then": "ship"}],
                "default": "notify_rejection",
            },
            task("ship", depends_on=["decide"]),
            task("notify_rejection", depends_on=["decide"]),
        ],
    }


def start(api: APIClient, body: dict[str, Any]) -> str:
    created = api.post("/api/v1/workflows", body, format="json")
    assert created.status_code == 201, created.json()
    drive()
    return str(created.json()["id"])


def submit(client: APIClient, run_id: str, values: Any, key: str = "review", **headers: str) -> Any:
    return client.post(f"/api/v1/workflows/{run_id}/nodes/{key}/input", {"values": values}, format="json", **headers)


def node_of(api: APIClient, run_id: str, key: str) -> dict[str, Any]:
    return next(n for n in api.get(f"/api/v1/workflows/{run_id}").json()["nodes"] if n["key"] == key)


def statuses(run_id: str) -> dict[str, str]:
    return dict(WorkflowNode.objects.filter(run_id=run_id).values_list("key", "status"))


def test_a_reviewer_submits_and_the_decision_branches_on_the_value(api: APIClient, tenant, member_client) -> None:
    run_id = start(api, review_workflow())
    review = node_of(api, run_id, "review")
    assert review["status"] == "WAITING"
    assert review["input"]["prompt"] == "Approve this refund?"
    assert review["input"]["form"] == FORM
    assert review["input"]["field_order"] == ["approved", "amount", "reason", "channel"]  # as written
    assert review["input"]["groups"] == [] and review["input"]["has_default"] is False
    assert review["input"]["submitted_by"] is None
    due = review["input"]["due_at"]
    assert timezone.now() + timedelta(minutes=59) < timezone.datetime.fromisoformat(due.replace("Z", "+00:00"))
    assert node_of(api, run_id, "ship")["input"] is None  # other types have no input

    reviewer = member_client(tenant, Role.REVIEWER)
    answered = submit(reviewer, run_id, {"approved": True, "amount": 120.5, "reason": "line one\nline two"})
    assert answered.status_code == 200, answered.json()
    body = answered.json()
    assert body["status"] == "COMPLETED"
    assert body["output"] == {"approved": True, "amount": 120.5, "reason": "line one\nline two"}
    assert body["input"]["submitted_by"]["id"] == str(reviewer.user.pk)
    drive()
    assert statuses(run_id) == {
        "review": "COMPLETED",
        "decide": "COMPLETED",
        "ship": "COMPLETED",
        "notify_rejection": "SKIPPED",
    }
    assert WorkflowRun.objects.get(pk=run_id).status == "COMPLETED"
    requested = AuditLog.objects.get(action="input.requested")
    assert requested.resource_id == str(WorkflowNode.objects.get(run_id=run_id, key="review").pk)
    submitted = AuditLog.objects.get(action="input.submitted")
    assert submitted.actor_id == str(reviewer.user.pk)


def test_the_other_value_takes_the_other_branch(api: APIClient, tenant, member_client) -> None:
    run_id = start(api, review_workflow())
    assert submit(member_client(tenant, Role.OPERATOR), run_id, {"approved": False, "amount": 0}).status_code == 200
    drive()
    assert statuses(run_id)["ship"] == "SKIPPED"
    assert statuses(run_id)["notify_rejection"] == "COMPLETED"


def test_values_that_do_not_fit_the_form_are_a_400_naming_each_field(api: APIClient, tenant, member_client) -> None:
    run_id = start(api, review_workflow())
    reviewer = member_client(tenant, Role.REVIEWER)
    body = assert_problem(
        submit(reviewer, run_id, {"approved": "yes", "amount": -1, "channel": "fax", "extra": 1}),
        400,
        "validation_error",
    )
    fields = {e["field"]: e["message"] for e in body["errors"]}
    assert set(fields) == {"values.approved", "values.amount", "values.channel", "values.extra"}
    assert fields["values.amount"] == "At least 0."
    assert "email, phone" in fields["values.channel"]
    missing = assert_problem(submit(reviewer, run_id, {"amount": 3}), 400, "validation_error")
    assert missing["errors"] == [{"field": "values.approved", "message": "Required."}]
    not_object = assert_problem(submit(reviewer, run_id, ["x"]), 400, "validation_error")
    assert not_object["errors"][0]["field"] == "values"
    no_values = reviewer.post(f"/api/v1/workflows/{run_id}/nodes/review/input", {"approved": True}, format="json")
    assert assert_problem(no_values, 400, "validation_error")["errors"][0]["field"] == "values"
    assert statuses(run_id)["review"] == "WAITING"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"form": {"type": "array"}}, "nodes[0].form.type"),
        ({"form": {"type": "object", "properties": {"f": {"type": "array"}}}}, "nodes[0].form.properties.f.type"),
        (
            {"form": {"type": "object", "properties": {"f": {"type": "string", "minimum": 1}}}},
            "nodes[0].form.properties.f.minimum",
        ),
        ({"form": {"type": "object", "properties": {"a b": {"type": "string"}}}}, "nodes[0].form.properties.a b"),
        (
            {"form": {"type": "object", "properties": {"f": {"type": "string"}}, "required": ["g"]}},
            "nodes[0].form.required[0]",
        ),
        (
            {"form": {"type": "object", "properties": {"f": {"type": "integer", "enum": [1, "x"]}}}},
            "nodes[0].form.properties.f.enum[1]",
        ),
        (
            {"form": {"type": "object", "properties": {"f": {"type": "string", "pattern": "(a+)+$"}}}},
            "nodes[0].form.properties.f.pattern",
        ),
        ({"prompt": ""}, "nodes[0].prompt"),
        ({"due_in_minutes": 0}, "nodes[0].due_in_minutes"),
        ({"due_in_minutes": 366 * 24 * 60 + 1}, "nodes[0].due_in_minutes"),
        ({"assignees": {"groups": [""]}}, "nodes[0].assignees.groups[0]"),
        ({"assignees": {"users": ["x"]}}, "nodes[0].assignees.users"),
        ({"default": {"approved": "no", "amount": 1}}, "nodes[0].default.approved"),
        ({"default": {"amount": 1}}, "nodes[0].default.approved"),
    ],
)
def test_an_invalid_input_node_is_a_400_naming_the_field(api: APIClient, change: dict[str, Any], field: str) -> None:
    body = review_workflow(**change)
    errors = assert_problem(api.post("/api/v1/workflows", body, format="json"), 400, "validation_error")["errors"]
    assert field in {e["field"] for e in errors}, errors


def test_only_members_of_the_assigned_groups_submit(api: APIClient, tenant, member_client, key_client) -> None:
    run_id = start(api, review_workflow(assignees={"groups": ["finance"]}))
    assert node_of(api, run_id, "review")["input"]["groups"] == ["finance"]
    outsider = member_client(tenant, Role.REVIEWER)
    refused = assert_problem(submit(outsider, run_id, {"approved": True, "amount": 1}), 403, "not_input_assignee")
    assert "finance" in refused["detail"]
    service_key = key_client(tenant, [Scope.APPROVALS_DECIDE, Scope.WORKFLOWS])  # not a person: not in a group
    assert_problem(submit(service_key, run_id, {"approved": True, "amount": 1}), 403, "not_input_assignee")
    viewer = member_client(tenant, Role.VIEWER)
    viewer.user.groups.add(Group.objects.get_or_create(name="finance")[0])
    assert_problem(submit(viewer, run_id, {"approved": True, "amount": 1}), 403, "permission_denied")
    member = member_client(tenant, Role.REVIEWER)
    member.user.groups.add(Group.objects.get_or_create(name="finance")[0])
    assert submit(member, run_id, {"approved": True, "amount": 1}).status_code == 200
    assert AuditLog.objects.filter(action="input.submitted").count() == 1


def test_without_groups_any_reviewer_or_deciding_key_submits_but_not_a_workflows_key(
    api: APIClient, tenant, key_client
) -> None:
    run_id = start(api, review_workflow())
    workflows_only = key_client(tenant, [Scope.WORKFLOWS])
    assert_problem(submit(workflows_only, run_id, {"approved": True, "amount": 1}), 403, "permission_denied")
    decider = key_client(tenant, [Scope.APPROVALS_DECIDE])  # reads no workflows, yet may fill the form
    answered = submit(decider, run_id, {"approved": True, "amount": 1})
    assert answered.status_code == 200, answered.json()
    assert answered.json()["input"]["submitted_by"]["type"] == "api_key"


def test_another_tenant_or_an_unknown_step_is_a_404(api: APIClient, tenant, other_tenant, member_client) -> None:
    run_id = start(api, review_workflow())
    stranger = member_client(other_tenant, Role.OPERATOR)
    assert_problem(submit(stranger, run_id, {"approved": True, "amount": 1}), 404, "not_found")
    reviewer = member_client(tenant, Role.REVIEWER)
    assert_problem(submit(reviewer, run_id, {"approved": True}, key="nope"), 404, "not_found")
    assert_problem(submit(reviewer, "not-a-uuid", {"approved": True}), 404)


def test_a_step_not_waiting_for_input_is_a_409(api: APIClient, tenant, member_client) -> None:
    body = review_workflow()
    body["nodes"].insert(0, {"key": "pause", "type": "WAIT", "wait": {"seconds": 3600}})
    body["nodes"][1]["depends_on"] = ["pause"]
    run_id = start(api, body)
    reviewer = member_client(tenant, Role.REVIEWER)
    not_yet = assert_problem(submit(reviewer, run_id, {"approved": True, "amount": 1}), 409, "input_not_waiting")
    assert not_yet["node_status"] == "PENDING"
    assert_problem(submit(reviewer, run_id, {}, key="ship"), 409, "input_not_waiting")  # a TASK takes no input


def test_a_second_submission_is_a_409_and_changes_nothing(api: APIClient, tenant, member_client) -> None:
    run_id = start(api, review_workflow())
    reviewer = member_client(tenant, Role.REVIEWER)
    assert submit(reviewer, run_id, {"approved": True, "amount": 1}).status_code == 200
    assert_problem(submit(reviewer, run_id, {"approved": False, "amount": 2}), 409, "input_not_waiting")
    assert WorkflowNode.objects.get(run_id=run_id, key="review").output == {"approved": True, "amount": 1}


def test_the_same_idempotency_key_replays_the_submission(api: APIClient, tenant, member_client) -> None:
    run_id = start(api, review_workflow())
    reviewer = member_client(tenant, Role.REVIEWER)
    values = {"approved": True, "amount": 1}
    first = submit(reviewer, run_id, values, HTTP_IDEMPOTENCY_KEY="refund-1")
    again = submit(reviewer, run_id, values, HTTP_IDEMPOTENCY_KEY="refund-1")
    assert first.status_code == again.status_code == 200
    assert again["Idempotency-Replayed"] == "true"
    assert again.json() == first.json()
    assert AuditLog.objects.filter(action="input.submitted").count() == 1


def test_past_the_due_time_the_step_fails_with_input_expired(api: APIClient, tenant, member_client) -> None:
    run_id = start(api, review_workflow(due_in_minutes=30))
    reviewer = member_client(tenant, Role.REVIEWER)
    with time_machine.travel(timezone.now() + timedelta(minutes=31), tick=False):
        # Overdue but not yet expired by the scheduler: refused, and the refusal writes nothing.
        assert_problem(submit(reviewer, run_id, {"approved": True, "amount": 1}), 409, "input_expired")
        assert statuses(run_id)["review"] == "WAITING"
        scheduler.tick(dispatch=lambda ids: None)
    review = WorkflowNode.objects.get(run_id=run_id, key="review")
    assert review.status == "FAILED" and review.error.startswith("input_expired")
    assert review.submitted_by is None
    run = WorkflowRun.objects.get(pk=run_id)
    assert run.status == "FAILED"
    assert statuses(run_id)["ship"] == "CANCELLED"
    expired = AuditLog.objects.get(action="input.expired")
    assert expired.resource_id == str(review.pk)
    assert_problem(submit(reviewer, run_id, {"approved": True, "amount": 1}), 409, "input_not_waiting")


def test_past_the_due_time_a_declared_default_is_taken(api: APIClient, tenant) -> None:
    run_id = start(api, review_workflow(due_in_minutes=5, default={"approved": True, "amount": 0}))
    assert node_of(api, run_id, "review")["input"]["has_default"] is True
    with time_machine.travel(timezone.now() + timedelta(minutes=6), tick=False):
        scheduler.tick(dispatch=lambda ids: None)
    drive()
    review = WorkflowNode.objects.get(run_id=run_id, key="review")
    assert review.status == "COMPLETED" and review.output == {"approved": True, "amount": 0}
    assert statuses(run_id)["ship"] == "COMPLETED" and statuses(run_id)["notify_rejection"] == "SKIPPED"
    assert Counter(AuditLog.objects.values_list("action", flat=True))["input.expired"] == 1


def test_webhooks_subscribed_to_the_input_events_get_them(api: APIClient, tenant, member_client) -> None:
    listed = {row["type"] for row in api.get("/api/v1/webhooks/event-types").json()["results"]}
    assert {"input.requested", "input.submitted", "input.expired"} <= listed
    events = ["input.requested", "input.submitted"]
    hook = api.post("/api/v1/webhooks", {"url": "https://hooks.example.com/in", "events": events}, format="json")
    assert hook.status_code == 201, hook.json()
    run_id = start(api, review_workflow(assignees={"groups": []}))
    reviewer = member_client(tenant, Role.REVIEWER)
    assert submit(reviewer, run_id, {"approved": True, "amount": 7}).status_code == 200
    rows = {row.event_type: json.loads(row.body) for row in WebhookDelivery.objects.filter(tenant=tenant)}
    assert set(rows) == {"input.requested", "input.submitted"}
    asked = rows["input.requested"]["data"]
    assert asked["run_id"] == run_id and asked["node_key"] == "review" and asked["prompt"] == "Approve this refund?"
    answered = rows["input.submitted"]["data"]
    assert answered["values"] == {"approved": True, "amount": 7}
    assert answered["submitted_by"]["id"] == str(reviewer.user.pk)


def test_an_expired_input_can_be_retried_and_asks_again(api: APIClient, tenant, member_client) -> None:
    run_id = start(api, review_workflow(due_in_minutes=10))
    with time_machine.travel(timezone.now() + timedelta(minutes=11), tick=False):
        scheduler.tick(dispatch=lambda ids: None)
    assert WorkflowRun.objects.get(pk=run_id).status == "FAILED"
    assert api.post(f"/api/v1/workflows/{run_id}/nodes/review/retry").status_code == 200
    drive()
    review = node_of(api, run_id, "review")
    assert review["status"] == "WAITING" and review["input"]["due_at"] is not None
    assert submit(member_client(tenant, Role.REVIEWER), run_id, {"approved": True, "amount": 1}).status_code == 200
    drive()
    assert WorkflowRun.objects.get(pk=run_id).status == "COMPLETED"
    assert AuditLog.objects.filter(action="input.requested").count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_submission_wakes_a_waiting_read_of_the_run(api: APIClient, tenant, key_client, member_client) -> None:
    run_id = start(api, review_workflow())
    waiter = Waiter(key_client(tenant), f"/api/v1/workflows/{run_id}?wait=25")
    waiter.start()
    poll(lambda: waiting.hub.waiting() == 1, 10, "the request waiting")
    assert submit(member_client(tenant, Role.REVIEWER), run_id, {"approved": True, "amount": 1}).status_code == 200
    waiter.join(30)
    review = next(n for n in waiter.response.json()["nodes"] if n["key"] == "review")
    assert review["status"] == "COMPLETED"
    assert waiter.elapsed < 4, waiter.elapsed


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_have_exactly_one_winner(api: APIClient, tenant, make_api_key) -> None:
    run_id = start(api, review_workflow())
    keys = [make_api_key(tenant, [Scope.APPROVALS_DECIDE], name=f"reviewer-{i}")[1] for i in range(12)]

    def send(i: int) -> tuple[int, str | None]:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {keys[i]}")
        response = submit(client, run_id, {"approved": i % 2 == 0, "amount": i})
        return response.status_code, response.json().get("code")

    results = Counter(run_concurrently([lambda i=i: send(i) for i in range(12)]))
    assert results[(200, None)] == 1, results
    assert results[(409, "input_not_waiting")] == 11, results
    assert AuditLog.objects.filter(action="input.submitted").count() == 1
    review = WorkflowNode.objects.get(run_id=run_id, key="review")
    winner = review.output
    assert review.submitted_by is not None and review.submitted_by["display"]
    drive()
    branch = "ship" if winner["approved"] else "notify_rejection"
    assert statuses(run_id)[branch] == "COMPLETED"
    assert WorkflowRun.objects.get(pk=run_id).status == "COMPLETED"
