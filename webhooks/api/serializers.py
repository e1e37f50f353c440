from __future__ import annotations

from rest_framework import serializers

from orchestrator.events import EVENT_TYPES

from ..models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

EVENT_CHOICES = ["*", *EVENT_TYPES]


class WebhookEndpointSerializer(serializers.ModelSerializer):
    tenant_id = serializers.UUIDField(read_only=True)
    events = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_CHOICES))

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "tenant_id",
            "url",
            "events",
            "enabled",
            "description",
            "disabled_reason",
            "disabled_at",
            "failing_since",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "tenant_id",
            "disabled_reason",
            "disabled_at",
            "failing_since",
            "created_at",
            "updated_at",
        ]


class WebhookEndpointWriteSerializer(serializers.Serializer):
    """Input of create, PUT and PATCH (PATCH: every field optional)."""

    url = serializers.URLField(max_length=2000)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_CHOICES), allow_empty=False, help_text='Types, or ["*"].'
    )
    enabled = serializers.BooleanField(default=True)
    description = serializers.CharField(max_length=500, allow_blank=True, default="")
    tenant_id = serializers.UUIDField(required=False, write_only=True, help_text="Only for people in several tenants.")


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(read_only=True, help_text="Shown once; store it now.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class SecretRotatedSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    secret = serializers.CharField(help_text="The new secret, shown once.")
    previous_secret_expires_at = serializers.DateTimeField(
        help_text="Until then deliveries are signed with the old and the new secret."
    )


class WebhookAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = [
            "number",
            "created_at",
            "success",
            "status_code",
            "latency_ms",
            "error",
            "response_excerpt",
            "next_attempt_at",
        ]
        read_only_fields = fields


class WebhookTestResultSerializer(WebhookAttemptSerializer):
    delivery_id = serializers.UUIDField(source="delivery.id")
    message_id = serializers.CharField(source="delivery.message_id")

    class Meta(WebhookAttemptSerializer.Meta):
        fields = ["delivery_id", "message_id", *WebhookAttemptSerializer.Meta.fields]
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer):
    webhook_id = serializers.UUIDField(source="endpoint_id", read_only=True)
    attempts = WebhookAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "webhook_id",
            "event_id",
            "event_type",
            "message_id",
            "status",
            "attempt_count",
            "max_attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "delivered_at",
            "created_at",
            "attempts",
        ]
        read_only_fields = fields


class EventTypeSerializer(serializers.Serializer):
    type = serializers.CharField()


class EventTypeListSerializer(serializers.Serializer):
    results = EventTypeSerializer(many=True)
    next = serializers.CharField(allow_null=True)
