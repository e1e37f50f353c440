"""The audit log: one entry per event (SPEC §7.2), written in the transaction of the change it records."""

from __future__ import annotations

import uuid

from django.db import models


class AuditLog(models.Model):
    """An append-only record of who did what, when, from where, to which resource."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    sequence = models.BigIntegerField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(db_index=True)
    tenant = models.ForeignKey("orchestrator.Tenant", null=True, blank=True, on_delete=models.PROTECT)
    event_id = models.UUIDField(db_index=True)
    action = models.CharField(max_length=64, db_index=True)
    actor_type = models.CharField(max_length=16)
    actor_id = models.CharField(max_length=64, blank=True)
    actor_display = models.CharField(max_length=200, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    resource_type = models.CharField(max_length=64)
    resource_id = models.CharField(max_length=64)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["resource_type", "resource_id"], name="audit_resource_idx")]

    def __str__(self) -> str:
        return f"{self.action} {self.resource_type}:{self.resource_id}"
