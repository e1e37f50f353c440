"""``/approvals`` (SPEC §6.1). Thin: parse, call one selector or service, render."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from orchestrator.lib import waiting
from orchestrator.lib.api import UUID_RE, ScopedViewSet, caller_of
from orchestrator.lib.auth import Caller
from orchestrator.lib.represent import represent_many
from orchestrator.models import Scope

from .. import execution, selectors, services
from ..filters import ApprovalFilter
from ..models import ApprovalRequest, ApprovalStatus
from .permissions import ApprovalsPermission
from .serializers import (
    ApprovalAskSerializer,
    ApprovalDetailSerializer,
    ApprovalSerializer,
    ApproveSerializer,
    ExecuteResponseSerializer,
    ExecuteSerializer,
    ExecutionSerializer,
    NoApprovalNeededSerializer,
    RejectSerializer,
    ResultSerializer,
    StatsSerializer,
)

PROBLEM = OpenApiResponse(description="Problem document (application/problem+json)")
WAIT_PARAMETER = OpenApiParameter(
    "wait",
    OpenApiTypes.NUMBER,
    description=(
        f"Seconds (0-{waiting.MAX_WAIT_SECONDS}) to wait for the request to change (its status, a decision, its "
        "execution; a live request is shown EXPIRED at its deadline) before answering; send the last ETag as "
        "If-None-Match to wait for a change from that state."
    ),
)


@extend_schema_view(
    list=extend_schema(summary="List approval requests (status defaults to PENDING; status=ALL for every status)"),
    retrieve=extend_schema(
        summary="One approval request with preview, decisions, quorum and audit link",
        parameters=[WAIT_PARAMETER],
    ),
)
class ApprovalViewSet(ScopedViewSet):
    permission_classes = [ApprovalsPermission]
    filterset_class = ApprovalFilter
    lookup_value_regex = UUID_RE
    queryset = ApprovalRequest.objects.none()

    def get_serializer_class(self) -> Any:
        return ApprovalDetailSerializer if self.action != "list" else ApprovalSerializer

    def scoped(self, caller: Caller) -> Any:
        if self.action == "list":
            return selectors.approval_rows_for(caller)
        return selectors.approvals_for(caller)

    def get_object(self) -> ApprovalRequest:
        return selectors.get_approval_for(caller_of(self.request), self.kwargs["pk"])

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """With no filter (the PENDING default), pages are read by SQL built once (``selectors.PendingPages``);
        with filters, through the filter set and the ORM."""
        if any(name in request.query_params for name in ApprovalFilter.base_filters):
            return super().list(request, *args, **kwargs)
        pages: Any = selectors.PendingPages(caller_of(request))  # answers what the cursor paginator asks of a queryset
        page = self.paginate_queryset(pages)
        assert page is not None  # the view always paginates (``LimitCursorPagination``)
        return self.get_paginated_response(represent_many(ApprovalSerializer, page))

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        seconds = waiting.wait_seconds(request.query_params.get("wait"))

        deadlines: list[datetime | None] = [None]

        def read() -> tuple[Any, dict[str, Any]]:
            approval = self.get_object()
            data = dict(ApprovalDetailSerializer(approval).data)
            # A live request is shown EXPIRED at its deadline by the clock alone (nothing is announced then).
            shown = data.get("status")
            if shown == ApprovalStatus.PENDING:
                deadlines[0] = approval.expires_at
            else:
                deadlines[0] = approval.valid_until if shown == ApprovalStatus.APPROVED else None
            return data, data

        etag, data = waiting.wait_for_change(
            [waiting.channel("approval", self.kwargs["pk"])],
            read,
            baseline=waiting.etag_of(request.headers) if seconds else "",
            seconds=seconds,
            due=lambda: deadlines[0],
        )
        return Response(data, headers={"ETag": f'"{etag}"'})

    def _detail(self, approval_id: Any, *, status_code: int = 200, **extra: Any) -> Response:
        approval = selectors.get_approval_for(caller_of(self.request), approval_id)
        data = dict(ApprovalDetailSerializer(approval).data)
        data.update(extra)
        return Response(data, status=status_code)

    @extend_schema(
        summary="Approval statistics",
        parameters=[OpenApiParameter("window_hours", OpenApiTypes.INT, description="1-720, default 24")],
        responses=StatsSerializer,
    )
    @action(detail=False, methods=["get"], url_path="stats")
    def stats(self, request: Request) -> Response:
        raw = request.query_params.get("window_hours", "24")
        try:
            hours = int(raw)
        except ValueError:
            hours = 0
        if not 1 <= hours <= 720:
            raise ValidationError({"window_hours": ["An integer between 1 and 720."]})
        return Response(selectors.approval_stats(caller_of(request), window=timedelta(hours=hours)))

    @extend_schema(
        summary="Ask for approval of an action inside a running node (same action → same request)",
        request=ApprovalAskSerializer,
        responses={
            201: ApprovalDetailSerializer,
            200: OpenApiResponse(
                ApprovalDetailSerializer, description="The existing request, or NoApprovalNeeded for low risk"
            ),
            400: PROBLEM,
            404: PROBLEM,
            409: PROBLEM,
        },
    )
    @action(detail=False, methods=["post"], url_path="request")
    def request_approval(self, request: Request) -> Response:
        body = ApprovalAskSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        ask = services.request_action_approval(
            caller=caller_of(request),
            workflow_id=data["workflow_id"],
            node_key=data["node_key"],
            tool=data["tool"],
            params=data["params"],
            request_context=data["context"],
            reasoning=data["reasoning"],
        )
        if ask.approval is None:
            answer = {
                "requires_approval": False,
                "risk_level": ask.assessment.level,
                "risk_reasons": ask.assessment.reasons,
            }
            return Response(NoApprovalNeededSerializer(answer).data)
        return self._detail(
            ask.approval.pk,
            status_code=status.HTTP_201_CREATED if ask.created else status.HTTP_200_OK,
            requires_approval=True,
        )

    @extend_schema(
        summary="Approve (reason optional)",
        request=ApproveSerializer,
        responses={200: ApprovalDetailSerializer, 403: PROBLEM, 404: PROBLEM, 409: PROBLEM, 410: PROBLEM},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        body = ApproveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._decide(pk, "approve", body.validated_data["reason"])

    @extend_schema(
        summary="Reject (reason required)",
        request=RejectSerializer,
        responses={200: ApprovalDetailSerializer, 403: PROBLEM, 404: PROBLEM, 409: PROBLEM, 410: PROBLEM},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        body = RejectSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._decide(pk, "reject", body.validated_data["reason"])

    def _decide(self, pk: Any, decision: str, reason: str) -> Response:
        caller = caller_of(self.request)
        approval = selectors.approval_ref_for(caller, pk)
        # The service answers the request as it left it under its row lock (with its node, votes and execution
        # loaded): rendered as is, no second read (issue 22).
        decided = services.decide_approval(caller=caller, approval=approval, decision=decision, reason=reason)
        return Response(ApprovalDetailSerializer(decided).data)

    @extend_schema(
        summary="Claim the single execution of an approved action (case b)",
        request=ExecuteSerializer,
        responses={200: ExecuteResponseSerializer, 404: PROBLEM, 409: PROBLEM, 410: PROBLEM},
    )
    @action(detail=True, methods=["post"])
    def execute(self, request: Request, pk: str | None = None) -> Response:
        body = ExecuteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        caller = caller_of(request)
        action_body = body.validated_data.get("action")
        node_run_id = body.validated_data.get("node_run_id")
        record = execution.execute_approval(
            approval_id=pk,
            node_run_id=str(node_run_id) if node_run_id else None,
            action=dict(action_body) if action_body is not None else None,
            actor=caller.actor,
            tenant_ids=caller.tenants_with_scope(Scope.APPROVALS_REQUEST),
        )
        approval = record.approval
        return Response(
            {
                "approval_id": str(approval.pk),
                "action_hash": approval.action_hash,
                "tool": approval.tool,
                "params": approval.params,
                "execution": record.as_dict(),
            }
        )

    @extend_schema(
        summary="Report the result of a claimed execution (the first report wins)",
        request=ResultSerializer,
        responses={200: ExecutionSerializer, 404: PROBLEM, 409: PROBLEM},
    )
    @action(detail=True, methods=["post"])
    def result(self, request: Request, pk: str | None = None) -> Response:
        body = ResultSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        caller = caller_of(request)
        record = execution.record_result(
            approval_id=pk,
            succeeded=data["status"] == "COMPLETED",
            output=data["output"],
            error=data["error"],
            node_run_id=str(data["node_run_id"]) if data.get("node_run_id") else None,
            tenant_ids=caller.tenants_with_scope(Scope.APPROVALS_REQUEST),
        )
        return Response(record.as_dict())
