"""Webhook endpoints, deliveries and event types (SPEC §7.1). Each action calls one service or selector."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from orchestrator.events import EVENT_TYPES
from orchestrator.lib.api import UUID_RE, ScopedViewSet, caller_of
from orchestrator.lib.auth import Caller
from orchestrator.models import Scope

from .. import delivery, selectors, services
from ..models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from .serializers import (
    EventTypeListSerializer,
    SecretRotatedSerializer,
    WebhookDeliverySerializer,
    WebhookEndpointCreatedSerializer,
    WebhookEndpointSerializer,
    WebhookEndpointWriteSerializer,
    WebhookTestResultSerializer,
)


class WebhookEndpointViewSet(ScopedViewSet):
    """Webhook endpoints of the caller's tenants. The secret is returned only by create and rotate-secret."""

    required_scope = Scope.WEBHOOKS
    serializer_class = WebhookEndpointSerializer
    queryset = WebhookEndpoint.objects.none()  # for the schema; requests use scoped()
    lookup_value_regex = UUID_RE
    filterset_fields = ["enabled"]

    def scoped(self, caller: Caller) -> Any:
        return selectors.endpoints_for(caller)

    @extend_schema(request=WebhookEndpointWriteSerializer, responses={201: WebhookEndpointCreatedSerializer})
    def create(self, request: Request) -> Response:
        caller = caller_of(request)
        body = WebhookEndpointWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        tenant_id = caller.tenant_for_write(Scope.WEBHOOKS, data.pop("tenant_id", None))
        endpoint, secret = services.create_endpoint(tenant_id=tenant_id, **data)
        out = dict(WebhookEndpointSerializer(endpoint).data)
        out["secret"] = secret
        return Response(out, status=status.HTTP_201_CREATED)

    def _update(self, request: Request, pk: str | None, *, partial: bool) -> Response:
        endpoint = selectors.get_endpoint_for(caller_of(request), pk, write=True)
        body = WebhookEndpointWriteSerializer(data=request.data, partial=partial)
        body.is_valid(raise_exception=True)
        changes = {k: v for k, v in body.validated_data.items() if k in services.UPDATABLE_FIELDS}
        endpoint = services.update_endpoint(endpoint=endpoint, changes=changes)
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(request=WebhookEndpointWriteSerializer, responses=WebhookEndpointSerializer)
    def update(self, request: Request, pk: str | None = None) -> Response:
        return self._update(request, pk, partial=False)

    @extend_schema(request=WebhookEndpointWriteSerializer, responses=WebhookEndpointSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        return self._update(request, pk, partial=True)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        services.delete_endpoint(endpoint=selectors.get_endpoint_for(caller_of(request), pk, write=True))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=WebhookTestResultSerializer)
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str | None = None) -> Response:
        """Send a ``webhook.test`` event now and return the attempt (status code, latency, error)."""
        endpoint = selectors.get_endpoint_for(caller_of(request), pk, write=True)
        attempt = delivery.send_test(endpoint=endpoint)
        return Response(WebhookTestResultSerializer(attempt).data)

    @extend_schema(request=None, responses=SecretRotatedSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str | None = None) -> Response:
        """A new secret (shown once); the old one keeps signing for WEBHOOK_SECRET_GRACE_HOURS."""
        endpoint = selectors.get_endpoint_for(caller_of(request), pk, write=True)
        secret, expires_at = services.rotate_secret(endpoint=endpoint)
        return Response(
            SecretRotatedSerializer(
                {"id": endpoint.pk, "secret": secret, "previous_secret_expires_at": expires_at}
            ).data
        )

    @extend_schema(
        responses=WebhookDeliverySerializer(many=True),
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=DeliveryStatus.values),
            OpenApiParameter("event_type", OpenApiTypes.STR),
            OpenApiParameter("limit", OpenApiTypes.INT),
            OpenApiParameter("cursor", OpenApiTypes.STR),
        ],
    )
    @action(detail=True, methods=["get"], filterset_fields=[])
    def deliveries(self, request: Request, pk: str | None = None) -> Response:
        """Deliveries to this endpoint, newest first, each with its attempts."""
        endpoint = selectors.get_endpoint_for(caller_of(request), pk)
        queryset = selectors.deliveries_of_endpoint(endpoint)
        wanted_status = request.query_params.get("status")
        if wanted_status:
            if wanted_status not in DeliveryStatus.values:
                raise ValidationError({"status": [f"One of {', '.join(DeliveryStatus.values)}."]})
            queryset = queryset.filter(status=wanted_status)
        if request.query_params.get("event_type"):
            queryset = queryset.filter(event_type=request.query_params["event_type"])
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)

    @extend_schema(responses=EventTypeListSerializer)
    @action(detail=False, methods=["get"], url_path="event-types", pagination_class=None, filterset_fields=[])
    def event_types(self, request: Request) -> Response:
        """Every event type an endpoint can subscribe to (``*`` subscribes to all)."""
        return Response({"results": [{"type": t} for t in EVENT_TYPES], "next": None})


class WebhookDeliveryViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """One delivery with its attempts, and redelivery."""

    required_scope = Scope.WEBHOOKS
    serializer_class = WebhookDeliverySerializer
    lookup_value_regex = UUID_RE

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return WebhookDelivery.objects.none()
        return selectors.deliveries_for(caller_of(self.request))

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"])
    def redeliver(self, request: Request, pk: str | None = None) -> Response:
        """Send again with a fresh retry schedule and the same webhook-id; 409 while in flight or disabled."""
        row = services.redeliver(delivery=selectors.get_delivery_for(caller_of(request), pk, write=True))
        fresh = selectors.deliveries_for(caller_of(request)).get(pk=row.pk)
        return Response(WebhookDeliverySerializer(fresh).data, status=status.HTTP_202_ACCEPTED)
