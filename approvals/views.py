"""Console pages for approvals (SPEC §8): the pending queue, a request's detail with the decide forms, and the
decided history. Thin: a selector to read, ``services.decide_approval`` (the API's service, unchanged) to decide.

Every rule of §6 is the service's; a refusal (self-approval, expiry, a concurrent decision, a viewer trying to
decide) becomes a message on the detail page, never an error page.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from audit.selectors import approval_trail_for
from orchestrator.console.stepup import step_up_url
from orchestrator.console.views import run_dag_svg, run_nodes
from orchestrator.lib.auth import Caller, caller_for_user
from orchestrator.lib.errors import DomainError, NotFoundError
from orchestrator.models import Scope
from orchestrator.profiles import time_zone_for

from . import authority, selectors, services
from .cards import action_card, preview_diff
from .errors import StepUpRequired
from .forms import ApproveForm, QueueFilterForm, RejectForm
from .models import ApprovalRequest, ApprovalStatus, DecisionKind
from .routing import ASSIGNED_CHOICES, filter_assigned

PAGE_SIZE = 50
AUTOREFRESH_SECONDS = 15
# The detail page asks the state endpoint this often whether someone else decided meanwhile.
LIVE_POLL_SECONDS = 5
# Approving these takes a second, explicit step that names the action.
CONFIRM_RISK_LEVELS = ("HIGH", "CRITICAL")


def _filtered(queryset: QuerySet[ApprovalRequest], form: QueueFilterForm) -> QuerySet[ApprovalRequest]:
    data = form.cleaned_data if form.is_valid() else {}
    if data.get("risk_level"):
        queryset = queryset.filter(risk_level=data["risk_level"])
    if data.get("tool"):
        queryset = queryset.filter(tool__icontains=data["tool"])
    if data.get("status"):
        queryset = queryset.filter(status=data["status"])
    if data.get("q"):
        q = data["q"]
        queryset = queryset.filter(
            Q(summary__icontains=q) | Q(tool__icontains=q) | Q(run__name__icontains=q) | Q(node__key__icontains=q)
        )
    return queryset


def _query_string(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    """Pending requests of the reader's tenants, most urgent (soonest to expire) first."""
    caller = caller_for_user(request.user, request.session)
    form = QueueFilterForm(request.GET)
    shown_pending = selectors.shown_as(ApprovalStatus.PENDING)
    pending = selectors.approvals_for(caller).filter(shown_pending).select_related("tenant", "run", "node")
    total = pending.count()
    assigned = request.GET.get("assigned") or ""  # issue 20: "Assigned to me" / "My groups"
    rows = filter_assigned(_filtered(pending, form), caller, assigned).order_by("expires_at", "created_at")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "form": form,
        "total": total,
        "filtered": (form.is_valid() and any(form.cleaned_data.values())) or bool(assigned),
        "query_string": _query_string(request),
        "autorefresh": AUTOREFRESH_SECONDS,
        "reviewer_tz": time_zone_for(request.user),
        "nav": "queue",
        "assigned": assigned,
        "assigned_choices": ASSIGNED_CHOICES,
    }
    return render(request, "console/approval_queue.html", context)


@login_required
def history(request: HttpRequest) -> HttpResponse:
    """Requests that are no longer pending, most recently decided (or created) first."""
    caller = caller_for_user(request.user, request.session)
    form = QueueFilterForm(request.GET)
    shown_pending = selectors.shown_as(ApprovalStatus.PENDING)
    decided = selectors.approvals_for(caller).exclude(shown_pending).select_related("tenant", "run", "node")
    rows = _filtered(decided, form).order_by("-updated_at", "-created_at")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "form": form,
        "query_string": _query_string(request),
        "reviewer_tz": time_zone_for(request.user),
        "nav": "history",
    }
    return render(request, "console/approval_history.html", context)


def _approval_or_404(caller: Caller, approval_id: Any) -> ApprovalRequest:
    try:
        return selectors.get_approval_for(caller, approval_id)
    except NotFoundError as exc:
        raise Http404(exc.detail) from exc


def _shown(approval: ApprovalRequest) -> ApprovalRequest:
    """``approval`` as a reader sees it, for pages only: an overdue request shows EXPIRED (and no buttons) even
    before the periodic task writes it. In memory, never saved; a decision re-reads the row in its service."""
    approval.status = selectors.status_of(approval)
    return approval


STASHED_REASON = "console_stashed_reason"


