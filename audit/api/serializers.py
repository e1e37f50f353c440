"""Renders audit entries (read-only: the API offers no way to change one)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from audit.integrity import format_timestamp
from audit.models import AuditLog


class AuditActorSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["user", "api_key", "system"])
    id = serializers.CharField()
    display = serializers.CharField()


class AuditLogSerializer(serializers.ModelSerializer):
    created_at = serializers.SerializerMethodField()
    tenant_id = serializers.UUIDField(read_only=True, allow_null=True)
    actor = serializers.SerializerMethodField()

    class Meta:
        model = AuditLog
        fields = [
            "id",
            "sequence",
            "created_at",
            "tenant_id",
            "event_id",
            "action",
            "actor",
            "ip",
            "user_agent",
            "request_id",
            "resource_type",
            "resource_id",
            "before",
            "after",
            "reason",
            "metadata",
            "key_id",
            "prev_hash",
            "hash",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "string", "format": "date-time", "example": "2026-01-02T03:04:05.678901Z"})
    def get_created_at(self, entry: AuditLog) -> str:
        return format_timestamp(entry.created_at)

    @extend_schema_field(AuditActorSerializer)
    def get_actor(self, entry: AuditLog) -> dict[str, Any]:
        return entry.actor


class ApprovalTrailSerializer(serializers.Serializer):
    approval_id = serializers.CharField()
    results = AuditLogSerializer(many=True)


class CountSerializer(serializers.Serializer):
    day = serializers.DateField()
    count = serializers.IntegerField()


class AuditStatsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    by_action = serializers.DictField(child=serializers.IntegerField())
    by_resource_type = serializers.DictField(child=serializers.IntegerField())
    by_day = CountSerializer(many=True)


class ChainReportSerializer(serializers.Serializer):
    chain = serializers.CharField()
    tenant_id = serializers.CharField(allow_null=True)
    ok = serializers.BooleanField()
    verified = serializers.IntegerField(help_text="Entries recomputed and found intact.")
    first_bad_sequence = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()
    checkpoint_sequence = serializers.IntegerField(
        allow_null=True, help_text="Last sequence removed by retention (a signed checkpoint)."
    )
    full = serializers.BooleanField(help_text="Every remaining entry was walked (false: from the newest anchor).")
    anchor_sequence = serializers.IntegerField(
        allow_null=True, help_text="The sequence of the newest signed anchor of this chain (null: none yet)."
    )
    start_sequence = serializers.IntegerField(allow_null=True, help_text="The first entry recomputed.")
    last_sequence = serializers.IntegerField()


class VerificationSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    verified = serializers.IntegerField()
    first_bad_sequence = serializers.IntegerField(allow_null=True)
    first_bad_chain = serializers.CharField(allow_null=True)
    chains = ChainReportSerializer(many=True)
