from __future__ import annotations

from rest_framework import serializers

from orchestrator.models import ApiKey, Scope


class ApiKeySerializer(serializers.ModelSerializer):
    tenant_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = ApiKey
        fields = ["id", "tenant_id", "name", "prefix", "scopes", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = fields


class ApiKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=Scope.choices), allow_empty=False)
    tenant_id = serializers.UUIDField(required=False)


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