def _render_detail(
    request: HttpRequest,
    caller: Caller,
    approval: ApprovalRequest,
    *,
    approve_form: ApproveForm | None = None,
    reject_form: RejectForm | None = None,
    status: int = 200,
) -> HttpResponse:
    decisions = list(approval.decisions.all())
    # A reason typed before a step-up comes back into its form (taken once).
    stashed_all = request.session.pop(STASHED_REASON, {}) if hasattr(request, "session") else {}
    stashed = stashed_all.get(str(approval.pk), {}) if isinstance(stashed_all, dict) else {}
    approvals_so_far = sum(1 for d in decisions if d.decision == DecisionKind.APPROVE)
    nodes = run_nodes(approval.run)
    run_url = reverse("console:run", args=[approval.run_id])
    can_decide = caller.has_scope(Scope.APPROVALS_DECIDE, approval.tenant_id)
    previous = selectors.superseded_request(approval)
    context = {
        "approval": approval,
        "run": approval.run,
        "decisions": decisions,
        "approvals_so_far": approvals_so_far,
        "quorum_percent": min(100, round(100 * approvals_so_far / max(1, approval.required_approvals))),
        "params_json": json.dumps(approval.params, indent=2, sort_keys=True, ensure_ascii=False),
        "card": action_card(approval.tool, approval.params),
        "previous": previous,
        "diff": preview_diff(previous.preview, approval.preview) if previous is not None else [],
        "needs_confirmation": approval.risk_level in CONFIRM_RISK_LEVELS,
        "reviewer_tz": time_zone_for(request.user),
        "live_url": reverse("console:approval_state", args=[approval.pk]),
        "live_seconds": LIVE_POLL_SECONDS,
        "context_json": json.dumps(approval.context, indent=2, sort_keys=True, ensure_ascii=False)
        if approval.context
        else "",
        "trail": list(approval_trail_for(caller, str(approval.pk))[:200]),
        "dag_svg": run_dag_svg(approval.run, nodes, link_prefix=f"{run_url}#node-", highlight=approval.node.key),
        "run_url": run_url,
        "is_pending": approval.status == ApprovalStatus.PENDING,
        "can_decide": can_decide,
        "role": caller.roles_by_tenant.get(approval.tenant_id, ""),
        "is_requester": authority.is_requester(caller, approval),
        "approve_form": approve_form or ApproveForm(initial=stashed.get(DecisionKind.APPROVE, {})),
        "reject_form": reject_form or RejectForm(initial=stashed.get(DecisionKind.REJECT, {})),
        "nav": "queue" if approval.status == ApprovalStatus.PENDING else "history",
    }
    return render(request, "console/approval_detail.html", context, status=status)


@login_required
def detail(request: HttpRequest, approval_id: Any) -> HttpResponse:
    caller = caller_for_user(request.user, request.session)
    return _render_detail(request, caller, _shown(_approval_or_404(caller, approval_id)))


def outcome_text(approval: ApprovalRequest) -> str:
    """One sentence on where the request stands, naming the last decider (what the live page announces)."""
    last = approval.decisions.order_by("-created_at").first()
    by = f" by {last.decider_display or last.decider_id}" if last is not None else ""
    texts: dict[str, str] = {
        ApprovalStatus.APPROVED: f"This request was approved{by}.",
        ApprovalStatus.EXECUTED: f"This request was approved{by} and the action has run.",
        ApprovalStatus.REJECTED: f"This request was rejected{by}.",
        ApprovalStatus.EXPIRED: "This request expired before it was decided.",
        ApprovalStatus.WITHDRAWN: "This request was withdrawn: the workflow run was cancelled.",
    }
    return texts.get(approval.status, "Waiting for a decision.")


@login_required
@require_GET
def state(request: HttpRequest, approval_id: Any) -> JsonResponse:
    """The request's state as a small JSON document, polled by its detail page to notice a decision made
    elsewhere (another reviewer, the API, expiry). Same tenancy as the page: another tenant's is a 404."""
    caller = caller_for_user(request.user, request.session)
    approval = _shown(_approval_or_404(caller, approval_id))
    approvals_so_far = approval.decisions.filter(decision=DecisionKind.APPROVE).count()
    return JsonResponse(
        {
            "id": str(approval.pk),
            "status": approval.status,
            "status_label": approval.get_status_display(),
            "pending": approval.status == ApprovalStatus.PENDING,
            "approvals": approvals_so_far,
            "required_approvals": approval.required_approvals,
            "message": outcome_text(approval),
        },
        headers={"Cache-Control": "no-store"},
    )


