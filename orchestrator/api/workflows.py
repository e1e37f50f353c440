"""``/api/v1/workflows`` (SPEC §3.4): create, list, read, start, cancel, and retry a failed node.

The definition is validated by ``orchestrator.definitions`` (through ``runs.create_run``), not by serializer fields, so
every problem comes back at once with its exact path (``nodes[2].depends_on[0]``). The serializers here render
and document; they do not decide.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import django_filters
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from orchestrator import inputs, runs, selectors
from orchestrator import nodes as node_types
from orchestrator.api.definitions import bound_definition
from orchestrator.definitions import MAX_NODES
from orchestrator.lib import waiting
from orchestrator.lib.api import ScopedViewSet, caller_of
from orchestrator.lib.auth import Caller
from orchestrator.lib.errors import InvalidInput
from orchestrator.lib.filters import UTCIsoDateTimeFilter
from orchestrator.lib.permissions import require_scope
from orchestrator.lib.represent import represent
from orchestrator.lib.tools import RISK_LEVELS
from orchestrator.models import (
    NodeStatus,
    NodeType,
    RunStatus,
    Scope,
    WorkflowNode,
    WorkflowNodeRun,
    WorkflowRun,
)
from orchestrator.nodes.base import FieldDoc
from orchestrator.nodes.human_input import field_order

NODE_KEY = r"[a-z0-9_-]{1,64}"


# --- Serializers ------------------------------------------------------------------------------------------------


class NodeRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = WorkflowNodeRun
        fields = [
            "id",
            "attempt",
            "status",
            "input",
            "output",
            "error",
            "lease_owner",
            "lease_expires_at",
            "timeout_at",
            "external_task_id",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class NodeInputSerializer(serializers.Serializer):
    """What an INPUT step asks and who answered (issue 19)."""

    prompt = serializers.CharField(help_text="What the person is asked.")
    form = serializers.JSONField(help_text="The JSON Schema of the values (an object of fields).")
    field_order = serializers.ListField(
        child=serializers.CharField(), help_text="The form's field names in the order the definition wrote them."
    )
    groups = serializers.ListField(
        child=serializers.CharField(), help_text="Who may submit: members of these groups (empty: any reviewer)."
    )
    due_at = serializers.DateTimeField(
        allow_null=True, help_text="When the input is due (null until the step is reached)."
    )
    has_default = serializers.BooleanField(help_text="Past the due time the step takes its default instead of failing.")
    submitted_by = serializers.DictField(
        allow_null=True, help_text='Who submitted the values, {"type", "id", "display"} (null until then).'
    )


def node_input(node: WorkflowNode) -> dict[str, Any] | None:
    """The ``input`` of an INPUT node's representation (None for other types)."""
    if node.type != NodeType.INPUT:
        return None
    config = node.config or {}
    due_at = None
    if node.status == NodeStatus.WAITING:
        due_at = node.not_before
    elif node.started_at is not None:
        due_at = node.started_at + timedelta(minutes=int(config.get("due_in_minutes") or 0))
    return {
        "prompt": config.get("prompt", ""),
        "form": config.get("form") or {},
        "field_order": field_order(config),
        "groups": list((config.get("assignees") or {}).get("groups") or []),
        "due_at": due_at,
        "has_default": "default" in config,
        "submitted_by": node.submitted_by,
    }


