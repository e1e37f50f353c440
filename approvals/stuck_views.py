"""Console pages for operators: approved actions whose execution is unknown because the worker died mid-way
(issue 24). Recovery never runs such an action again by itself; an operator checks what happened and either marks
it done (with a note and, optionally, its output) or asks for a fresh approval. Thin: a selector to read,
``execution.resolve_stuck_execution`` (the admin's service too) to resolve; both outcomes are audited there.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from orchestrator.lib.auth import caller_for_user
from orchestrator.lib.errors import DomainError

from . import execution, selectors

RESOLUTIONS = ("done", "fresh_approval")


@login_required
def stuck_list(request: HttpRequest) -> HttpResponse:
    """The stuck executions of the tenants where the user is an operator, oldest first."""
    caller = caller_for_user(request.user, request.session)
    records = list(selectors.stuck_executions_for(caller))
    return render(request, "console/stuck_executions.html", {"records": records, "resolutions": RESOLUTIONS})


@login_required
@require_POST
def stuck_resolve(request: HttpRequest, record_id: int) -> HttpResponse:
    """Resolve one stuck execution: ``resolution`` is ``done`` (``output``: optional JSON) or ``fresh_approval``;
    ``note`` is required. A refusal is a message on the list page, never an error page."""
    caller = caller_for_user(request.user, request.session)
    record = selectors.stuck_executions_for(caller).filter(pk=record_id).first()
    if record is None:
        raise Http404("No such stuck execution.")
    resolution = str(request.POST.get("resolution", ""))
    note = str(request.POST.get("note", ""))
    raw_output = str(request.POST.get("output", "")).strip()
    output: Any = None
    if resolution not in RESOLUTIONS:
        messages.error(request, "Choose: the action happened, or ask for a fresh approval.")
        return redirect("console:stuck")
    if raw_output and resolution == "done":
        try:
            output = json.loads(raw_output)
        except ValueError:
            messages.error(request, "The output must be JSON (or left empty).")
            return redirect("console:stuck")
    try:
        execution.resolve_stuck_execution(
            record=record,
            succeeded=resolution == "done",
            note=note,
            output=output,
            fresh_approval=resolution == "fresh_approval",
        )
    except DomainError as exc:
        messages.error(request, exc.detail)
        return redirect("console:stuck")
    if resolution == "done":
        messages.success(request, f"Marked done: execution {record.pk} of {record.approval.summary or 'the action'}.")
    else:
        messages.success(request, f"Asked for a fresh approval of {record.approval.summary or 'the action'}.")
    return redirect("console:stuck")