def refusal_message(exc: DomainError, approval: ApprovalRequest) -> str:
    """What a reviewer reads when the service refuses a decision (by the error's stable code)."""
    current = ApprovalRequest.objects.filter(pk=approval.pk).values_list("status", flat=True).first() or "gone"
    last = approval.decisions.order_by("-created_at").first()
    by = f" by {last.decider_display or last.decider_id}" if last is not None else ""
    messages_by_code = {
        "self_approval_forbidden": (
            "You requested this action, so you cannot decide it yourself. Another reviewer must decide."
        ),
        "approval_expired": "This request expired before it was decided: it can no longer be approved or rejected.",
        "approval_not_pending": (
            f"Someone else decided this request first (it is now {current.lower()}{by}). "
            "Your decision was not recorded."
        ),
        "already_decided": "You already decided this request; another reviewer must complete its quorum.",
        "not_routed_reviewer": (
            "This request is routed to other reviewer groups: only their members (or their delegates) decide it."
        ),
        "decider_not_allowed": "The risk policy lets only people signed in to the console decide this request.",
        "permission_denied": (
            "Your role in this tenant lets you see approvals but not decide them (reviewers and operators decide)."
        ),
    }
    return messages_by_code.get(exc.code, f"Your decision was not recorded: {exc.detail}")


def _needs_confirmation(request: HttpRequest, caller: Caller, approval: ApprovalRequest, decision: str) -> bool:
    """Approving a HIGH or CRITICAL request takes a second, explicit step naming the action; refusals (a viewer,
    the requester, a decided request) are answered at once instead."""
    return (
        decision == DecisionKind.APPROVE
        and approval.risk_level in CONFIRM_RISK_LEVELS
        and request.POST.get("confirmed") != "yes"
        and approval.status == ApprovalStatus.PENDING
        and not services.is_overdue(approval, timezone.now())  # reads never expire rows: an overdue one is refused
        and caller.has_scope(Scope.APPROVALS_DECIDE, approval.tenant_id)
        and not authority.is_requester(caller, approval)
    )


@login_required
@require_POST
def decide(request: HttpRequest, approval_id: Any, decision: str) -> HttpResponse:
    """Approve (reason optional) or reject (reason required) through ``services.decide_approval``."""
    caller = caller_for_user(request.user, request.session)
    approval = _approval_or_404(caller, approval_id)
    form: ApproveForm | RejectForm = (ApproveForm if decision == DecisionKind.APPROVE else RejectForm)(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for e in form.errors.get("reason", ["Check the form."])))
        forms: dict[str, Any] = {"approve_form" if decision == DecisionKind.APPROVE else "reject_form": form}
        return _render_detail(request, caller, approval, status=400, **forms)
    try:
        if _needs_confirmation(request, caller, approval, decision):
            # A stale sign-in goes to step-up first, so that confirming is the last step before the decision.
            authority.check_step_up(caller=caller, approval=approval)
            context = {
                "approval": approval,
                "card": action_card(approval.tool, approval.params),
                "reason": form.cleaned_data["reason"],
                "nav": "queue",
            }
            return render(request, "console/approval_confirm.html", context)
        decided = services.decide_approval(
            caller=caller, approval=approval, decision=decision, reason=form.cleaned_data["reason"]
        )
    except StepUpRequired:
        # Keep what they typed, confirm who they are, then come back to this decision.
        request.session[STASHED_REASON] = {str(approval.pk): {decision: {"reason": form.cleaned_data["reason"]}}}
        messages.info(request, "Confirm it's you, then decide again: high-risk decisions need a recent sign-in.")
        return redirect(step_up_url(reverse("console:approval", args=[approval.pk])))
    except DomainError as exc:
        messages.error(request, refusal_message(exc, approval))
    else:
        if decided.status == ApprovalStatus.APPROVED:
            messages.success(request, "Approved. The workflow continues with this action.")
        elif decided.status == ApprovalStatus.REJECTED:
            messages.success(request, "Rejected. The requester and the workflow are told why.")
        else:
            count = decided.decisions.filter(decision=DecisionKind.APPROVE).count()
            messages.success(
                request,
                f"Your approval is recorded ({count} of {decided.required_approvals}). "
                "Another reviewer must approve before the action runs.",
            )
    return redirect("console:approval", approval_id=approval.pk)
