"""Approval payloads: list rows, the detail (preview, decisions, quorum, execution, links), and inputs."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .. import selectors
from ..events import audit_url, console_url
from ..models import ApprovalDecision, ApprovalRequest, ApprovalStatus, RiskLevel
from ..routing import effective_groups


class ActorSerializer(serializers.Serializer):
    type = serializers.CharField()
    id = serializers.CharField()
    display = serializers.CharField()


class ShownStatusField(serializers.ChoiceField):
    """The status a reader sees: EXPIRED once overdue, even before the row is expired (``selectors.shown_status``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=ApprovalStatus.choices, read_only=True, **kwargs)

    def get_attribute(self, instance: ApprovalRequest) -> Any:
        return _shown_status(instance)


def _shown_status(instance: ApprovalRequest) -> Any:
    shown = getattr(instance, "shown_status", None)
    return shown if shown is not None else selectors.status_of(instance)


class ShownExpiredAtField(serializers.DateTimeField):
    """When the request expired: recorded by the expiry, or its deadline when it is shown EXPIRED before that."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(read_only=True, allow_null=True, **kwargs)

    def get_attribute(self, instance: ApprovalRequest) -> Any:
        if instance.expired_at is not None or instance.status not in (ApprovalStatus.PENDING, ApprovalStatus.APPROVED):
            return instance.expired_at
        if _shown_status(instance) != ApprovalStatus.EXPIRED:
            return None
        return instance.expires_at if instance.status == ApprovalStatus.PENDING else instance.valid_until


class ApprovalSerializer(serializers.ModelSerializer):
    status = ShownStatusField()
    expired_at = ShownExpiredAtField()
    workflow_id = serializers.UUIDField(source="run_id", read_only=True)
    tenant_id = serializers.UUIDField(read_only=True)
    node_key = serializers.CharField(source="node.key", read_only=True)
    node_run_id = serializers.UUIDField(read_only=True, allow_null=True)
    requested_by = ActorSerializer(read_only=True)
    console_url = serializers.SerializerMethodField()
    assigned_groups = serializers.SerializerMethodField(
        help_text="Reviewer groups whose members (or their delegates) may decide; empty when not routed."
    )

    class Meta:
        model = ApprovalRequest
        fields = [
            "id",
            "tenant_id",
            "workflow_id",
            "node_key",
            "node_run_id",
            "source",
            "tool",
            "summary",
            "risk_level",
            "risk_reasons",
            "required_approvals",
            "status",
            "action_hash",
            "requested_by",
            "created_at",
            "expires_at",
            "decided_at",
            "decision_reason",
            "valid_until",
            "expired_at",
            "executed_at",
            "console_url",
            "assigned_groups",
            "escalated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_assigned_groups(self, obj: ApprovalRequest) -> list[str]:
        return effective_groups(obj)

    @extend_schema_field(OpenApiTypes.URI)
    def get_console_url(self, obj: ApprovalRequest) -> str:
        return console_url(obj.pk)


class DecisionSerializer(serializers.ModelSerializer):
    by = serializers.SerializerMethodField()
    principals = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="Who the deciding credential speaks for."
    )
    step_up = serializers.SerializerMethodField(help_text="How the decider recently proved who they are, if asked.")
    on_behalf_of = ActorSerializer(read_only=True, allow_null=True, help_text="The reviewer a delegate stood in for.")

    class Meta:
        model = ApprovalDecision
        fields = ["decision", "by", "on_behalf_of", "principals", "step_up", "reason", "created_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=["password", "totp"], allow_null=True))
    def get_step_up(self, obj: ApprovalDecision) -> str | None:
        return obj.step_up or None

    @extend_schema_field(ActorSerializer)
    def get_by(self, obj: ApprovalDecision) -> dict[str, str]:
        return {"type": obj.decider_type, "id": obj.decider_id, "display": obj.decider_display}


class QuorumSerializer(serializers.Serializer):
    required = serializers.IntegerField()  # type: ignore[assignment]
    approvals = serializers.IntegerField()
    remaining = serializers.IntegerField()


class ExecutionSerializer(serializers.Serializer):
    status = serializers.CharField()
    node_run_id = serializers.CharField(allow_null=True)
    claimed_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    output = serializers.JSONField(allow_null=True)
    error = serializers.CharField(allow_blank=True)


class ApprovalDetailSerializer(ApprovalSerializer):
    decisions = DecisionSerializer(many=True, read_only=True)
    quorum = serializers.SerializerMethodField()
    execution = serializers.SerializerMethodField()
    audit_url = serializers.SerializerMethodField()

    class Meta(ApprovalSerializer.Meta):
        fields = [
            *ApprovalSerializer.Meta.fields,
            "params",
            "preview",
            "context",
            "reasoning",
            "decisions",
            "quorum",
            "execution",
            "audit_url",
        ]
        read_only_fields = fields

    @extend_schema_field(QuorumSerializer)
    def get_quorum(self, obj: ApprovalRequest) -> dict[str, int]:
        approvals = sum(1 for d in obj.decisions.all() if d.decision == "approve")
        return {
            "required": obj.required_approvals,
            "approvals": approvals,
            "remaining": max(0, obj.required_approvals - approvals),
        }

    @extend_schema_field(ExecutionSerializer(allow_null=True))
    def get_execution(self, obj: ApprovalRequest) -> dict[str, Any] | None:
        record = getattr(obj, "execution", None)
        return record.as_dict() if record is not None else None

    @extend_schema_field(OpenApiTypes.STR)
    def get_audit_url(self, obj: ApprovalRequest) -> str:
        return audit_url(obj.pk)


class ApprovalAskSerializer(serializers.Serializer):
    workflow_id = serializers.UUIDField()
    node_key = serializers.CharField(max_length=64)
    tool = serializers.CharField(max_length=100)
    params = serializers.DictField(required=False, default=dict)
    context = serializers.DictField(required=False, default=dict)  # type: ignore[assignment]
    reasoning = serializers.CharField(required=False, allow_blank=True, default="", max_length=10000)


class NoApprovalNeededSerializer(serializers.Serializer):
    requires_approval = serializers.BooleanField()
    risk_level = serializers.ChoiceField(choices=RiskLevel.choices)
    risk_reasons = serializers.ListField(child=serializers.CharField())


class StrictDecisionSerializer(serializers.Serializer):
    """Unknown fields are a 400 naming them: a mistyped ``reason`` must not approve with the note lost (issue 15)."""

    def to_internal_value(self, data: Any) -> Any:
        # Checked before the fields, so a mistyped "reason" on a reject is named as unknown, not as "missing".
        if isinstance(data, dict):
            unknown = sorted(str(name) for name in data if name not in self.fields)
            if unknown:
                raise serializers.ValidationError(
                    {name: [f"Unknown field; expected only: {', '.join(self.fields)}."] for name in unknown}
                )
        return super().to_internal_value(data)


class ApproveSerializer(StrictDecisionSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class RejectSerializer(StrictDecisionSerializer):
    reason = serializers.CharField(max_length=2000)


class ActionSerializer(serializers.Serializer):
    tool = serializers.CharField(max_length=100)
    params = serializers.DictField(required=False, default=dict)


class ExecuteSerializer(serializers.Serializer):
    node_run_id = serializers.UUIDField(required=False, allow_null=True)
    action = ActionSerializer(required=False, help_text="When given, it must hash to the approved action.")


class ExecuteResponseSerializer(serializers.Serializer):
    approval_id = serializers.UUIDField()
    action_hash = serializers.CharField()
    tool = serializers.CharField()
    params = serializers.JSONField()
    execution = ExecutionSerializer()


class ResultSerializer(serializers.Serializer):
    status = serializers.RegexField(
        r"^(COMPLETED|FAILED)$", error_messages={"invalid": "COMPLETED or FAILED."}, help_text="COMPLETED or FAILED"
    )
    output = serializers.JSONField(required=False, allow_null=True, default=None)
    error = serializers.CharField(required=False, allow_blank=True, default="", max_length=10000)
    node_run_id = serializers.UUIDField(required=False, allow_null=True)


class StatsSerializer(serializers.Serializer):
    by_status = serializers.DictField(child=serializers.IntegerField())
    by_risk_level = serializers.DictField(child=serializers.IntegerField())
    pending = serializers.IntegerField()
    pending_by_risk_level = serializers.DictField(child=serializers.IntegerField())
    oldest_pending_age_seconds = serializers.FloatField(allow_null=True)
    window_hours = serializers.FloatField()
    decisions_in_window = serializers.IntegerField()
    decision_latency_seconds = serializers.DictField(child=serializers.FloatField(allow_null=True))
    expired_in_window = serializers.IntegerField()
    expiry_rate = serializers.FloatField(allow_null=True)
