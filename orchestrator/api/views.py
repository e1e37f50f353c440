"""Caller introspection and API key management (operators, signed in)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404  # 404, not 500, for a malformed id
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from orchestrator import selectors, services
from orchestrator.lib.auth import Caller, get_caller
from orchestrator.lib.represent import RepresentedListMixin
from orchestrator.models import ApiKey, Role, Tenant

from .serializers import ApiKeyCreatedSerializer, ApiKeyCreateSerializer, ApiKeySerializer, MeSerializer


def caller_of(request: Request) -> Caller:
    caller = get_caller(request)
    assert caller is not None  # guaranteed by IsTenantCaller
    return caller


class MeView(APIView):
    """Who am I, and what may I do in which tenant."""

    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        caller = caller_of(request)
        tenants = Tenant.objects.filter(pk__in=caller.tenant_ids()).order_by("slug")
        return Response(
            {
                "type": caller.kind,
                "id": caller.id,
                "display": caller.display,
                "tenants": [
                    {
                        "id": str(t.pk),
                        "slug": t.slug,
                        "name": t.name,
                        "role": caller.roles_by_tenant.get(t.pk),
                        "scopes": sorted(caller.scopes_by_tenant.get(t.pk, ())),
                    }
                    for t in tenants
                ],
            }
        )


class ApiKeyViewSet(RepresentedListMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """API keys of the tenants where the signed-in person is an operator."""

    serializer_class = ApiKeySerializer
    filterset_fields = ["name", "prefix"]
    queryset = ApiKey.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return ApiKey.objects.none()
        return selectors.api_keys_for(caller_of(self.request))

    @extend_schema(request=ApiKeyCreateSerializer, responses={201: ApiKeyCreatedSerializer})
    def create(self, request: Request) -> Response:
        caller = caller_of(request)
        body = ApiKeyCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        operator_tenants = [t for t, role in caller.roles_by_tenant.items() if role == Role.OPERATOR]
        requested = body.validated_data.get("tenant_id")
        if requested is not None:
            tenant_id = next((t for t in operator_tenants if str(t) == str(requested)), None)
        else:
            tenant_id = operator_tenants[0] if len(operator_tenants) == 1 else None
        if tenant_id is None:
            from rest_framework.exceptions import PermissionDenied, ValidationError

            if requested is None and len(operator_tenants) > 1:
                raise ValidationError({"tenant_id": ["Say which tenant the key is for."]})
            raise PermissionDenied("Only operators of a tenant can create its API keys.")
        api_key, raw = services.create_api_key(
            tenant=Tenant.objects.get(pk=tenant_id),
            name=body.validated_data["name"],
            scopes=body.validated_data["scopes"],
        )
        data = ApiKeyCreatedSerializer(api_key).data
        data["key"] = raw
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=ApiKeySerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        api_key: ApiKey = get_object_or_404(self.get_queryset(), pk=pk)
        services.revoke_api_key(api_key=api_key)
        return Response(ApiKeySerializer(api_key).data)