class NodeSerializer(serializers.ModelSerializer):
    input = serializers.SerializerMethodField(
        help_text="INPUT steps: the prompt, form, assignees, due time and who submitted (null for other types)."
    )
    definition = serializers.JSONField(
        source="config",
        read_only=True,
        help_text="The node's definition as submitted and validated (type-specific fields). Its "
        "`requires_approval` is what the workflow asked for; the node's own `requires_approval` is what the policy "
        "decided.",
    )
    requires_approval = serializers.BooleanField(
        read_only=True,
        help_text="Whether this step needs a person's approval before it runs: true while it waits for approval "
        "or once it ran with an approved request, false once it ran without one; for a step not reached yet, what "
        "the tenant's risk policy decides for its action now (or because the definition asks for approval). "
        "Always false for control steps.",
    )
    risk_level = serializers.ChoiceField(
        choices=[(level, level.title()) for level in RISK_LEVELS],  # the labels of approvals.models.RiskLevel
        read_only=True,
        allow_null=True,
        help_text="The risk level the tenant's policy gives this step's action (null for control steps).",
    )

    class Meta:
        model = WorkflowNode
        fields = [
            "key",
            "type",
            "name",
            "status",
            "depends_on",
            "definition",
            "requires_approval",
            "risk_level",
            "input",
            "attempts",
            "output",
            "error",
            "not_before",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    @extend_schema_field(NodeInputSerializer(allow_null=True))
    def get_input(self, obj: WorkflowNode) -> Any:
        data = node_input(obj)
        return None if data is None else NodeInputSerializer(data).data


class NodeDetailSerializer(NodeSerializer):
    node_runs = NodeRunSerializer(many=True, read_only=True)
    run_id = serializers.UUIDField(read_only=True)

    class Meta(NodeSerializer.Meta):
        fields = ["run_id", *NodeSerializer.Meta.fields, "node_runs"]
        read_only_fields = fields


class WorkspaceRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    status = serializers.CharField()


class RunSerializer(serializers.ModelSerializer):
    tenant_id = serializers.UUIDField(read_only=True)
    workspace_id = serializers.UUIDField(read_only=True, allow_null=True)
    workspace = WorkspaceRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = WorkflowRun
        fields = [
            "id",
            "tenant_id",
            "name",
            "description",
            "metadata",
            "status",
            "workspace_id",
            "workspace",
            "created_by",
            "started_by",
            "error",
            "cancel_reason",
            "created_at",
            "started_at",
            "finished_at",
            "updated_at",
        ]
        read_only_fields = fields


class RunDetailSerializer(RunSerializer):
    nodes = NodeSerializer(many=True, read_only=True)

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "nodes"]
        read_only_fields = fields


# The fields every node type has are declared here; each type's own fields come from its descriptor
# (``orchestrator/nodes/<type>.py``, ``KIND.docs``), so adding a type documents it without touching this module.
class _NodeDefinitionBase(serializers.Serializer):
    """One step of a workflow: the fields every type has, and each type's own fields (their descriptions name the
    types that accept them). The server checks the whole definition and answers 400 naming each wrong field."""

    key = serializers.RegexField(NODE_KEY, max_length=64)
    type = serializers.ChoiceField(choices=node_types.NODE_TYPES)
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    depends_on = serializers.ListField(child=serializers.RegexField(NODE_KEY, max_length=64), required=False)
    on_failure = serializers.ChoiceField(choices=["fail", "continue"], required=False)


def _documented_field(doc: FieldDoc, help_text: str) -> serializers.Field:
    """The serializer field that documents one ``FieldDoc`` (never used to validate: the engine does)."""
    common: dict[str, Any] = {"required": False, "help_text": help_text}
    if doc.nullable:
        common["allow_null"] = True
    if doc.choices:
        return serializers.ChoiceField(choices=list(doc.choices), **common)
    if doc.json == "key":
        return serializers.RegexField(NODE_KEY, max_length=64, **common)
    if doc.json == "array":
        child = serializers.RegexField(NODE_KEY, max_length=64) if doc.items == "key" else serializers.DictField()
        return serializers.ListField(child=child, **common)
    if doc.json == "number":
        return serializers.FloatField(min_value=0, max_value=doc.maximum, **common)
    if doc.json == "boolean":
        return serializers.BooleanField(**common)
    if doc.json == "string":
        return serializers.CharField(**common)
    return serializers.DictField(**common)


