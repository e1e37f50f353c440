"""Read-only admin for the audit log (SPEC §8): operators look, nobody adds, edits or deletes."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .integrity import ENTRY_FIELDS
from .models import AuditChainHead, AuditCheckpoint, AuditLog


class ReadOnlyAdmin(admin.ModelAdmin):
    """Every field read-only, no add/change/delete permission and no bulk actions."""

    actions = None

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "tenant",
        "sequence",
        "action",
        "actor_type",
        "actor_display",
        "resource_type",
        "resource_id",
        "ip",
    ]
    list_filter = ["action", "actor_type", "resource_type", "tenant", "created_at"]
    search_fields = ["=id", "=event_id", "=resource_id", "=actor_id", "actor_display", "=request_id", "reason"]
    list_select_related = ["tenant"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    show_full_result_count = False  # counting millions of rows on every page view is slow
    readonly_fields = ("id", "tenant", "chain", *(f for f in ENTRY_FIELDS if f not in ("id", "tenant_id")))
    fields = readonly_fields


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "chain", "sequence", "removed", "cutoff"]
    list_filter = ["created_at"]
    search_fields = ["=chain"]
    ordering = ["-created_at"]
    readonly_fields = ("id", "chain", "sequence", "hash", "removed", "cutoff", "created_at")
    fields = readonly_fields


@admin.register(AuditChainHead)
class AuditChainHeadAdmin(ReadOnlyAdmin):
    list_display = ["chain", "last_sequence", "last_hash"]
    search_fields = ["=chain"]
