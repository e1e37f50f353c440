"""Models of issue 20 (reviewers reached where they work): a tenant's routing override, delegations, the
notification outbox and explicit Slack links. Imported by ``approvals.models`` so Django registers them there."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from orchestrator.models import Tenant


class TenantRouting(models.Model):
    """A tenant's override of ``settings.APPROVAL_ROUTING`` (validated, audited: ``approvals.routing_config``)."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, primary_key=True, related_name="approval_routing")
    config = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"routing of {self.tenant_id}"


class Delegation(models.Model):
    """ "Away from ``starts_at`` to ``ends_at``, delegate to ``delegate``": during the window the delegate may decide
    what was routed to ``delegator`` (recorded "by delegate on behalf of delegator")."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="approval_delegations")
    delegator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="delegations_out")
    delegate = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="delegations_in")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")), name="delegation_window"),
            models.CheckConstraint(condition=~models.Q(delegator=models.F("delegate")), name="delegation_not_to_self"),
        ]
        indexes = [models.Index(fields=["tenant", "delegate", "ends_at"], name="delegation_delegate_idx")]

    def __str__(self) -> str:
        return f"{self.delegator} → {self.delegate} ({self.starts_at:%Y-%m-%d} – {self.ends_at:%Y-%m-%d})"


class NotificationChannel(models.TextChoices):
    EMAIL = "email"
    SLACK = "slack"


class NotificationKind(models.TextChoices):
    REQUESTED = "requested"
    REMINDER = "reminder"
    ESCALATED = "escalated"


class OutboxStatus(models.TextChoices):
    PENDING = "PENDING"
    SENDING = "SENDING"
    SENT = "SENT"
    FAILED = "FAILED"


class NotificationOutbox(models.Model):
    """One message to one recipient about one request. The unique key (request, channel, kind, recipient) is what
    makes "never twice" hold: a row is written in the request's transaction and sent once by a Celery task."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    approval = models.ForeignKey("approvals.ApprovalRequest", on_delete=models.CASCADE, related_name="notifications")
    channel = models.CharField(max_length=8, choices=NotificationChannel.choices)
    kind = models.CharField(max_length=12, choices=NotificationKind.choices)
    recipient = models.CharField(max_length=254, help_text="An e-mail address or a Slack channel.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=8, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # Slack: {"channel", "ts"} of the posted message, so the outcome can update it.
    external_ref = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["approval", "channel", "kind", "recipient"], name="notification_once_per_recipient"
            ),
        ]
        indexes = [
            models.Index(fields=["created_at"], name="notification_pending_idx", condition=models.Q(status="PENDING"))
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.kind} → {self.recipient} ({self.status})"


class SlackIdentity(models.Model):
    """An explicit link (made in the admin) from a Slack user id to a person, for people whose Slack e-mail differs
    from their account's."""

    slack_user_id = models.CharField(max_length=32, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="slack_identities")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "Slack identities"

    def __str__(self) -> str:
        return f"{self.slack_user_id} → {self.user}"
