"""The compiled renderer (orchestrator/lib/represent.py) and the raw run-detail read (orchestrator/lib/rawsql.py)
answer exactly what DRF's serializers and the ORM would: every list endpoint that uses them is compared row by row
with ``Serializer(obj).data``, and the run detail with the ORM-prefetched run."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from approvals.api.serializers import ApprovalSerializer
from approvals.models import ApprovalRequest
from audit.api.serializers import AuditLogSerializer
from audit.models import AuditLog
from orchestrator import selectors
from orchestrator.api.serializers import ApiKeySerializer
from orchestrator.api.workflows import RunDetailSerializer, RunSerializer
from orchestrator.lib.auth import caller_for_api_key
from orchestrator.lib.represent import represent, represent_many
from orchestrator.models import ApiKey, NodeStatus, Role, Scope, WorkflowNode, WorkflowRun
from tests.console.helpers import pending_approval
from webhooks.api.serializers import WebhookEndpointSerializer
from webhooks.models import WebhookEndpoint
from workspaces.api.serializers import WorkspaceSerializer
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db

WORKFLOW = {
    "name": "render me",
    "description": "with every kind of field",
    "metadata": {"nested": {"list": [1, 2.5, None, "ü"]}},
    "nodes": [
        {"key": "fetch", "type": "TASK", "action": {"tool": "echo", "params": {"x": 1}}},
        {"key": "send", "type": "TASK", "depends_on": ["fetch"], "requires_approval": True,
         "action": {"tool": "email.send", "params": {"to": "a@example.com", "subject": "s", "body": "b"}}},
        {"key": "wait", "type": "WAIT", "depends_on": ["send"], "wait": {"seconds": 5}},
    ],
}  # fmt: skip


def as_json(data: Any) -> Any:
    """What a client receives: DRF's ReturnDict/OrderedDict and our dicts compare equal once rendered."""
    return json.loads(JSONRenderer().render(data))


@pytest.fixture
def populated(tenant, api, key_client) -> dict[str, Any]:
    workspace = api.post("/api/v1/workspaces", {"name": "desk"}, format="json")
    assert workspace.status_code in (200, 201, 202), workspace.content
    created = api.post("/api/v1/workflows", {**WORKFLOW, "workspace_id": workspace.json()["id"]}, format="json")
    assert created.status_code == 201, created.content
    plain = api.post("/api/v1/workflows", {**WORKFLOW, "name": "no workspace"}, format="json")
    assert plain.status_code == 201, plain.content
    # Values of every shape on a node: output, error, timestamps.
    WorkflowNode.objects.filter(run_id=created.json()["id"], key="fetch").update(
        status=NodeStatus.COMPLETED, output={"ok": True, "n": [1, 2]}, started_at=timezone.now(),
        finished_at=timezone.now(), attempts=1,
    )  # fmt: skip
    WorkflowNode.objects.filter(run_id=plain.json()["id"], key="fetch").update(
        status=NodeStatus.FAILED, error="boom: ünïcode", attempts=3
    )
    # Approvals: one pending, one rejected (decided_at, decision_reason set).
    pending_approval(tenant)
    rejected = pending_approval(tenant, note="second")
    decider = key_client(tenant, [Scope.APPROVALS_DECIDE])
    answer = decider.post(f"/api/v1/approvals/{rejected.pk}/reject", {"reason": "not now"}, format="json")
    assert answer.status_code == 200, answer.content
    hook = api.post("/api/v1/webhooks", {"url": "https://hooks.example.com/x", "events": ["*"]}, format="json")
    assert hook.status_code == 201, hook.content
    return {"runs": [created.json()["id"], plain.json()["id"]]}


@pytest.mark.parametrize("run_index", [0, 1], ids=["with-workspace", "without-workspace"])
def test_run_detail_equals_the_orm_and_drf_rendering(tenant, make_api_key, populated, run_index) -> None:
    api_key, _ = make_api_key(tenant)
    caller = caller_for_api_key(api_key)
    run_id = populated["runs"][run_index]
    orm_run = selectors.run_detail_for(caller).get(pk=run_id)
    raw_run = selectors.get_run_detail_for(caller, run_id)
    selectors.annotate_approval_facts(orm_run, orm_run.nodes.all())
    selectors.annotate_approval_facts(raw_run, raw_run.nodes.all())
    assert as_json(represent(RunDetailSerializer, raw_run)) == as_json(RunDetailSerializer(orm_run).data)


def test_run_detail_of_another_tenant_or_a_bad_id_is_not_found(tenant, other_tenant, make_api_key, populated) -> None:
    from orchestrator.lib.errors import NotFoundError

    other, _ = make_api_key(other_tenant)
    for run_id in (populated["runs"][0], "not-a-uuid"):
        with pytest.raises(NotFoundError):
            selectors.get_run_detail_for(caller_for_api_key(other), run_id)


def test_run_detail_endpoint_serves_the_same_as_drf(api, populated) -> None:
    for run_id in populated["runs"]:
        body = api.get(f"/api/v1/workflows/{run_id}").json()
        run = WorkflowRun.objects.prefetch_related("nodes").get(pk=run_id)
        selectors.annotate_approval_facts(run, run.nodes.all())
        assert body == as_json(RunDetailSerializer(run).data)


@pytest.mark.parametrize(
    ("url", "model", "serializer"),
    [
        ("/api/v1/workflows", WorkflowRun, RunSerializer),
        ("/api/v1/approvals?status=ALL", ApprovalRequest, ApprovalSerializer),
        ("/api/v1/audit", AuditLog, AuditLogSerializer),
        ("/api/v1/webhooks", WebhookEndpoint, WebhookEndpointSerializer),
        ("/api/v1/workspaces", Workspace, WorkspaceSerializer),
    ],
    ids=["workflows", "approvals", "audit", "webhooks", "workspaces"],
)
def test_list_rows_equal_drf_rendering(api, populated, url, model, serializer) -> None:
    rows = api.get(url).json()["results"]
    assert rows, f"{url} listed nothing, so the comparison would prove nothing"
    for row in rows:
        assert row == as_json(serializer(model.objects.get(pk=row["id"])).data), url


def test_api_key_rows_equal_drf_rendering(tenant, member_client, make_api_key) -> None:
    make_api_key(tenant, name="one")
    operator = member_client(tenant, Role.OPERATOR)
    rows = operator.get("/api/v1/api-keys").json()["results"]
    assert rows
    for row in rows:
        assert row == as_json(ApiKeySerializer(ApiKey.objects.get(pk=row["id"])).data)


def test_represent_many_equals_drf_many(populated) -> None:
    runs = list(WorkflowRun.objects.order_by("created_at"))
    assert as_json(represent_many(RunSerializer, runs)) == as_json(RunSerializer(runs, many=True).data)


def test_datetimes_of_every_kind_render_as_drf_does() -> None:
    """UTC values take the fast path; naive values, other offsets and another active zone go through DRF."""
    import datetime as dt

    from django.utils import timezone as tz
    from rest_framework import serializers

    class Stamp(serializers.Serializer):
        at = serializers.DateTimeField()

    values = [
        dt.datetime(2026, 11, 26, 7, 0, 0, 123456, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        dt.datetime(2026, 11, 26, 7, 0),
    ]
    for value in values:
        assert represent(Stamp, {"at": value}) == dict(Stamp({"at": value}).data), value
    with tz.override("Europe/Berlin"):
        for value in values[1:]:
            assert represent(Stamp, {"at": value}) == dict(Stamp({"at": value}).data), value
