"""Persistent workspaces (SPEC §4). The lifecycle, provider and lock logic arrive with the workspaces issue."""

from __future__ import annotations

import uuid

from django.db import models


class WorkspaceStatus(models.TextChoices):
    PENDING = "PENDING"
    PROVISIONING = "PROVISIONING"
    READY = "READY"
    HIBERNATED = "HIBERNATED"
    FAILED = "FAILED"
    TERMINATED = "TERMINATED"


class Workspace(models.Model):
    """A persistent environment whose state survives between a workflow's steps; one task at a time."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey("orchestrator.Tenant", on_delete=models.PROTECT, related_name="workspaces")
    name = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=WorkspaceStatus.choices, default=WorkspaceStatus.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=WorkspaceStatus.values), name="workspace_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name or self.pk} ({self.status})"