def _type_fields() -> dict[str, serializers.Field]:
    """One documented field per type-specific field name, its help naming the types that have it. A name two
    types use differently (``default``: DECISION's branch key, INPUT's values) is any JSON, with each type's help."""
    found: dict[str, list[tuple[FieldDoc, str]]] = {}
    for kind in node_types.REGISTRY.values():
        for name, doc in sorted(kind.docs.items()):
            found.setdefault(name, []).append((doc, kind.name))
    fields: dict[str, serializers.Field] = {}
    for name, uses in found.items():
        first = uses[0][0]
        if all(doc == first for doc, _ in uses):
            fields[name] = _documented_field(first, f"{', '.join(k for _, k in uses)}: {first.help}")
        else:
            help_text = "; ".join(f"{k}: {doc.help}" for doc, k in uses)
            fields[name] = serializers.JSONField(required=False, allow_null=True, help_text=help_text)
    return fields


NodeDefinitionSerializer = type("NodeDefinitionSerializer", (_NodeDefinitionBase,), _type_fields())


class WorkflowCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    workspace_id = serializers.UUIDField(required=False, allow_null=True)
    metadata = serializers.DictField(required=False)
    start = serializers.BooleanField(required=False, default=False)
    tenant_id = serializers.UUIDField(required=False, help_text="Only for people who belong to several tenants.")
    nodes = serializers.ListField(child=NodeDefinitionSerializer(), min_length=1, max_length=MAX_NODES)


class InputSubmitSerializer(serializers.Serializer):
    values = serializers.DictField(
        help_text="The form's fields and their values; checked against the step's form (400 naming each wrong "
        "field, e.g. values.amount). They become the step's output."
    )


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


# --- Filters ----------------------------------------------------------------------------------------------------


class WorkflowRunFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=RunStatus.choices)
    name = django_filters.CharFilter(lookup_expr="icontains")
    created_after = UTCIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UTCIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    workspace_id = django_filters.UUIDFilter(field_name="workspace_id")

    class Meta:
        model = WorkflowRun
        fields = ["status", "name", "created_after", "created_before", "workspace_id"]


# --- Views ------------------------------------------------------------------------------------------------------


