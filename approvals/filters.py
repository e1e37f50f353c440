"""Filters of ``GET /approvals`` (SPEC §6.1). ``status`` defaults to PENDING; ``status=ALL`` lists every status.
The status filtered on is the one readers see (``selectors.shown_status``, annotated by ``approvals_for``)."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet

from orchestrator.lib.filters import UTCIsoDateTimeFilter

from . import selectors
from .models import ApprovalRequest, ApprovalStatus, RiskLevel

STATUS_CHOICES = [*ApprovalStatus.choices, ("ALL", "All")]
DEFAULT_STATUS = ApprovalStatus.PENDING


class ApprovalFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=STATUS_CHOICES, method="filter_status")
    risk_level = django_filters.MultipleChoiceFilter(choices=RiskLevel.choices)
    tool = django_filters.CharFilter(field_name="tool")
    workflow_id = django_filters.UUIDFilter(field_name="run_id")
    requested_after = UTCIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    requested_before = UTCIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = ApprovalRequest
        fields = ["status", "risk_level", "tool", "workflow_id", "requested_after", "requested_before"]

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        if data is not None and "status" not in data:
            data = data.copy()
            data["status"] = DEFAULT_STATUS
        super().__init__(data, *args, **kwargs)

    @classmethod
    def unfiltered(cls, queryset: QuerySet[ApprovalRequest]) -> QuerySet[ApprovalRequest]:
        """What an empty query selects (``orchestrator.lib.filters.QuickFilterBackend``): the default status."""
        return queryset.filter(selectors.shown_as(DEFAULT_STATUS))

    def filter_status(self, queryset: QuerySet[ApprovalRequest], name: str, value: list[str]) -> Any:
        if not value or "ALL" in value:
            return queryset
        return queryset.filter(selectors.shown_as(*value))
