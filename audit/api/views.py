"""``/audit``: list, entry, approval trail, stats, verification and streamed export (SPEC §7.2). Read-only.

API keys need the ``audit`` scope; people read the audit of every tenant they belong to, viewers included (a
compliance officer is typically a viewer: read everything, change nothing).
"""

from __future__ import annotations

from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from audit import exporting, selectors, verification
from audit.filters import AuditLogFilter
from audit.models import AuditLog
from orchestrator.lib.api import ScopedViewSet, caller_of
from orchestrator.lib.auth import Caller
from orchestrator.models import Scope

from .serializers import ApprovalTrailSerializer, AuditLogSerializer, AuditStatsSerializer, VerificationSerializer

TENANT_PARAM = OpenApiParameter("tenant_id", OpenApiTypes.UUID, description="Only this tenant (default: all yours).")


class AuditLogViewSet(ScopedViewSet):
    """Audit entries of the caller's tenants, newest first, with cursor pagination."""

    serializer_class = AuditLogSerializer
    filterset_class = AuditLogFilter
    required_scope = Scope.AUDIT
    queryset = AuditLog.objects.none()  # for the schema; requests use get_queryset

    def scoped(self, caller: Caller) -> Any:
        return selectors.audit_entries_for(caller)

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # ``?format=csv`` selects the export format here, not a DRF renderer; errors are always JSON problems.
        if getattr(self, "action", None) == "export":
            return JSONRenderer(), JSONRenderer.media_type
        return super().perform_content_negotiation(request, force)

    @extend_schema(
        parameters=[OpenApiParameter("approval_id", OpenApiTypes.STR, OpenApiParameter.PATH)],
        responses=ApprovalTrailSerializer,
        filters=False,
    )
    @action(detail=False, methods=["get"], url_path=r"approvals/(?P<approval_id>[^/]+)", filter_backends=[])
    def approvals(self, request: Request, approval_id: str) -> Response:
        """The approval's full trail, oldest first. 404 when the caller sees no entry about it."""
        entries = list(selectors.approval_trail_for(caller_of(request), approval_id))
        if not entries:
            raise NotFound("No audit trail for this approval.")
        return Response(
            {"approval_id": approval_id, "results": AuditLogSerializer(entries, many=True).data},
        )

    @extend_schema(responses=AuditStatsSerializer, filters=True)
    @action(detail=False, methods=["get"], pagination_class=None)
    def stats(self, request: Request) -> Response:
        """Counts by action, resource type and UTC day, over the same filters as the list."""
        return Response(selectors.audit_stats(self.filter_queryset(self.get_queryset())))

    @extend_schema(
        parameters=[
            TENANT_PARAM,
            OpenApiParameter("full", OpenApiTypes.BOOL, default=False, description="Walk every entry left."),
        ],
        responses={200: VerificationSerializer, 404: OpenApiResponse(description="Unknown tenant_id.")},
        filters=False,
        description=(
            "Check the keyed hash chain of each of your tenants against its signed anchors (from the newest anchor; "
            "`full=true` for every entry) and report the first bad sequence and why. Answers 200 either way: look "
            "at `ok`."
        ),
    )
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def verify(self, request: Request) -> Response:
        tenants = selectors.audit_tenants_for(caller_of(request))
        wanted = request.query_params.get("tenant_id")
        if wanted:
            tenants = [t for t in tenants if str(t) == wanted]
            if not tenants:
                raise NotFound("Unknown tenant.")
        full = request.query_params.get("full", "false").lower()
        if full not in ("true", "false", "1", "0"):
            raise ValidationError({"full": ["Use true or false."]})
        return Response(verification.verify_chains(tenants, full=full in ("true", "1")).as_dict())

    @extend_schema(
        parameters=[
            OpenApiParameter("format", OpenApiTypes.STR, enum=list(exporting.FORMATS), default="csv"),
        ],
        filters=True,
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV with a header row."),
            (200, "application/x-ndjson"): OpenApiResponse(OpenApiTypes.STR, description="One JSON entry a line."),
        },
        description=(
            "Stream every matching entry in chain order (no row cap, constant memory). CSV cells starting with "
            "= + - @ tab CR or ' get a leading ' (drop one leading ' to read them back)."
        ),
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def export(self, request: Request) -> StreamingHttpResponse:
        fmt = request.query_params.get("format", "csv")
        if fmt not in exporting.FORMATS:
            raise ValidationError({"format": [f"Use one of: {', '.join(exporting.FORMATS)}."]})
        entries = self.filter_queryset(self.get_queryset())
        response = StreamingHttpResponse(
            exporting.export_chunks(entries, fmt), content_type=exporting.CONTENT_TYPES[fmt]
        )
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.{fmt}"'
        response["Cache-Control"] = "no-store"
        return response
