"""Tenant scoping for the admin (issue 15): a staff operator who is not a superuser sees and acts on the tenants
where they hold the ``operator`` role, and nothing else.

Every scoped ``ModelAdmin`` names the path from its model to the tenant (``tenant_path``). The queryset is
filtered, so change lists, search, object pages, actions (which run on the filtered queryset) and autocomplete
lookups (which use the related admin's queryset) are all scoped; the tenant list filter and foreign-key choices
offer only those tenants. Superusers see everything.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from orchestrator.models import Membership, Role, Tenant


def operator_tenant_ids(user: Any) -> list[Any]:
    """Tenants ``user`` operates (every tenant for a superuser is handled by the callers, not here)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    cached = getattr(user, "_operator_tenant_ids", None)
    if cached is None:
        cached = list(Membership.objects.filter(user=user, role=Role.OPERATOR).values_list("tenant_id", flat=True))
        user._operator_tenant_ids = cached  # per request: the user object lives as long as the request
    return cached


def is_unscoped(request: HttpRequest) -> bool:
    return bool(getattr(request.user, "is_superuser", False))


class ScopedTenantFilter(admin.SimpleListFilter):
    """The "By tenant" filter, offering only the tenants the operator may see."""

    title = "tenant"
    parameter_name = "tenant_scope"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[Any, str]]:
        tenants = Tenant.objects.order_by("slug")
        if not is_unscoped(request):
            tenants = tenants.filter(pk__in=operator_tenant_ids(request.user))
        return [(str(t.pk), t.slug) for t in tenants]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        path = getattr(self, "tenant_path", "tenant")
        return queryset.filter(**{"pk" if path == "pk" else f"{path}__pk": value})


class TenantScopedAdmin(admin.ModelAdmin):
    """Base class of every admin whose model belongs to a tenant. ``tenant_path``: ``""`` for ``Tenant`` itself."""

    tenant_path = "tenant"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        if is_unscoped(request):
            return queryset
        tenant_ids = operator_tenant_ids(request.user)
        if not self.tenant_path:
            return queryset.filter(pk__in=tenant_ids)
        return queryset.filter(**{f"{self.tenant_path}__in": tenant_ids})

    def get_list_filter(self, request: HttpRequest) -> Any:
        filters = list(super().get_list_filter(request))
        if "tenant" not in filters:
            return filters
        scoped = type("TenantFilter", (ScopedTenantFilter,), {"tenant_path": self.tenant_path or "pk"})
        return [scoped if f == "tenant" else f for f in filters]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if not is_unscoped(request):
            related: type[Model] = db_field.related_model
            tenant_ids = operator_tenant_ids(request.user)
            if related is Tenant:
                kwargs["queryset"] = Tenant.objects.filter(pk__in=tenant_ids)
            elif any(f.name == "tenant" for f in related._meta.fields):
                kwargs["queryset"] = related._default_manager.filter(tenant_id__in=tenant_ids)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
