"""Caller introspection and API key management (operators, signed in)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.generics import get_object_or_404  # 404, not 500, for a malformed id
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from orchestrator import governance, selectors, services
from orchestrator.lib.api import ScopedViewSet, caller_of
from orchestrator.lib.auth import Caller
from orchestrator.models import ApiKey, Role, ServiceAccount, Tenant

from .serializers import (
    ApiKeyCreatedSerializer,
    ApiKeyCreateSerializer,
    ApiKeySerializer,
    MeSerializer,
    RiskPolicySerializer,
)


def _member_tenant(caller: Caller, requested: Any) -> Any:
    """The tenant of a personal key: the named membership, or the only one."""
    tenants = caller.tenant_ids()
    if requested is not None:
        match = next((t for t in tenants if str(t) == str(requested)), None)
        if match is None:
            raise ValidationError({"tenant_id": ["You are not a member of this tenant."]})
        return match
    if len(tenants) != 1:
        raise ValidationError({"tenant_id": ["Say which tenant the key is for."]})
    return tenants[0]


def _operator_tenant(caller: Caller, requested: Any) -> Any:
    """The tenant of a service account's key: one the caller operates (named, or the only one)."""
    operator_tenants = [t for t, role in caller.roles_by_tenant.items() if role == Role.OPERATOR]
    if requested is not None:
        match = next((t for t in operator_tenants if str(t) == str(requested)), None)
    else:
        if len(operator_tenants) > 1:
            raise ValidationError({"tenant_id": ["Say which tenant the key is for."]})
        match = operator_tenants[0] if operator_tenants else None
    if match is None:
        raise PermissionDenied("Only operators of a tenant can create its service accounts' keys.")
    return match


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


class ApiKeyViewSet(ScopedViewSet):
    """API keys of the tenants where the signed-in person is an operator."""

    serializer_class = ApiKeySerializer
    filterset_fields = ["name", "prefix"]
    queryset = ApiKey.objects.none()  # for the schema; requests use get_queryset

    def scoped(self, caller: Caller) -> Any:
        return selectors.api_keys_for(caller)

    @extend_schema(request=ApiKeyCreateSerializer, responses={201: ApiKeyCreatedSerializer})
    def create(self, request: Request) -> Response:
        """A personal key (any member, within their role's scopes) or a service account's key (operators)."""
        caller = caller_of(request)
        body = ApiKeyCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if caller.kind != "user":
            raise PermissionDenied("Keys are minted by people signed in, not by other keys.")
        if data["personal"]:
            tenant_id = _member_tenant(caller, data.get("tenant_id"))
            allowed = caller.scopes_by_tenant.get(tenant_id, frozenset())
            beyond = sorted(set(data["scopes"]) - set(allowed))
            if beyond:
                raise PermissionDenied(f"Your role in this tenant does not hold: {', '.join(beyond)}.")
            api_key, raw = services.create_api_key(
                tenant=Tenant.objects.get(pk=tenant_id),
                name=data["name"],
                scopes=data["scopes"],
                owner_user=caller.user,
                created_by=caller.user,
            )
        else:
            tenant_id = _operator_tenant(caller, data.get("tenant_id"))
            account = None
            if data.get("service_account_id") is not None:
                account = ServiceAccount.objects.filter(pk=data["service_account_id"], tenant_id=tenant_id).first()
                if account is None:
                    raise ValidationError({"service_account_id": ["No such service account in this tenant."]})
            api_key, raw = services.create_api_key(
                tenant=Tenant.objects.get(pk=tenant_id),
                name=data["name"],
                scopes=data["scopes"],
                service_account=account,
                created_by=caller.user,
            )
        out = ApiKeyCreatedSerializer(api_key).data
        out["key"] = raw
        return Response(out, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=ApiKeySerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        api_key: ApiKey = get_object_or_404(self.get_queryset(), pk=pk)
        services.revoke_api_key(api_key=api_key)
        return Response(ApiKeySerializer(api_key).data)


class TenantRiskPolicyView(APIView):
    """A tenant's risk-policy override (operators): read it, or replace it after JSON Schema validation."""

    def _tenant(self, request: Request, tenant_id: Any) -> Tenant:
        caller = caller_of(request)
        if caller.kind != "user" or caller.roles_by_tenant.get(tenant_id) != Role.OPERATOR:
            if tenant_id in caller.tenant_ids():
                raise PermissionDenied("Only operators of a tenant change its risk policy.")
            raise NotFound("No such tenant.")
        return Tenant.objects.get(pk=tenant_id)

    @extend_schema(responses=RiskPolicySerializer)
    def get(self, request: Request, tenant_id: Any) -> Response:
        return Response({"risk_policy": self._tenant(request, tenant_id).risk_policy or {}})

    @extend_schema(request=RiskPolicySerializer, responses=RiskPolicySerializer)
    def put(self, request: Request, tenant_id: Any) -> Response:
        """400 ``validation_error`` with one ``errors[]`` entry per wrong field; nothing is saved then."""
        tenant = self._tenant(request, tenant_id)
        body = RiskPolicySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        saved = governance.set_tenant_risk_policy(tenant=tenant, policy=body.validated_data["risk_policy"])
        return Response({"risk_policy": saved.risk_policy})
