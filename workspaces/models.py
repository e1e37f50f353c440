"""Persistent workspaces (SPEC §4): lifecycle status, the provider operation in flight, and the lease lock.

The lock lives on the workspace row itself (``lock_owner``, ``lock_expires_at``, ``fencing_token``) so that an
acquisition is one conditional UPDATE of one row; see ``workspaces.locks``. The provider operation fields
(``operation``, ``operation_attempts``, ``operation_due_at``) make provisioning, hibernation and termination
durable: a worker that dies mid-call leaves a due operation that the periodic sweep picks up again.
"""

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


class ProviderName(models.TextChoices):
    LOCAL = "local", "Local folder"
    TASK_CONTROLLER = "task_controller", "Task controller"


class Operation(models.TextChoices):
    """The provider call still owed for the current status ("" when the provider matches the status)."""

    NONE = "", "None"
    PROVISION = "provision", "Provision"
    HIBERNATE = "hibernate", "Hibernate"
    TERMINATE = "terminate", "Terminate"


class Workspace(models.Model):
    """A persistent environment whose state survives between a workflow's steps; one task at a time."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey("orchestrator.Tenant", on_delete=models.PROTECT, related_name="workspaces")
    name = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=WorkspaceStatus.choices, default=WorkspaceStatus.PENDING)
    # Which backend owns this workspace; fixed at creation so a settings change never orphans a desktop.
    provider = models.CharField(max_length=32, choices=ProviderName.choices, default=ProviderName.LOCAL)
    metadata = models.JSONField(default=dict, blank=True)
    # Why the workspace is FAILED (or the last provider error while retrying).
    last_error = models.TextField(blank=True)

    # Provider operation in flight (see module docstring).
    operation = models.CharField(max_length=16, choices=Operation.choices, default=Operation.NONE, blank=True)
    operation_attempts = models.PositiveIntegerField(default=0)
    operation_due_at = models.DateTimeField(null=True, blank=True)
    operation_started_at = models.DateTimeField(null=True, blank=True)

    # The lease lock (SPEC §4). A NULL owner or an expired lease means the lock is free.
    lock_owner = models.CharField(max_length=200, null=True, blank=True)
    lock_expires_at = models.DateTimeField(null=True, blank=True)
    lock_acquired_at = models.DateTimeField(null=True, blank=True)
    # 0 right after an acquisition, +1 per re-entrant extend or renew of the same lease.
    lock_renewals = models.PositiveIntegerField(default=0)
    # Strictly increases with every acquisition; never reset (not even by terminate).
    fencing_token = models.BigIntegerField(default=0)

    status_changed_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=WorkspaceStatus.values), name="workspace_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(provider__in=ProviderName.values), name="workspace_provider_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(operation__in=Operation.values), name="workspace_operation_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(fencing_token__gte=0), name="workspace_fencing_token_non_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "-created_at"], name="workspace_tenant_status_idx"),
            # The sweep's queries: due provider operations, and READY workspaces that went idle.
            models.Index(
                fields=["operation_due_at"],
                name="workspace_op_due_idx",
                condition=~models.Q(operation=""),
            ),
            models.Index(fields=["last_used_at"], name="workspace_ready_idle_idx", condition=models.Q(status="READY")),
        ]

    def __str__(self) -> str:
        return f"{self.name or self.pk} ({self.status})"
