"""Filter fields shared by the list endpoints."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend


class UTCIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 datetime, normalised to UTC in Python.

    PostgreSQL refuses UTC offsets beyond ±15:59 that Python accepts (``2020-01-01T00:00:00-21:53``), which used to
    surface as a 500 ("time zone displacement out of range"); normalised here, or a 400 when out of range.
    """

    def to_python(self, value: Any) -> datetime | None:
        parsed = super().to_python(value)
        if parsed is None or parsed.tzinfo is None:
            return parsed
        try:
            return parsed.astimezone(UTC)
        except (OverflowError, ValueError):
            raise forms.ValidationError("Enter a datetime within the supported range.", code="invalid") from None


class UTCIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UTCIsoDateTimeField


class QuickFilterBackend(DjangoFilterBackend):
    """``DjangoFilterBackend`` that skips building the filter set and its form when the request names none of its
    filters (the common ``?limit=&cursor=`` page): the queryset is then what the filter set would return for no
    input, i.e. unfiltered, or its ``unfiltered(queryset)`` when it applies a default (approvals: PENDING).
    Building a filter set deep-copies every filter and validates a form, a measurable share of a list request."""

    def filter_queryset(self, request: Any, queryset: Any, view: Any) -> Any:
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None and not any(
            name in request.query_params for name in filterset_class.base_filters
        ):
            unfiltered = getattr(filterset_class, "unfiltered", None)
            return unfiltered(queryset) if unfiltered is not None else queryset
        return super().filter_queryset(request, queryset, view)
