"""Operator admin for tenancy and credentials. Actions call services; nothing edits a status directly."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest

from approvals.policy_schema import InvalidRiskPolicy, validate_tenant_override
from orchestrator import governance, services
from orchestrator.admin_base import (
    FittedAdmin,
    KeepRecordsMixin,
    ReadOnlyAdmin,
    ReadOnlyMixin,
    ViewOnlyPagesMixin,
    actor_link,
    service_action,
    tenant_filter,
)
from orchestrator.admin_scope import TenantScopedAdmin, operator_tenant_ids
from orchestrator.lib.errors import DomainError
from orchestrator.models import ApiKey, IdempotentRequest, Membership, ServiceAccount, Tenant, WorkerHeartbeat


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class TenantAdminForm(forms.ModelForm):
    """Validates the risk-policy override against the JSON Schema, one message per wrong field."""

    class Meta:
        model = Tenant
        fields = ["slug", "name", "risk_policy"]

    def clean_risk_policy(self) -> Any:
        policy = self.cleaned_data.get("risk_policy") or {}
        try:
            return validate_tenant_override(policy)
        except InvalidRiskPolicy as exc:
            raise forms.ValidationError([f"{e['field']}: {e['message']}" for e in exc.errors]) from exc


@admin.register(Tenant)
class TenantAdmin(TenantScopedAdmin):
    """Tenants; memberships and the risk policy are saved through the audited governance services."""

    tenant_path = ""
    form = TenantAdminForm
    list_display = ["slug", "name", "created_at"]
    list_filter = ["created_at"]
    search_fields = ["slug", "name"]
    inlines = [MembershipInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)  # operators run the tenants they have, they do not make new ones

    def save_model(self, request: HttpRequest, obj: Tenant, form: Any, change: bool) -> None:
        new_policy = obj.risk_policy or {}
        stored = Tenant.objects.filter(pk=obj.pk).values_list("risk_policy", flat=True).first() if change else None
        obj.risk_policy = stored or {}
        super().save_model(request, obj, form, change)
        governance.set_tenant_risk_policy(tenant=obj, policy=new_policy)  # audited with its diff

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not Membership:
            super().save_formset(request, form, formset, change)
            return
        instances = formset.save(commit=False)
        for membership in formset.deleted_objects:
            governance.remove_membership(membership=membership)
        for membership in instances:
            governance.set_membership(tenant=form.instance, user=membership.user, role=membership.role)


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role", "tenant"]
    search_fields = ["user__username", "tenant__slug"]
    list_select_related = ["user", "tenant"]
    autocomplete_fields = ["user", "tenant"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["user", "tenant"] if obj else []  # a membership changes role; moving it is remove + add

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        membership, _ = governance.set_membership(tenant=obj.tenant, user=obj.user, role=obj.role)
        obj.pk = membership.pk

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        governance.remove_membership(membership=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        for membership in queryset.select_related("user"):
            governance.remove_membership(membership=membership)


class ApiKeyAdminForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["scopes"]

    def clean_scopes(self) -> list[str]:
        scopes = self.cleaned_data.get("scopes")
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise forms.ValidationError("A JSON list of scope names.")
        try:
            return governance.validate_scopes(scopes)
        except DomainError as exc:
            raise forms.ValidationError(exc.detail) from exc


@admin.register(ApiKey)
class ApiKeyAdmin(KeepRecordsMixin, FittedAdmin):
    form = ApiKeyAdminForm
    list_display = ["name", "prefix", "tenant", "owner", "scope_list", "last_used_at", "revoked_at"]
    list_filter = ["tenant", "revoked_at", "created_at"]
    search_fields = ["name", "prefix", "tenant__slug"]
    list_select_related = ["tenant", "owner_user", "service_account", "created_by"]
    readonly_fields = [
        "name",
        "tenant",
        "owner_user",
        "service_account",
        "created_by",
        "prefix",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    actions = ["revoke_keys"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Keys are created with `manage.py create_api_key` or the API so the raw key is shown once, to its owner.
        return False

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        governance.set_api_key_scopes(api_key=obj, scopes=form.cleaned_data["scopes"])  # audited, caches dropped

    @admin.display(description="Owner")
    def owner(self, obj: ApiKey) -> str:
        return str(obj.service_account or obj.owner_user or "—")

    @admin.display(description="Scopes")
    def scope_list(self, obj: ApiKey) -> str:
        return ", ".join(obj.scopes or []) or "—"

    revoke_keys = service_action(
        "Revoke selected API keys", lambda request, key: services.revoke_api_key(api_key=key), done="Revoked"
    )


@admin.register(ServiceAccount)
class ServiceAccountAdmin(TenantScopedAdmin):
    """Named non-human principals. Created here or by the API; their keys come from the API or the command."""

    list_display = ["name", "tenant", "owner", "created_by", "created_at"]
    list_filter = ["tenant"]
    search_fields = ["name", "tenant__slug"]
    list_select_related = ["tenant", "owner", "created_by"]
    fields = ["tenant", "name", "owner"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["tenant", "name", "owner"] if obj else []

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "owner" and not request.user.is_superuser:
            tenants = operator_tenant_ids(request.user)
            kwargs["queryset"] = get_user_model().objects.filter(memberships__tenant_id__in=tenants).distinct()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: ServiceAccount, form: Any, change: bool) -> None:
        if change:
            return  # nothing is editable
        account, _ = governance.create_service_account(
            tenant=obj.tenant, name=obj.name, owner=obj.owner, created_by=request.user
        )
        obj.pk = account.pk


# --- Workflow engine ------------------------------------------------------------------------------------------

from orchestrator import runs  # noqa: E402
from orchestrator.models import ConsoleProfile, WorkflowNode, WorkflowNodeRun, WorkflowRun  # noqa: E402


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
class WorkflowRunAdmin(KeepRecordsMixin, ViewOnlyPagesMixin, FittedAdmin):
    """Runs are changed only through services (the "cancel run" action); the page is read-only, runs stay."""

    list_display = ["name", "tenant", "status", "creator", "created_at", "finished_at"]
    list_filter = ["status", "tenant", "created_at", "finished_at"]
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
        "creator",
        "starter",
        "error",
        "cancel_reason",
        "created_at",
        "started_at",
        "finished_at",
        "updated_at",
    ]

    exclude = ["created_by", "started_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # runs are created through the API so they are validated

    @admin.display(description="Created by")
    def creator(self, obj: WorkflowRun) -> str:
        return actor_link(obj.created_by)

    @admin.display(description="Started by")
    def starter(self, obj: WorkflowRun) -> str:
        return actor_link(obj.started_by)

    cancel_runs = service_action(
        "Cancel selected runs",
        lambda request, run: runs.cancel_run(run=run, reason=f"cancelled by {request.user} in the admin"),
        done="Cancelled",
    )


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
class WorkflowNodeAdmin(ReadOnlyAdmin):
    tenant_path = "run__tenant"

    list_display = ["key", "run", "type", "status", "attempts", "finished_at"]
    list_filter = ["status", "type", tenant_filter("run__tenant"), "finished_at"]
    search_fields = ["key", "run__name", "run__id"]
    list_select_related = ["run"]
    inlines = [WorkflowNodeRunInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in self.model._meta.fields]


@admin.register(WorkflowNodeRun)
class WorkflowNodeRunAdmin(ReadOnlyAdmin):
    tenant_path = "run__tenant"

    list_display = ["node", "attempt", "status", "lease_owner", "started_at", "finished_at"]
    list_filter = ["status", tenant_filter("run__tenant"), "started_at"]
    search_fields = ["id", "node__key", "run__id", "external_task_id", "lease_owner"]
    list_select_related = ["node", "run"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in self.model._meta.fields]


@admin.register(IdempotentRequest)
class IdempotentRequestAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Stored ``Idempotency-Key`` responses: looked at when debugging a client, never edited (they expire)."""

    list_display = ["caller", "key", "status", "response_status", "created_at", "expires_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["=caller", "key"]
    exclude = ["response_body"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in self.model._meta.fields if f.name != "response_body"]


@admin.register(ConsoleProfile)
class ConsoleProfileAdmin(admin.ModelAdmin):
    """People's console preferences (their time zone); they set it themselves on the console's settings page."""

    list_display = ["user", "time_zone", "updated_at"]
    list_filter = ["time_zone", "updated_at"]
    search_fields = ["user__username", "time_zone"]
    list_select_related = ["user"]
    readonly_fields = ["user", "updated_at"]


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Executor processes' heartbeats (crash recovery, issue 24): which workers are alive; written by the workers."""

    list_display = ["identity", "booted_at", "seen_at"]
    list_filter = ["seen_at"]
    search_fields = ["identity"]
