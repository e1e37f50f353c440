"""Query filters of ``GET /workspaces``."""

from __future__ import annotations

import django_filters

from .models import Workspace, WorkspaceStatus


class WorkspaceFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=WorkspaceStatus.choices)
    name = django_filters.CharFilter(lookup_expr="icontains", help_text="Case-insensitive substring of the name.")

    class Meta:
        model = Workspace
        fields = ["status", "name"]
