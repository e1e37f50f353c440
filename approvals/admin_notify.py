"""Admin of issue 20: tenants' routing overrides (validated and audited by the service), delegations (created and
ended through the service), explicit Slack links, and the notification outbox (read-only). Imported by
``approvals.admin`` so the admin's autodiscovery registers it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from orchestrator.admin_base import FittedAdmin, KeepRecordsMixin, ReadOnlyAdmin, ViewOnlyPagesMixin, service_action
from orchestrator.admin_scope import TenantScopedAdmin
from orchestrator.lib.errors import DomainError

from . import delegation, routing_config
from .models import Delegation, NotificationOutbox, SlackIdentity, TenantRouting


class TenantRoutingForm(forms.ModelForm):
    class Meta:
        model = TenantRouting
        fields = ["tenant", "config"]

    def clean_config(self) -> Any:
        config = self.cleaned_data.get("config")
        try:
            return routing_config.validate_tenant_routing(config if config is not None else {})
        except routing_config.InvalidRouting as exc:
            raise forms.ValidationError([f"{e['field']}: {e['message']}" for e in exc.errors]) from exc


@admin.register(TenantRouting)
class TenantRoutingAdmin(TenantScopedAdmin):
    form = TenantRoutingForm
    list_display = ["tenant", "updated_at"]
    search_fields = ["tenant__slug", "tenant__name"]
    list_select_related = ["tenant"]

    def save_model(self, request: HttpRequest, obj: TenantRouting, form: Any, change: bool) -> None:
        # Through the service: validated again, saved and audited (tenant.approval_routing_changed).
        routing_config.set_tenant_routing(tenant=obj.tenant, config=obj.config)


class DelegationForm(forms.ModelForm):
    class Meta:
        model = Delegation
        fields = ["tenant", "delegator", "delegate", "starts_at", "ends_at", "note"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if all(data.get(k) for k in ("tenant", "delegator", "delegate", "starts_at", "ends_at")):
            try:
                delegation.check_delegation(
                    tenant=data["tenant"],
                    delegator=data["delegator"],
                    delegate=data["delegate"],
                    starts_at=data["starts_at"],
                    ends_at=data["ends_at"],
                )
            except DomainError as exc:
                raise forms.ValidationError(exc.detail) from exc
        return data


@admin.register(Delegation)
class DelegationAdmin(ViewOnlyPagesMixin, KeepRecordsMixin, FittedAdmin):
    form = DelegationForm
    list_display = ["delegator", "delegate", "starts_at", "ends_at", "revoked_at", "tenant"]
    list_filter = ["tenant"]
    list_select_related = ["delegator", "delegate", "tenant"]
    search_fields = ["delegator__username", "delegate__username", "tenant__slug"]
    readonly_fields = ["revoked_at"]
    actions = ["end_now"]

    def save_model(self, request: HttpRequest, obj: Delegation, form: Any, change: bool) -> None:
        # Through the service (the form already ran its checks): the row and its audit entry.
        created = delegation.create_delegation(
            tenant=obj.tenant,
            delegator=obj.delegator,
            delegate=obj.delegate,
            starts_at=obj.starts_at,
            ends_at=obj.ends_at,
            note=obj.note,
        )
        obj.pk = created.pk

    end_now = service_action(
        "End the selected delegations now",
        lambda request, row: delegation.revoke_delegation(delegation=row),
        done="Ended",
    )


@admin.register(SlackIdentity)
class SlackIdentityAdmin(admin.ModelAdmin):
    """Explicit Slack user → person links (superusers: it spans tenants, like adding people to tenants)."""

    list_display = ["slack_user_id", "user", "created_at"]
    search_fields = ["slack_user_id", "user__username", "user__email"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)


@admin.register(NotificationOutbox)
class NotificationOutboxAdmin(ReadOnlyAdmin):
    list_display = ["approval", "channel", "kind", "recipient", "status", "attempts", "sent_at"]
    list_filter = ["status", "channel", "kind", "tenant"]
    search_fields = ["recipient", "approval__summary"]
    list_select_related = ["approval", "tenant"]
