"""Read-only admin for the audit log (SPEC §8): operators look, nobody adds, edits or deletes."""

from __future__ import annotations

from django.contrib import admin

from orchestrator.admin_base import COMPACT_LIST_CSS, ReadOnlyMixin, actor_link

from .integrity import ENTRY_FIELDS
from .models import AuditChainHead, AuditCheckpoint, AuditLog


class ReadOnlyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Every field read-only, no add/change/delete permission and no bulk actions (the shared plumbing)."""

    class Media:
        css = COMPACT_LIST_CSS


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "tenant", "action", "actor", "resource", "ip"]
    list_filter = ["action", "actor_type", "resource_type", "tenant", "created_at"]
    search_fields = ["=id", "=event_id", "=resource_id", "=actor_id", "actor_display", "=request_id", "reason"]
    list_select_related = ["tenant"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    show_full_result_count = False  # counting millions of rows on every page view is slow
    readonly_fields = (
        "id",
        "tenant",
        "chain",
        "actor",
        *(f for f in ENTRY_FIELDS if f not in ("id", "tenant_id")),
    )
    fields = readonly_fields

    @admin.display(description="Actor", ordering="actor_display")
    def actor(self, obj: AuditLog) -> str:
        return actor_link({"type": obj.actor_type, "id": obj.actor_id, "display": obj.actor_display})

    @admin.display(description="Resource", ordering="resource_type")
    def resource(self, obj: AuditLog) -> str:
        return f"{obj.resource_type} {obj.resource_id}".strip()


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
