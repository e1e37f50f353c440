"""Service-to-service endpoints: the task controller's result callback (SPEC §5).

Authenticated with ``X-Internal-Token`` = ``INTERNAL_SERVICE_TOKEN`` (compared in constant time); with no token
configured every callback is refused. The first report for an attempt wins; later ones are acknowledged with
``accepted: false`` and change nothing, so a controller that retries its callback is harmless.
"""

from __future__ import annotations

import hmac
from typing import Any

from django.conf import settings
from django.db import models
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from orchestrator import completion


class ReportedStatus(models.TextChoices):
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class NodeRunResultSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ReportedStatus.choices)
    output = serializers.JSONField(required=False, allow_null=True, default=None)
    error = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000)


class NodeRunResultResponseSerializer(serializers.Serializer):
    accepted = serializers.BooleanField(help_text="False when an earlier report (or a cancellation) already won.")
    status = serializers.CharField(help_text="The attempt's status after this report.")


class NodeRunResultView(APIView):
    """``POST /api/v1/internal/node-runs/{id}/result``: the task controller reports an attempt's outcome."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []

    def get_authenticate_header(self, request: Request) -> str:
        return 'Internal-Token realm="internal"'

    @extend_schema(
        request=NodeRunResultSerializer,
        responses=NodeRunResultResponseSerializer,
        auth=[],
        description="Authenticated with the X-Internal-Token header (INTERNAL_SERVICE_TOKEN).",
    )
    def post(self, request: Request, node_run_id: str) -> Response:
        expected = settings.INTERNAL_SERVICE_TOKEN
        if not expected:
            raise PermissionDenied("Callbacks are disabled: INTERNAL_SERVICE_TOKEN is not set.")
        supplied = str(request.META.get("HTTP_X_INTERNAL_TOKEN", ""))
        if not supplied or not hmac.compare_digest(supplied.encode(), expected.encode()):
            raise AuthenticationFailed("Missing or invalid X-Internal-Token.")
        body = NodeRunResultSerializer(data=request.data if isinstance(request.data, dict) else {})
        body.is_valid(raise_exception=True)
        applied, current = completion.report_node_run_result(
            node_run_id=node_run_id,
            status=body.validated_data["status"],
            output=body.validated_data["output"],
            error=body.validated_data["error"],
        )
        return Response({"accepted": applied, "status": current})
