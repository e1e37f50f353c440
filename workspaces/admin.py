"""Operator admin for workspaces. Status and lock fields are read-only; actions call the services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from orchestrator.admin_base import FittedAdmin, service_action

from . import services
from .models import Workspace


@admin.register(Workspace)
class WorkspaceAdmin(FittedAdmin):
    list_display = ["name", "tenant", "status", "provider", "lock_owner", "lock_expires_at", "last_used_at"]
    list_filter = ["status", "provider", "operation", "tenant", "created_at"]
    search_fields = ["name", "id", "lock_owner", "tenant__slug"]
    list_select_related = ["tenant"]
    readonly_fields = [
        "id",
        "status",
        "provider",
        "last_error",
        "operation",
        "operation_attempts",
        "operation_due_at",
        "operation_started_at",
        "lock_owner",
        "lock_expires_at",
        "lock_acquired_at",
        "lock_renewals",
        "fencing_token",
        "status_changed_at",
        "last_used_at",
        "created_at",
        "updated_at",
    ]
    actions = ["hibernate_workspaces", "wake_workspaces", "terminate_workspaces"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # created through the API so the provider and tenant rules apply

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [*self.readonly_fields, "tenant"]

    hibernate_workspaces = service_action(
        "Hibernate selected workspaces",
        lambda request, workspace: services.hibernate_workspace(workspace_id=workspace.pk),
        done="Hibernated",
    )
    wake_workspaces = service_action(
        "Wake (provision) selected workspaces",
        lambda request, workspace: services.wake_workspace(workspace_id=workspace.pk),
        done="Woke",
    )
    terminate_workspaces = service_action(
        "Terminate selected workspaces (deletes local folders)",
        lambda request, workspace: services.terminate_workspace(workspace_id=workspace.pk),
        done="Terminated",
    )
