"""Console pages for workflow runs: the list and a run page that draws the DAG with node states."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from orchestrator.dag_svg import DagNode, render_dag_svg
from orchestrator.lib.auth import caller_for_user
from orchestrator.models import RunStatus, WorkflowRun


def _runs_visible_to(request: HttpRequest):
    caller = caller_for_user(request.user)
    return WorkflowRun.objects.filter(tenant_id__in=caller.tenant_ids()).select_related("tenant", "workspace")


@login_required
def run_list(request: HttpRequest) -> HttpResponse:
    runs = _runs_visible_to(request).order_by("-created_at")
    status = request.GET.get("status", "")
    if status in RunStatus.values:
        runs = runs.filter(status=status)
    query = request.GET.get("q", "").strip()
    if query:
        runs = runs.filter(name__icontains=query)
    page = Paginator(runs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "console/run_list.html",
        {"page": page, "statuses": RunStatus.values, "status": status, "q": query, "nav": "runs"},
    )


@login_required
def run_detail(request: HttpRequest, run_id: str) -> HttpResponse:
    run = _runs_visible_to(request).filter(pk=run_id).first()
    if run is None:
        raise Http404("No such workflow run.")
    nodes = list(run.nodes.order_by("key").prefetch_related("node_runs"))
    svg = render_dag_svg(
        [DagNode(n.key, n.type, n.status, tuple(n.depends_on or ()), n.name) for n in nodes], link_prefix="#node-"
    )
    return render(request, "console/run_detail.html", {"run": run, "nodes": nodes, "dag_svg": svg, "nav": "runs"})
