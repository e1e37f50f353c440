"""Operator admin for tenancy and credentials. Actions call services; nothing edits a status directly."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from orchestrator import services
from orchestrator.lib.errors import DomainError
from orchestrator.models import ApiKey, IdempotentRequest, Membership, Tenant


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "created_at"]
    list_filter = ["created_at"]
    search_fields = ["slug", "name"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role", "tenant"]
    search_fields = ["user__username", "tenant__slug"]
    list_select_related = ["user", "tenant"]
    autocomplete_fields = ["user", "tenant"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "tenant", "scopes", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["tenant", "revoked_at"]
    search_fields = ["name", "prefix", "tenant__slug"]
    list_select_related = ["tenant"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke_keys"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Keys are created with `manage.py create_api_key` or the API so the raw key is shown once, to its owner.
        return False

    @admin.action(description="Revoke selected API keys")
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        revoked = 0
        for api_key in queryset:
            try:
                services.revoke_api_key(api_key=api_key)
                revoked += 1
            except DomainError as exc:
                self.message_user(request, f"{api_key}: {exc.detail}", level=messages.WARNING)
        self.message_user(request, f"Revoked {revoked} key(s).")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [*self.readonly_fields, "tenant"] if obj else list(self.readonly_fields)


# --- Workflow engine ------------------------------------------------------------------------------------------

from orchestrator import runs  # noqa: E402
from orchestrator.models import WorkflowNode, WorkflowNodeRun, WorkflowRun  # noqa: E402


class WorkflowNodeInline(admin.TabularInline):
    model = WorkflowNode
    extra = 0
    can_delete = False
    fields = ["key", "type", "status", "attempts", "error", "started_at", "finished_at"]
    readonly_fields = ["key", "type", "status", "attempts", "error", "started_at", "finished_at"]
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WorkflowRun)
class WorkflowRunAdmin(admin.ModelAdmin):
    """Runs are changed only through services (the "cancel run" action); the form is read-only."""

    list_display = ["name", "tenant", "status", "workspace", "created_at", "started_at", "finished_at"]
    list_filter = ["status", "tenant", "created_at"]
    search_fields = ["id", "name", "tenant__slug"]
    list_select_related = ["tenant", "workspace"]
    date_hierarchy = "created_at"
    inlines = [WorkflowNodeInline]
    actions = ["cancel_runs"]
    readonly_fields = [
        "id",
        "tenant",
        "name",
        "description",
        "metadata",
        "workspace",
        "status",
        "created_by",
        "started_by",
        "error",
        "cancel_reason",
        "created_at",
        "started_at",
        "finished_at",
        "updated_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # runs are created through the API so they are validated

    @admin.action(description="Cancel selected runs")
    def cancel_runs(self, request: HttpRequest, queryset: QuerySet[WorkflowRun]) -> None:
        cancelled = 0
        for run in queryset:
            try:
                runs.cancel_run(run=run, reason=f"cancelled by {request.user} in the admin")
                cancelled += 1
            except DomainError as exc:
                self.message_user(request, f"{run}: {exc.detail}", level=messages.WARNING)
        self.message_user(request, f"Cancelled {cancelled} run(s).")


class WorkflowNodeRunInline(admin.TabularInline):
    model = WorkflowNodeRun
    fk_name = "node"
    extra = 0
    can_delete = False
    fields = ["attempt", "status", "error", "lease_owner", "lease_expires_at", "started_at", "finished_at"]
    readonly_fields = ["attempt", "status", "error", "lease_owner", "lease_expires_at", "started_at", "finished_at"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WorkflowNode)
class WorkflowNodeAdmin(admin.ModelAdmin):
    list_display = ["key", "run", "type", "status", "attempts", "not_before", "finished_at"]
    list_filter = ["status", "type"]
    search_fields = ["key", "run__name", "run__id"]
    list_select_related = ["run"]
    inlines = [WorkflowNodeRunInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(WorkflowNodeRun)
class WorkflowNodeRunAdmin(admin.ModelAdmin):
    list_display = ["node", "attempt", "status", "lease_owner", "lease_expires_at", "started_at", "finished_at"]
    list_filter = ["status"]
    search_fields = ["id", "node__key", "run__id", "external_task_id", "lease_owner"]
    list_select_related = ["node", "run"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(IdempotentRequest)
class IdempotentRequestAdmin(admin.ModelAdmin):
    """Stored ``Idempotency-Key`` responses: looked at when debugging a client, never edited (they expire)."""

    list_display = ["caller", "key", "status", "response_status", "created_at", "expires_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["=caller", "key"]
    exclude = ["response_body"]
    actions = None

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in self.model._meta.fields if f.name != "response_body"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