class WorkflowViewSet(ScopedViewSet):
    """Workflow runs of the caller's tenants."""

    required_scope = Scope.WORKFLOWS
    # A person's values for an INPUT step: reviewers (and keys that decide) submit them (``orchestrator.inputs``).
    action_scopes = {"input": Scope.APPROVALS_DECIDE}
    queryset = WorkflowRun.objects.none()  # for the schema; get_queryset scopes to the caller
    filterset_class = WorkflowRunFilter
    lookup_value_regex = "[^/]+"

    def scoped(self, caller: Caller) -> Any:
        if self.action == "retrieve":
            return selectors.run_detail_for(caller)
        return selectors.runs_for(caller)

    def get_serializer_class(self) -> Any:
        return RunDetailSerializer if self.action == "retrieve" else RunSerializer

    def get_object(self) -> WorkflowRun:
        caller = caller_of(self.request)
        run = selectors.get_run_for(caller, self.kwargs["pk"])
        if self.request.method not in ("GET", "HEAD", "OPTIONS"):
            require_scope(caller, Scope.WORKFLOWS, run.tenant_id)
        return run

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "wait",
                float,
                description=(
                    f"Seconds (0-{waiting.MAX_WAIT_SECONDS}) to wait for the run to change (its status, a node's "
                    "status, attempts, output, error or timer) before answering; send the last ETag as If-None-Match "
                    "to wait for a change from that state."
                ),
            )
        ]
    )
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        seconds = waiting.wait_seconds(request.query_params.get("wait"))

        def read() -> tuple[Any, Any]:
            run = selectors.get_run_detail_for(caller_of(request), self.kwargs["pk"])
            selectors.annotate_approval_facts(run, run.nodes.all())
            data = represent(RunDetailSerializer, run)
            # The whole representation: every change the engine announces (``waiting.run_changed``) answers.
            return data, data

        etag, data = waiting.wait_for_change(
            [waiting.channel("workflow", self.kwargs["pk"])],
            read,
            baseline=waiting.etag_of(request.headers) if seconds else "",
            seconds=seconds,
        )
        return Response(data, headers={"ETag": f'"{etag}"'})

    def _detail(self, run: WorkflowRun, code: int = status.HTTP_200_OK) -> Response:
        # Read back as GET /workflows/{id} reads it (SQL built once), so both answer the same body.
        fresh = selectors.get_run_detail_for(caller_of(self.request), run.pk)
        selectors.annotate_approval_facts(fresh, fresh.nodes.all())
        return Response(represent(RunDetailSerializer, fresh), status=code)

    @extend_schema(request=WorkflowCreateSerializer, responses={201: RunDetailSerializer})
    def create(self, request: Request) -> Response:
        caller = caller_of(request)
        body = request.data
        if not isinstance(body, dict):
            raise InvalidInput("Expected a JSON object.")
        body = bound_definition(body, now=timezone.now())
        tenant_id = caller.tenant_for_write(Scope.WORKFLOWS, body.get("tenant_id"))
        run = runs.create_run(tenant=selectors.tenant_for_write(tenant_id), definition=body, caller=caller)
        return self._detail(run, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=RunDetailSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk: str | None = None) -> Response:
        return self._detail(runs.start_run(run=self.get_object()))

    @extend_schema(request=CancelSerializer, responses=RunDetailSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        run = self.get_object()
        body = CancelSerializer(data=request.data if isinstance(request.data, dict) else {})
        body.is_valid(raise_exception=True)
        return self._detail(runs.cancel_run(run=run, reason=body.validated_data["reason"]))

    @extend_schema(
        responses=NodeDetailSerializer,
        parameters=[
            OpenApiParameter("key", str, OpenApiParameter.PATH, description="Node key", pattern=f"^{NODE_KEY}$")
        ],
    )
    @action(detail=True, methods=["get"], url_path=f"nodes/(?P<key>{NODE_KEY})")
    def node(self, request: Request, pk: str | None = None, key: str = "") -> Response:
        node = selectors.get_node_for(caller_of(request), pk, key)
        selectors.annotate_approval_facts(node.run, [node])
        return Response(NodeDetailSerializer(node).data)

    @extend_schema(
        request=None,
        responses=RunDetailSerializer,
        parameters=[
            OpenApiParameter("key", str, OpenApiParameter.PATH, description="Node key", pattern=f"^{NODE_KEY}$")
        ],
    )
    @action(detail=True, methods=["post"], url_path=f"nodes/(?P<key>{NODE_KEY})/retry")
    def retry(self, request: Request, pk: str | None = None, key: str = "") -> Response:
        return self._detail(runs.retry_node(run=self.get_object(), key=key))

    @extend_schema(
        request=InputSubmitSerializer,
        responses=NodeSerializer,
        parameters=[
            OpenApiParameter("key", str, OpenApiParameter.PATH, description="Node key", pattern=f"^{NODE_KEY}$")
        ],
        description="Submit the values an INPUT step waits for (reviewers and operators of the run's tenant; when "
        "the step names groups, their members). 400 validation_error naming each wrong field; 403 "
        "permission_denied / not_input_assignee; 409 input_not_waiting / input_expired.",
    )
    @action(detail=True, methods=["post"], url_path=f"nodes/(?P<key>{NODE_KEY})/input")
    def input(self, request: Request, pk: str | None = None, key: str = "") -> Response:
        caller = caller_of(request)
        node = selectors.get_input_node_for(caller, pk, key)
        body = request.data
        if not isinstance(body, dict) or "values" not in body:
            raise InvalidInput('Expected {"values": {…}}.', field="values")
        done = inputs.submit_input(caller=caller, node=node, values=body["values"])
        # The step, not the run: a reviewer's key may submit without reading the run's other steps.
        selectors.annotate_approval_facts(node.run, [done])
        return Response(NodeSerializer(done).data)
