"""The audit filters (SPEC §7.2), shared by ``GET /audit``, ``/audit/stats``, ``/audit/export`` and
``manage.py audit_export`` so every interface means the same thing by the same parameter.

``since`` is inclusive and ``until`` exclusive; both take an ISO 8601 datetime (naive means UTC) or a date.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework.exceptions import ValidationError

from .models import AuditLog


class InstantField(forms.Field):
    """An ISO 8601 datetime (``2026-01-02T03:04:05Z``) or date (``2026-01-02`` = its midnight UTC)."""

    default_error_messages = {"invalid": "Enter an ISO 8601 datetime or date."}

    def to_python(self, value: Any) -> datetime | None:
        if value in (None, ""):
            return None
        if isinstance(value, datetime):
            parsed: datetime | None = value
        else:
            text = str(value).strip()
            try:
                parsed = parse_datetime(text)
                if parsed is None and (day := parse_date(text)) is not None:
                    parsed = datetime.combine(day, time.min)
            except ValueError:
                parsed = None
        if parsed is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        # Normalised to UTC here: PostgreSQL refuses offsets beyond ±15:59 that Python accepts (a 500 otherwise).
        try:
            return parsed.astimezone(UTC)
        except (OverflowError, ValueError):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class InstantFilter(django_filters.Filter):
    field_class = InstantField


class AuditLogFilter(django_filters.FilterSet):
    action = django_filters.CharFilter(field_name="action")
    actor_type = django_filters.CharFilter(field_name="actor_type")
    actor_id = django_filters.CharFilter(field_name="actor_id")
    resource_type = django_filters.CharFilter(field_name="resource_type")
    resource_id = django_filters.CharFilter(field_name="resource_id")
    tenant_id = django_filters.UUIDFilter(field_name="tenant_id")
    since = InstantFilter(field_name="created_at", lookup_expr="gte", label="Created at or after (inclusive)")
    until = InstantFilter(field_name="created_at", lookup_expr="lt", label="Created before (exclusive)")

    class Meta:
        model = AuditLog
        fields: list[str] = []


def filter_entries(entries: QuerySet[AuditLog], params: Any) -> QuerySet[AuditLog]:
    """Apply the audit filters in ``params`` (a QueryDict or dict); raises DRF ``ValidationError`` on bad input."""
    filterset = AuditLogFilter(params, queryset=entries)
    if not filterset.is_valid():
        raise ValidationError(filterset.errors)
    return filterset.qs
