"""Console pages of issue 20: the queue's "Assigned to me" / "My groups" views, delegations, decision links and
bulk decisions. Thin: selectors and ``approvals.routing`` to read, services to write (``decide_approval`` for every
decision, one call per request, so each has its own checks and audit entry).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from orchestrator.console.stepup import step_up_url
from orchestrator.lib import stepup
from orchestrator.lib.auth import caller_for_user
from orchestrator.lib.errors import DomainError, NotFoundError
from orchestrator.models import Membership, Tenant

from . import delegation, links, selectors, services
from .authority import STEP_UP_LEVELS
from .models import ApprovalRequest, ApprovalStatus, DecisionKind, RiskLevel
from .services import MAX_REASON_CHARS
from .views import refusal_message

BULK_LEVELS = (RiskLevel.LOW, RiskLevel.MEDIUM)
BULK_MAX = 100


# --- decision links --------------------------------------------------------------------------------------------
@login_required
def decision_link(request: HttpRequest, approval_id: Any, token: str) -> HttpResponse:
    """GET only shows a confirmation page (a link never decides). Sign-in first (``login_required`` returns here),
    then step-up where the level asks for it, then the form that posts to the console's decide endpoint."""
    caller = caller_for_user(request.user, request.session)
    try:
        approval = selectors.get_approval_for(caller, approval_id)
    except NotFoundError as exc:
        raise Http404(exc.detail) from exc
    try:
        decision = links.read_token(token, approval=approval, user_id=request.user.pk)
    except DomainError as exc:
        return render(
            request,
            "approvals/decision_link.html",
            {"approval": approval, "error": exc.detail, "code": exc.code},
            status=exc.status,
        )
    if approval.risk_level in STEP_UP_LEVELS and not stepup.is_recent(caller.auth_at):
        return redirect(step_up_url(request.get_full_path()))
    action = reverse("console:approve" if decision == DecisionKind.APPROVE else "console:reject", args=[approval.pk])
    context = {"approval": approval, "decision": decision, "action": action, "max_reason": MAX_REASON_CHARS}
    return render(request, "approvals/decision_link.html", context)


# --- delegation ------------------------------------------------------------------------------------------------
class DelegationForm(forms.Form):
    tenant = forms.ModelChoiceField(queryset=Tenant.objects.none(), label="Tenant")
    delegate = forms.CharField(max_length=150, label="Delegate to (username)")
    starts_at = forms.DateTimeField(label="Away from", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    ends_at = forms.DateTimeField(label="Away until", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    note = forms.CharField(max_length=300, required=False, label="Note")

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        tenants = Tenant.objects.filter(memberships__user=user).order_by("slug")
        self.fields["tenant"].queryset = tenants  # type: ignore[attr-defined]
        if tenants.count() == 1:
            self.fields["tenant"].initial = tenants.first()


@login_required
def delegations(request: HttpRequest) -> HttpResponse:
    """My absences (given) and who delegates to me (received); POST records a new one through the service."""
    user = request.user
    form = DelegationForm(request.POST or None, user=user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            delegate = get_user_model().objects.filter(username=data["delegate"]).first()
            try:
                if delegate is None or not Membership.objects.filter(tenant=data["tenant"], user=delegate).exists():
                    raise NotFoundError("Nobody with that username is a member of this tenant.")
                delegation.create_delegation(
                    tenant=data["tenant"],
                    delegator=user,
                    delegate=delegate,
                    starts_at=data["starts_at"],
                    ends_at=data["ends_at"],
                    note=data["note"],
                )
            except DomainError as exc:
                messages.error(request, exc.detail)
                status = 400
            else:
                messages.success(request, f"While you are away, {delegate.get_username()} may decide for you.")
                return redirect("console:delegations")
        else:
            status = 400
    rows = delegation.delegations_of(user).order_by("-starts_at")[:100]
    context = {"form": form, "rows": rows, "now": timezone.now(), "nav": "delegations"}
    return render(request, "approvals/delegations.html", context, status=status)


@login_required
@require_POST
def revoke_delegation(request: HttpRequest, delegation_id: Any) -> HttpResponse:
    """End one of my delegations (given or received) now."""
    row = delegation.delegations_of(request.user).filter(pk=delegation_id).first()
    if row is None:
        raise Http404("No such delegation.")
    try:
        delegation.revoke_delegation(delegation=row)
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, "Delegation ended.")
    return redirect("console:delegations")


# --- bulk decisions --------------------------------------------------------------------------------------------
class BulkForm(forms.Form):
    ids = forms.TypedMultipleChoiceField(choices=[], coerce=str, label="Requests")
    decision = forms.ChoiceField(choices=DecisionKind.choices)
    reason = forms.CharField(max_length=MAX_REASON_CHARS, required=False, strip=True)

    def __init__(self, *args: Any, choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["ids"].choices = choices  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") == DecisionKind.REJECT and not data.get("reason"):
            self.add_error("reason", "Say why you reject these actions: the requesters and the audit trail need it.")
        return data


@dataclass
class BulkResult:
    approval: ApprovalRequest
    ok: bool
    message: str


@login_required
def bulk(request: HttpRequest) -> HttpResponse:
    """Decide several LOW/MEDIUM requests with one reason; each goes through the service on its own (its own
    rules, its own audit entry) and the page lists every row's result. HIGH/CRITICAL never appear here."""
    caller = caller_for_user(request.user, request.session)
    pending = (
        selectors.approvals_for(caller)
        .filter(status=ApprovalStatus.PENDING, risk_level__in=BULK_LEVELS)
        .select_related("tenant")
        .order_by("expires_at", "created_at")
    )
    rows = list(pending[:BULK_MAX])
    form = BulkForm(request.POST or None, choices=[(str(a.pk), a.summary) for a in rows])
    results: list[BulkResult] = []
    status = 200
    if request.method == "POST":
        if form.is_valid():
            by_id = {str(a.pk): a for a in rows}
            for approval_id in form.cleaned_data["ids"]:
                approval = by_id[approval_id]
                try:
                    decided = services.decide_approval(
                        caller=caller,
                        approval=approval,
                        decision=form.cleaned_data["decision"],
                        reason=form.cleaned_data["reason"],
                    )
                except DomainError as exc:
                    results.append(BulkResult(approval, False, refusal_message(exc, approval)))
                else:
                    results.append(BulkResult(decided, True, f"Now {decided.status.lower()}."))
            rows = list(pending.all()[:BULK_MAX])
            form = BulkForm(choices=[(str(a.pk), a.summary) for a in rows])
        else:
            status = 400
    context = {"rows": rows, "form": form, "results": results, "nav": "bulk", "max_reason": MAX_REASON_CHARS}
    return render(request, "approvals/bulk.html", context, status=status)
