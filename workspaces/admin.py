"""Operator admin for workspaces. Status and lock fields are read-only; actions call the services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from orchestrator.admin_scope import TenantScopedAdmin
from orchestrator.lib.errors import DomainError

from . import services
from .models import Workspace


@admin.register(Workspace)
class WorkspaceAdmin(TenantScopedAdmin):
    list_display = [
        "name",
        "id",
        "tenant",
        "status",
        "provider",
        "lock_owner",
        "lock_expires_at",
        "fencing_token",
        "last_used_at",
        "created_at",
    ]
    list_filter = ["status", "provider", "operation", "tenant"]
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

    def _apply(
        self, request: HttpRequest, queryset: QuerySet[Workspace], verb: str, service: Callable[..., Any]
    ) -> None:
        done = 0
        for workspace in queryset:
            try:
                service(workspace_id=workspace.pk)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{workspace}: {exc.detail}", level=messages.WARNING)
        self.message_user(request, f"{verb} {done} workspace(s).")

    @admin.action(description="Hibernate selected workspaces")
    def hibernate_workspaces(self, request: HttpRequest, queryset: QuerySet[Workspace]) -> None:
        self._apply(request, queryset, "Hibernated", services.hibernate_workspace)

    @admin.action(description="Wake (provision) selected workspaces")
    def wake_workspaces(self, request: HttpRequest, queryset: QuerySet[Workspace]) -> None:
        self._apply(request, queryset, "Woke", services.wake_workspace)

    @admin.action(description="Terminate selected workspaces (deletes local folders)")
    def terminate_workspaces(self, request: HttpRequest, queryset: QuerySet[Workspace]) -> None:
        self._apply(request, queryset, "Terminated", services.terminate_workspace)
