"""Reads of webhooks scoped to the caller: another tenant's endpoint or delivery is a 404."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from rest_framework.exceptions import NotFound

from orchestrator.lib.auth import Caller
from orchestrator.lib.permissions import require_scope
from orchestrator.models import Scope

from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

SCOPE = Scope.WEBHOOKS


def endpoints_for(caller: Caller) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(tenant_id__in=caller.readable_tenants(SCOPE))


def get_endpoint_for(caller: Caller, endpoint_id: Any, *, write: bool = False) -> WebhookEndpoint:
    """The endpoint if the caller may read it (404 otherwise); with ``write``, 403 without the scope there."""
    endpoint = endpoints_for(caller).filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound("No such webhook endpoint.")
    if write:
        require_scope(caller, SCOPE, endpoint.tenant_id)
    return endpoint


def deliveries_for(caller: Caller) -> QuerySet[WebhookDelivery]:
    return (
        WebhookDelivery.objects.filter(tenant_id__in=caller.readable_tenants(SCOPE))
        .select_related("endpoint")
        .prefetch_related(Prefetch("attempts", queryset=WebhookAttempt.objects.order_by("number")))
    )


def deliveries_of_endpoint(endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    return (
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .select_related("endpoint")
        .prefetch_related(Prefetch("attempts", queryset=WebhookAttempt.objects.order_by("number")))
    )


def get_delivery_for(caller: Caller, delivery_id: Any, *, write: bool = False) -> WebhookDelivery:
    delivery = deliveries_for(caller).filter(pk=delivery_id).first()
    if delivery is None:
        raise NotFound("No such webhook delivery.")
    if write:
        require_scope(caller, SCOPE, delivery.tenant_id)
    return delivery
