"""``/tenants/{id}/approval-routing`` (issue 20): a tenant's routing override, read and replaced by its operators
(validated by JSON Schema and audited by ``approvals.routing_config.set_tenant_routing``)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from orchestrator.models import Role, Tenant

from ..routing_config import set_tenant_routing, tenant_override
from .views import caller_of


class RoutingSerializer(serializers.Serializer):
    routing = serializers.JSONField(help_text="The tenant's override, merged over APPROVAL_ROUTING; {} resets.")


class TenantRoutingView(APIView):
    """Operators of a tenant read or replace its approval routing override."""

    def _tenant(self, request: Request, tenant_id: Any) -> Tenant:
        caller = caller_of(request)
        if caller.kind != "user" or caller.roles_by_tenant.get(tenant_id) != Role.OPERATOR:
            if tenant_id in caller.tenant_ids():
                raise PermissionDenied("Only operators of a tenant change its approval routing.")
            raise NotFound("No such tenant.")
        return Tenant.objects.get(pk=tenant_id)

    @extend_schema(responses=RoutingSerializer)
    def get(self, request: Request, tenant_id: Any) -> Response:
        tenant = self._tenant(request, tenant_id)
        return Response({"routing": tenant_override(tenant.pk)})

    @extend_schema(request=RoutingSerializer, responses=RoutingSerializer)
    def put(self, request: Request, tenant_id: Any) -> Response:
        """400 ``validation_error`` with one ``errors[]`` entry per wrong field; nothing is saved then."""
        tenant = self._tenant(request, tenant_id)
        body = RoutingSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return Response({"routing": set_tenant_routing(tenant=tenant, config=body.validated_data["routing"])})
