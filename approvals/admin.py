"""Operator admin for approvals. Read-only records; actions call the same services as the API."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from orchestrator.admin_base import (
    FittedAdmin,
    KeepRecordsMixin,
    ReadOnlyAdmin,
    ReadOnlyMixin,
    ViewOnlyPagesMixin,
    actor_link,
    related_link,
    service_action,
    tenant_filter,
)
from orchestrator.console.stepup import step_up_url
from orchestrator.lib.auth import caller_for_user
from orchestrator.lib.context import user_actor
from orchestrator.lib.errors import DomainError

from . import execution, services
from .errors import StepUpRequired
from .models import ApprovalDecision, ApprovalRequest, ApprovalStatus, ExecutionStatus, IdempotencyRecord
from .preview import summarize
from .views import refusal_message


def decider_actor(decision: ApprovalDecision) -> dict[str, str]:
    return {"type": decision.decider_type, "id": decision.decider_id, "display": decision.decider_display}


class DecisionInline(ReadOnlyMixin, admin.TabularInline):
    model = ApprovalDecision
    extra = 0
    can_delete = False
    fields = ("decision", "decider", "step_up", "reason", "ip", "created_at")
    readonly_fields = fields

    @admin.display(description="Decider")
    def decider(self, obj: ApprovalDecision) -> str:
        return actor_link(decider_actor(obj))


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(KeepRecordsMixin, ViewOnlyPagesMixin, FittedAdmin):
    """Requests are decided on the decide page or in the console and expired by the action; the record is
    read-only and stays."""

    list_display = ["action", "risk_level", "status", "tenant", "run_link", "requester", "expires_at"]
    list_filter = ["status", "risk_level", "source", "tenant", "created_at", "tool"]
    search_fields = ["=id", "tool", "summary", "=action_hash", "run__name"]
    list_select_related = ["tenant", "run"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    inlines = [DecisionInline]
    actions = ["expire_selected"]

    exclude = ["requested_by"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = [f.name for f in ApprovalRequest._meta.fields if f.name != "requested_by"]
        return ["decide_link", "action", "requester", *fields]

    @admin.display(description="Action", ordering="summary")
    def action(self, obj: ApprovalRequest) -> str:
        return summarize(obj.tool, obj.params)  # recipients as text, also for requests stored before issue 21

    @admin.display(description="Requested by")
    def requester(self, obj: ApprovalRequest) -> str:
        return actor_link(obj.requested_by)

    @admin.display(description="Run", ordering="run__name")
    def run_link(self, obj: ApprovalRequest) -> str:
        return related_link(obj.run, obj.run.name)

    @admin.display(description="Decide")
    def decide_link(self, obj: ApprovalRequest) -> str:
        if obj.status != ApprovalStatus.PENDING:
            return "-"
        return format_html('<a href="{}">Approve or reject…</a>', reverse("admin:approvals_decide", args=[obj.pk]))

    def get_urls(self) -> list[URLPattern]:
        decide = path("<path:object_id>/decide/", self.admin_site.admin_view(self.decide_view), name="approvals_decide")
        return [decide, *super().get_urls()]

    def decide_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Approve or reject through ``services.decide_approval``: the console's rules, quorum and step-up."""
        approval = self.get_object(request, object_id)  # scoped: another tenant's request is not found
        if approval is None or not self.has_view_permission(request, approval):
            return redirect("admin:approvals_approvalrequest_changelist")
        here = reverse("admin:approvals_decide", args=[approval.pk])
        reason = str(request.POST.get("reason", ""))
        if request.method == "POST":
            decision = str(request.POST.get("decision", ""))
            try:
                caller = caller_for_user(request.user, request.session)
                services.decide_approval(caller=caller, approval=approval, decision=decision, reason=reason)
            except StepUpRequired:
                self.message_user(request, "Confirm it's you, then decide again.", level=messages.INFO)
                return redirect(step_up_url(here))
            except DomainError as exc:
                self.message_user(request, refusal_message(exc, approval), level=messages.ERROR)
            else:
                self.message_user(request, f"Recorded: {decision}.")
                return redirect("admin:approvals_approvalrequest_change", approval.pk)
        context = {
            **self.admin_site.each_context(request),
            "approval": approval,
            "params_json": json.dumps(approval.params, indent=2, sort_keys=True, ensure_ascii=False),
            "reason": reason,
            "title": "Decide",
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/approvals/decide.html", context)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # requests come from the scheduler and the API only

    expire_selected = service_action(
        "Expire selected approval requests",
        lambda request, approval: services.expire_approval(
            approval=approval, actor=user_actor(request.user), reason="expired by an operator"
        ),
        done="Expired",
    )


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ["id", "approval", "status", "node_run_id", "created_at", "completed_at", "expires_at"]
    list_filter = ["status", "tenant", "created_at"]
    search_fields = ["=action_hash", "=node_run_id", "=approval__id"]
    list_select_related = ["approval", "tenant"]
    actions = ["mark_completed", "mark_failed", "ask_fresh_approval"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in IdempotencyRecord._meta.fields]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The records are read-only; the change permission is what lets an operator run the resolve actions.
        return obj is None and bool(request.user.has_perm("approvals.change_idempotencyrecord"))

    def _resolve(
        self,
        request: HttpRequest,
        queryset: QuerySet[IdempotencyRecord],
        succeeded: bool,
        action: str,
        fresh_approval: bool = False,
    ) -> HttpResponse | None:
        """First a page asking for the operator's note; then each record is closed (audited with the note)."""
        records = list(queryset.filter(status=ExecutionStatus.IN_PROGRESS))
        note = str(request.POST.get("note", "")).strip()
        if request.POST.get("apply") and note:
            done = 0
            for record in records:
                try:
                    execution.resolve_stuck_execution(
                        record=record, succeeded=succeeded, note=note, fresh_approval=fresh_approval
                    )
                    done += 1
                except DomainError as exc:
                    self.message_user(request, f"{record.pk}: {exc.detail}", level=messages.WARNING)
            self.message_user(request, f"Resolved {done} stuck execution(s).")
            return None
        context = {
            **self.admin_site.each_context(request),
            "records": records,
            "succeeded": succeeded,
            "action": action,
            "error": "Write a note: what did you check?" if request.POST.get("apply") else "",
            "title": "Resolve stuck executions",
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/approvals/resolve_execution.html", context)

    @admin.action(description="Resolve stuck (IN_PROGRESS) executions: the action DID happen", permissions=["change"])
    def mark_completed(self, request: HttpRequest, queryset: QuerySet[IdempotencyRecord]) -> HttpResponse | None:
        return self._resolve(request, queryset, True, "mark_completed")

    @admin.action(
        description="Resolve stuck (IN_PROGRESS) executions: the action did NOT happen", permissions=["change"]
    )
    def mark_failed(self, request: HttpRequest, queryset: QuerySet[IdempotencyRecord]) -> HttpResponse | None:
        return self._resolve(request, queryset, False, "mark_failed")

    @admin.action(
        description="Resolve stuck (IN_PROGRESS) executions: did NOT happen, ask for a fresh approval",
        permissions=["change"],
    )
    def ask_fresh_approval(self, request: HttpRequest, queryset: QuerySet[IdempotencyRecord]) -> HttpResponse | None:
        return self._resolve(request, queryset, False, "ask_fresh_approval", fresh_approval=True)


@admin.register(ApprovalDecision)
class ApprovalDecisionAdmin(ReadOnlyAdmin):
    tenant_path = "approval__tenant"

    list_display = ["approval", "decision", "decider", "created_at"]
    list_filter = ["decision", "decider_type", tenant_filter("approval__tenant"), "created_at"]
    search_fields = ["=approval__id", "=decider_id", "decider_display", "reason"]
    list_select_related = ["approval"]

    @admin.display(description="Decider")
    def decider(self, obj: ApprovalDecision) -> str:
        return actor_link(decider_actor(obj))


# Issue 20's admin pages (routing, delegations, Slack links, outbox) live in their own module.
from . import admin_notify  # noqa: E402, F401
