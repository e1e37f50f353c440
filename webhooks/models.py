"""Webhook endpoints, their secrets, the delivery outbox and one record per attempt (SPEC §7.1).

A ``WebhookDelivery`` is the transactional outbox row: one per (endpoint, event), written in the event's
transaction, so it exists if and only if the change it announces was committed. Workers claim deliveries from the
database (never only from the broker), which is what makes a crash or restart lose nothing.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q


class WebhookEndpoint(models.Model):
    """A subscriber URL of one tenant, with the event types it wants (``["*"]`` for all)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey("orchestrator.Tenant", on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=2000)
    events = models.JSONField(default=list, help_text='Event types to receive, or ["*"] for all.')
    enabled = models.BooleanField(default=True)
    description = models.CharField(max_length=500, blank=True)
    disabled_reason = models.CharField(max_length=500, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    # First failed attempt since the last success: the clock of WEBHOOK_DISABLE_AFTER_HOURS.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # enqueue_event's only query: the enabled endpoints of one tenant.
            models.Index(fields=["tenant"], condition=Q(enabled=True), name="webhook_endpoint_enabled_idx"),
        ]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return "*" in self.events or event_type in self.events


class WebhookSecret(models.Model):
    """A signing secret, Fernet-encrypted. Live while ``expires_at`` is empty or in the future.

    Rotation stamps the current secret with ``now + WEBHOOK_SECRET_GRACE_HOURS`` and adds a new one; during the
    grace period every delivery carries one signature per live secret.
    """

    id = models.BigAutoField(primary_key=True)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="secrets")
    ciphertext = models.TextField(help_text="Fernet token of the whsec_ secret; never the secret itself.")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"secret #{self.pk} of {self.endpoint_id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "PENDING"  # waiting for next_attempt_at (a retry)
    QUEUED = "QUEUED"  # handed to the broker; claimable at once; re-queued by the sweep after next_attempt_at
    DELIVERING = "DELIVERING"  # claimed by a worker; next_attempt_at is the lease expiry
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"  # gave up (attempts exhausted, 410, endpoint disabled)


LIVE_DELIVERY_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.QUEUED, DeliveryStatus.DELIVERING)


class WebhookDelivery(models.Model):
    """One event for one endpoint: the outbox row, its retry state and the exact body that is signed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey("orchestrator.Tenant", on_delete=models.CASCADE, related_name="+")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField()
    event_type = models.CharField(max_length=64)
    message_id = models.CharField(max_length=64, help_text="The webhook-id header: the same on every retry.")
    body = models.TextField(help_text="The JSON payload exactly as sent and signed.")
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED)
    attempt_count = models.PositiveIntegerField(default=0, help_text="Attempts in the current schedule.")
    attempts_made = models.PositiveIntegerField(default=0, help_text="Attempts over the whole life (redeliveries too).")
    max_attempts = models.PositiveSmallIntegerField(default=8)
    next_attempt_at = models.DateTimeField(help_text="When due (PENDING/QUEUED) or when the lease ends.")
    lease_token = models.UUIDField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    traceparent = models.CharField(
        max_length=128,
        blank=True,
        default="",
        help_text="W3C trace context of the action that produced the event: its delivery continues that trace.",
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhook_delivery_unique_endpoint_event"),
            models.CheckConstraint(condition=Q(status__in=DeliveryStatus.values), name="webhook_delivery_status_valid"),
        ]
        indexes = [
            # The sweep: live deliveries by due time (a partial index stays small as history grows).
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["PENDING", "QUEUED", "DELIVERING"]),
                name="webhook_delivery_due_idx",
            ),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_endpoint_idx"),
            models.Index(fields=["created_at"], name="webhook_delivery_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One HTTP attempt of a delivery: what came back and how long it took."""

    id = models.BigAutoField(primary_key=True)
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField(help_text="1-based, over the delivery's whole life (redeliveries too).")
    created_at = models.DateTimeField()
    success = models.BooleanField(default=False)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    response_excerpt = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="When the next try was scheduled.")

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="webhook_attempt_unique_number"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}: {self.status_code or self.error}"
