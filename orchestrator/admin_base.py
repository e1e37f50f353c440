"""The admin plumbing every app's admin shares (issue 21), defined once.

- ``ReadOnlyAdmin``: records operators look at and never edit (audit, attempts, decisions): no add, change or
  delete, no bulk actions; the object page is a read-only page with no Save or Delete button.
- ``KeepRecordsMixin``: records that must stay (runs, approvals, audit) cannot be deleted, one by one or in bulk;
  other actions remain.
- ``service_action``: "run a service on the selected rows" as an admin action: one call per row, a refusal
  (``DomainError``) becomes a warning naming the row, and one summary message.
- ``actor_link`` / ``actor_display``: a recorded actor (``{"type", "id", "display"}``) as a name linking to the
  person's, key's or service account's admin page instead of raw JSON.
- ``COMPACT_LIST_CSS``: a stylesheet that keeps list columns inside a 1366 px screen (long text is cut with an
  ellipsis; the full value is in the cell's ``title``).

Admins also set ``list_select_related`` so a list page issues a fixed number of queries whatever its row count
(tests/console/test_admin_fit.py asserts the counts).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from orchestrator.admin_scope import ScopedTenantFilter, TenantScopedAdmin
from orchestrator.lib.errors import DomainError

COMPACT_LIST_CSS = {"all": ["console/admin-lists.css"]}


class KeepRecordsMixin:
    """No delete, neither on the object page nor as the "Delete selected" bulk action."""

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyMixin(KeepRecordsMixin):
    """Every field read-only, no add, change or delete permission and no bulk actions (the object page shows
    the record with only a Close link)."""

    actions: Any = None

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ViewOnlyPagesMixin:
    """Object pages are read-only (no Save buttons) while list actions that call services stay available: the
    change permission is granted only for the list (``obj is None``)."""

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and bool(super().has_change_permission(request, obj))  # type: ignore[misc]


class FittedAdmin(TenantScopedAdmin):
    """A tenant-scoped admin whose list columns fit a laptop screen (``COMPACT_LIST_CSS``)."""

    class Media:
        css = COMPACT_LIST_CSS


class ReadOnlyAdmin(ReadOnlyMixin, FittedAdmin):
    """A tenant-scoped read-only admin."""


def tenant_filter(path: str) -> type[ScopedTenantFilter]:
    """The scoped "By tenant" list filter for a model that reaches its tenant through ``path``
    (``"run__tenant"``); a model with its own ``tenant`` field lists the string ``"tenant"`` instead."""
    return type("TenantFilter", (ScopedTenantFilter,), {"tenant_path": path})


ServiceCall = Callable[[HttpRequest, Any], Any]


def service_action(
    description: str, call: ServiceCall, *, done: str, permissions: list[str] | None = None
) -> Callable[[Any, HttpRequest, QuerySet[Any]], None]:
    """An admin action running ``call(request, row)`` (one service call) on each selected row.

    ``done`` is the past tense for the summary ("Cancelled"). A ``DomainError`` from the service is a warning
    naming the row and the run goes on with the next one. ``call`` looks its service up when it runs (write it as
    a lambda over the module), so the service can be swapped in tests.
    """

    def action(model_admin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        succeeded = 0
        for row in queryset:
            try:
                call(request, row)
                succeeded += 1
            except DomainError as exc:
                model_admin.message_user(request, f"{row}: {exc.detail}", level=messages.WARNING)
        meta = queryset.model._meta
        noun = meta.verbose_name if succeeded == 1 else meta.verbose_name_plural
        model_admin.message_user(request, f"{done} {succeeded} {noun}.")

    decorated: Callable[[Any, HttpRequest, QuerySet[Any]], None] = admin.action(
        description=description, permissions=permissions
    )(action)
    return decorated


_ACTOR_ADMIN_PAGES = {
    "user": "admin:auth_user_change",
    "api_key": "admin:orchestrator_apikey_change",
    "service_account": "admin:orchestrator_serviceaccount_change",
}


def actor_display(actor: Any) -> str:
    """A recorded actor's name (``display``, else ``type id``), ``—`` for none."""
    if not isinstance(actor, Mapping) or not actor:
        return "—"
    return str(actor.get("display") or f"{actor.get('type', '?')} {actor.get('id', '')}".strip())


def actor_link(actor: Any) -> str:
    """A recorded actor as its name linking to its admin page (a person, an API key, a service account); the
    system and unknown kinds are plain text. Safe HTML."""
    name = actor_display(actor)
    if not isinstance(actor, Mapping):
        return name
    kind, ident = str(actor.get("type", "")), str(actor.get("id", ""))
    page = _ACTOR_ADMIN_PAGES.get(kind)
    if page is None or not ident:
        return format_html('{} <span class="quiet">({})</span>', name, kind or "unknown")
    try:
        url = reverse(page, args=[ident])
    except NoReverseMatch:
        return name
    label = {"user": "person", "api_key": "API key", "service_account": "service account"}[kind]
    return format_html('<a href="{}">{}</a> <span class="quiet">({})</span>', url, name, label)


def related_link(obj: Model | None, text: str | None = None) -> str:
    """A link to ``obj``'s admin page (``—`` for none), for list columns that name a related record."""
    if obj is None:
        return "—"
    meta = obj._meta
    try:
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return str(text or obj)
    return format_html('<a href="{}">{}</a>', url, text or str(obj))
