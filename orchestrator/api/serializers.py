from __future__ import annotations

from rest_framework import serializers

from orchestrator.models import ApiKey, Scope
from orchestrator.principals import owner_principal, user_principal


class ApiKeySerializer(serializers.ModelSerializer):
    tenant_id = serializers.UUIDField(read_only=True)
    owner = serializers.SerializerMethodField(
        help_text="The principal the key acts as: user:<id> or service_account:<id>."
    )
    service_account_id = serializers.UUIDField(read_only=True, allow_null=True)
    created_by = serializers.SerializerMethodField(help_text="The person who minted the key (null for commands).")

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "tenant_id",
            "name",
            "prefix",
            "scopes",
            "owner",
            "service_account_id",
            "created_by",
            "created_at",
            "last_used_at",
            "revoked_at",
        ]
        read_only_fields = fields

    def get_owner(self, obj: ApiKey) -> str:
        return owner_principal(obj)

    def get_created_by(self, obj: ApiKey) -> str | None:
        return None if obj.created_by_id is None else user_principal(obj.created_by_id)


class ApiKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=Scope.choices), allow_empty=False)
    tenant_id = serializers.UUIDField(required=False)
    personal = serializers.BooleanField(
        default=False,
        help_text="A personal key: it acts as you (for separation of duties too), within your role's scopes.",
    )
    service_account_id = serializers.UUIDField(
        required=False, help_text="Operators: the service account the key belongs to (default: one named like the key)."
    )


class RiskPolicySerializer(serializers.Serializer):
    risk_policy = serializers.JSONField(help_text="The tenant's override, merged over the default policy; {} resets.")


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="Shown once; store it now.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
        read_only_fields = fields


class MeSerializer(serializers.Serializer):
    type = serializers.CharField()
    id = serializers.CharField()
    display = serializers.CharField()
    tenants = serializers.ListField(child=serializers.DictField())
