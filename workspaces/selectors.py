"""Reads of workspaces scoped to the caller (another tenant's workspace is a 404), and the scrape-time gauge."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Count, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from orchestrator.lib.auth import Caller
from orchestrator.lib.ids import parse_uuid
from orchestrator.models import Scope

from .models import Workspace, WorkspaceStatus


def workspaces_for(caller: Caller) -> QuerySet[Workspace]:
    """Workspaces of the tenants whose workspaces the caller may read."""
    return Workspace.objects.filter(tenant_id__in=caller.readable_tenants(Scope.WORKSPACES))


def get_workspace_for(caller: Caller, workspace_id: Any) -> Workspace:
    """One readable workspace, or 404 (also for a malformed id and for another tenant's workspace)."""
    pk = parse_uuid(workspace_id)
    if pk is None:
        raise Http404("No such workspace.")
    return get_object_or_404(workspaces_for(caller), pk=pk)


def workspaces_by_status() -> Iterable[tuple[tuple[str, ...], float]]:
    """Samples of the ``workspaces{status}`` gauge: every status, zero included."""
    counts = dict(Workspace.objects.values_list("status").annotate(n=Count("id")).order_by())
    return [((status,), float(counts.get(status, 0))) for status in WorkspaceStatus.values]
