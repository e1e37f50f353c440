"""Operator admin for webhooks. Secrets are never displayed (only once, right after a rotation); actions call
the same services as the API; delivery history is read-only.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from orchestrator.admin_base import FittedAdmin, ReadOnlyAdmin, ViewOnlyPagesMixin, service_action

from . import services
from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookSecret


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(FittedAdmin):
    list_display = ["url", "tenant", "enabled", "event_list", "failing_since", "created_at"]
    list_filter = ["enabled", "tenant", "created_at"]
    search_fields = ["url", "description", "tenant__slug"]
    list_select_related = ["tenant"]
    readonly_fields = ["tenant", "url", "events", "disabled_reason", "disabled_at", "failing_since", "created_at"]
    fields = ["tenant", "url", "events", "enabled", "description", *readonly_fields[3:]]
    actions = ["rotate_secret"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Endpoints are created through the API, which shows the secret once to the subscriber.
        return False

    @admin.display(description="Events")
    def event_list(self, obj: WebhookEndpoint) -> str:
        return ", ".join(obj.events or []) or "—"

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool) -> None:
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name in ("enabled", "description")}
        if changes:
            services.update_endpoint(endpoint=obj, changes=changes)

    def delete_model(self, request: HttpRequest, obj: WebhookEndpoint) -> None:
        services.delete_endpoint(endpoint=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            services.delete_endpoint(endpoint=endpoint)

    @admin.action(description="Rotate secret (shows the new secrets once)")
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> HttpResponse:
        rotated = []
        for endpoint in queryset.select_related("tenant"):
            secret, expires_at = services.rotate_secret(endpoint=endpoint)
            rotated.append({"endpoint": endpoint, "secret": secret, "expires_at": expires_at})
        # Rendered directly, never put in a message: messages may be stored in a cookie.
        return TemplateResponse(
            request,
            "admin/webhooks/secret_rotated.html",
            {**self.admin_site.each_context(request), "title": "Secrets rotated", "rotated": rotated},
        )


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = ("number", "created_at", "success", "status_code", "latency_ms", "error", "response_excerpt")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ViewOnlyPagesMixin, FittedAdmin):
    """Delivery history: read-only pages, the "redeliver" action calls the service."""

    list_display = [
        "event_type",
        "endpoint",
        "status",
        "attempt_count",
        "last_status_code",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = ["status", "event_type", "tenant", "created_at"]
    search_fields = ["message_id", "event_id", "endpoint__url"]
    list_select_related = ["endpoint", "tenant"]
    date_hierarchy = "created_at"
    inlines = [WebhookAttemptInline]
    actions = ["redeliver"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in WebhookDelivery._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    redeliver = service_action(
        "Redeliver selected deliveries", lambda request, row: services.redeliver(delivery=row), done="Queued again"
    )


@admin.register(WebhookSecret)
class WebhookSecretAdmin(ReadOnlyAdmin):
    """When each signing secret was made and until when it signs; never the secret (use "Rotate secret")."""

    tenant_path = "endpoint__tenant"

    list_display = ["id", "endpoint", "created_at", "expires_at"]
    list_filter = ["created_at", "expires_at"]
    search_fields = ["=endpoint__id", "endpoint__url"]
    list_select_related = ["endpoint"]
    fields = ("endpoint", "created_at", "expires_at")
    readonly_fields = ("endpoint", "created_at", "expires_at")


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(ReadOnlyAdmin):
    tenant_path = "delivery__tenant"
    list_display = ["delivery", "number", "success", "status_code", "latency_ms", "error", "created_at"]
    list_filter = ["success", "status_code", "created_at"]
    search_fields = ["=delivery__id", "delivery__message_id", "error"]
    list_select_related = ["delivery", "delivery__endpoint"]
