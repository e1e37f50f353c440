"""Operator admin for approvals. Read-only records; actions call the same services as the API."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from orchestrator.lib.context import user_actor
from orchestrator.lib.errors import DomainError

from . import execution, services
from .models import ApprovalDecision, ApprovalRequest, ExecutionStatus, IdempotencyRecord


class ReadOnlyMixin:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class DecisionInline(ReadOnlyMixin, admin.TabularInline):
    model = ApprovalDecision
    extra = 0
    can_delete = False
    fields = ("decision", "decider_type", "decider_id", "decider_display", "reason", "ip", "created_at")
    readonly_fields = ("decision", "decider_type", "decider_id", "decider_display", "reason", "ip", "created_at")


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "tool",
        "summary",
        "risk_level",
        "status",
        "tenant",
        "run",
        "source",
        "created_at",
        "expires_at",
    ]
    list_filter = ["status", "risk_level", "source", "tool", "tenant"]
    search_fields = ["=id", "tool", "summary", "=action_hash", "run__name"]
    list_select_related = ["tenant", "run"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    inlines = [DecisionInline]
    actions = ["expire_selected"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in ApprovalRequest._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # requests come from the scheduler and the API only

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Expire selected approval requests")
    def expire_selected(self, request: HttpRequest, queryset: QuerySet[ApprovalRequest]) -> None:
        expired = 0
        for approval in queryset:
            try:
                services.expire_approval(
                    approval=approval, actor=user_actor(request.user), reason="expired by an operator"
                )
                expired += 1
            except DomainError as exc:
                self.message_user(request, f"{approval.pk}: {exc.detail}", level=messages.WARNING)
        self.message_user(request, f"Expired {expired} request(s).")


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "approval", "status", "node_run_id", "created_at", "completed_at", "expires_at"]
    list_filter = ["status", "tenant"]
    search_fields = ["=action_hash", "=node_run_id", "=approval__id"]
    list_select_related = ["approval", "tenant"]
    actions = ["mark_completed", "mark_failed"]

    def _resolve(self, request: HttpRequest, queryset: QuerySet[IdempotencyRecord], succeeded: bool) -> None:
        done = 0
        for record in queryset.filter(status=ExecutionStatus.IN_PROGRESS):
            try:
                execution.resolve_stuck_execution(record=record, succeeded=succeeded, note=str(request.user))
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{record.pk}: {exc.detail}", level=messages.WARNING)
        self.message_user(request, f"Resolved {done} stuck execution(s).")

    @admin.action(description="Resolve stuck (IN_PROGRESS) executions: the action DID happen")
    def mark_completed(self, request: HttpRequest, queryset: QuerySet[IdempotencyRecord]) -> None:
        self._resolve(request, queryset, True)

    @admin.action(description="Resolve stuck (IN_PROGRESS) executions: the action did NOT happen")
    def mark_failed(self, request: HttpRequest, queryset: QuerySet[IdempotencyRecord]) -> None:
        self._resolve(request, queryset, False)


@admin.register(ApprovalDecision)
class ApprovalDecisionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["approval", "decision", "decider_type", "decider_display", "created_at"]
    list_filter = ["decision", "decider_type", "created_at"]
    search_fields = ["=approval__id", "=decider_id", "decider_display", "reason"]
    list_select_related = ["approval"]
    actions = None
