"""Request and response shapes of the workspace endpoints (SPEC §4). Serializers validate and render only."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from workspaces.locks import DEFAULT_LEASE_SECONDS, MAX_LEASE_SECONDS, MAX_OWNER_LENGTH, MIN_LEASE_SECONDS, lock_state
from workspaces.models import Workspace


class LockStateSerializer(serializers.Serializer):
    locked = serializers.BooleanField()
    owner = serializers.CharField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    fencing_token = serializers.IntegerField(help_text="The last issued token (strictly increases per acquisition).")


class WorkspaceSerializer(serializers.ModelSerializer):
    tenant_id = serializers.UUIDField(read_only=True)
    lock = serializers.SerializerMethodField()

    class Meta:
        model = Workspace
        fields = [
            "id",
            "tenant_id",
            "name",
            "status",
            "provider",
            "metadata",
            "last_error",
            "lock",
            "status_changed_at",
            "last_used_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(LockStateSerializer)
    def get_lock(self, workspace: Workspace) -> dict[str, Any]:
        return dict(LockStateSerializer(lock_state(workspace)).data)


class WorkspaceCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, allow_blank=True, required=False, default="")
    metadata = serializers.DictField(required=False, default=dict)
    provision = serializers.BooleanField(
        required=False, default=False, help_text="Start provisioning now instead of before the first run's task."
    )
    tenant_id = serializers.UUIDField(required=False, help_text="Only for people in several tenants.")


class WorkspaceStatusSerializer(serializers.ModelSerializer):
    next_attempt_at = serializers.DateTimeField(source="operation_due_at", read_only=True, allow_null=True)

    class Meta:
        model = Workspace
        fields = [
            "id",
            "status",
            "provider",
            "last_error",
            "operation",
            "operation_attempts",
            "next_attempt_at",
            "status_changed_at",
        ]
        read_only_fields = fields


class LockRequestSerializer(serializers.Serializer):
    owner = serializers.CharField(max_length=MAX_OWNER_LENGTH)
    lease_seconds = serializers.IntegerField(
        min_value=MIN_LEASE_SECONDS, max_value=MAX_LEASE_SECONDS, required=False, default=DEFAULT_LEASE_SECONDS
    )


class LockReleaseSerializer(serializers.Serializer):
    owner = serializers.CharField(max_length=MAX_OWNER_LENGTH)


class LockGrantSerializer(serializers.Serializer):
    owner = serializers.CharField()
    fencing_token = serializers.IntegerField()
    expires_at = serializers.DateTimeField()


class LockReleasedSerializer(serializers.Serializer):
    released = serializers.BooleanField(help_text="False when the lock was already free.")


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem document (SPEC §2); ``lock_held`` adds ``owner``, ``expires_at``, ``retry_after_ms``."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField()
    # Schema only: this serializer never validates, so shadowing ``Serializer.errors`` is harmless.
    errors = serializers.ListField(child=serializers.DictField())  # type: ignore[assignment]
