"""Console pages for workflow runs: the list and a run page that draws the DAG with node states.

Reads go through the engine's selectors (``orchestrator.selectors``), so tenancy is the API's: another
tenant's run is a 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from approvals.selectors import approvals_for
from orchestrator import selectors
from orchestrator.dag_svg import DagNode, layer_nodes, render_dag_svg
from orchestrator.lib.auth import caller_for_user
from orchestrator.lib.errors import InvalidInput, NotFoundError
from orchestrator.models import RunStatus, WorkflowNode, WorkflowNodeRun, WorkflowRun
from orchestrator.profiles import set_time_zone, time_zone_for, time_zone_names


def run_dag_svg(run: WorkflowRun, nodes: list[WorkflowNode], *, link_prefix: str, highlight: str | None = None) -> str:
    """The run's DAG as SVG; boxes link to ``link_prefix + key``."""
    return render_dag_svg(
        [DagNode(n.key, n.type, n.status, tuple(n.depends_on or ()), n.name) for n in nodes],
        link_prefix=link_prefix,
        highlight=highlight,
    )


def run_nodes(run: WorkflowRun) -> list[WorkflowNode]:
    """The run's nodes in graph order (layer by layer, as drawn) with their attempts (oldest first)."""
    nodes = list(
        run.nodes.order_by("position", "key").prefetch_related(
            Prefetch("node_runs", queryset=WorkflowNodeRun.objects.order_by("attempt"))
        )
    )
    layers = layer_nodes([DagNode(n.key, n.type, n.status, tuple(n.depends_on or ())) for n in nodes])
    order = {node.key: index for index, node in enumerate(n for layer in layers for n in layer)}
    return sorted(nodes, key=lambda n: order.get(n.key, len(order)))


@login_required
def run_list(request: HttpRequest) -> HttpResponse:
    runs = selectors.runs_for(caller_for_user(request.user)).select_related("tenant").order_by("-created_at")
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
    caller = caller_for_user(request.user)
    try:
        run = selectors.get_run_for(caller, run_id)
    except NotFoundError as exc:
        raise Http404(exc.detail) from exc
    nodes = run_nodes(run)
    approvals = list(approvals_for(caller).filter(run=run))
    waiting = {a.node.key: a for a in approvals if a.status == "PENDING"}
    context = {
        "run": run,
        "nodes": nodes,
        "approvals": approvals,
        "waiting": waiting,
        "dag_svg": run_dag_svg(run, nodes, link_prefix="#node-"),
        "nav": "runs",
        "live": run.status in (RunStatus.PENDING, RunStatus.RUNNING),
        "self_url": reverse("console:run", args=[run.pk]),
    }
    return render(request, "console/run_detail.html", context)


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    """The person's console settings: the time zone absolute times are shown in (``profiles.set_time_zone``)."""
    status = 200
    if request.method == "POST":
        try:
            set_time_zone(user=request.user, name=request.POST.get("time_zone", "").strip())
        except InvalidInput as exc:
            messages.error(request, exc.detail)
            status = 400
        else:
            messages.success(request, "Saved. Times are now shown in your time zone.")
            return redirect("console:profile")
    context = {"zones": time_zone_names(), "current": str(time_zone_for(request.user)), "nav": "profile"}
    return render(request, "console/profile.html", context, status=status)
