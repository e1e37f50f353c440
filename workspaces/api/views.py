"""Workspace endpoints (SPEC §4). Thin: parse, check tenant and scope, call one service, render."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from orchestrator.lib.api import ScopedViewSet, caller_of
from orchestrator.lib.auth import Caller
from orchestrator.lib.permissions import require_scope
from orchestrator.models import Scope
from workspaces import locks, selectors, services
from workspaces.filters import WorkspaceFilter
from workspaces.models import Workspace

from .serializers import (
    LockGrantSerializer,
    LockReleasedSerializer,
    LockReleaseSerializer,
    LockRequestSerializer,
    LockStateSerializer,
    ProblemSerializer,
    WorkspaceCreateSerializer,
    WorkspaceSerializer,
    WorkspaceStatusSerializer,
)

_CONFLICT = OpenApiResponse(ProblemSerializer, description="invalid_state (the state forbids it)")
_LOCK_CONFLICT = OpenApiResponse(
    ProblemSerializer, description="lock_held (with owner, expires_at, retry_after_ms) or lock_not_held"
)


class _DeleteBodySchema(AutoSchema):
    """drf-spectacular documents request bodies only for POST/PUT/PATCH; ``DELETE …/lock`` takes ``{"owner"}``."""

    def _get_request_body(self, direction: str = "request") -> Any:
        if self.method != "DELETE":
            return super()._get_request_body(direction)
        self.method = "POST"
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = "DELETE"


class WorkspaceViewSet(ScopedViewSet):
    """Persistent workspaces of the caller's tenants, their lifecycle and their lease lock."""

    required_scope = Scope.WORKSPACES
    serializer_class = WorkspaceSerializer
    filterset_class = WorkspaceFilter
    schema = _DeleteBodySchema()
    queryset = Workspace.objects.none()  # for the schema generator; requests use get_queryset

    def scoped(self, caller: Caller) -> Any:
        return selectors.workspaces_for(caller)

    def _writable(self, pk: Any) -> Workspace:
        """The workspace, 404 unless readable, 403 unless the caller may change workspaces in its tenant."""
        caller = caller_of(self.request)
        workspace = selectors.get_workspace_for(caller, pk)
        require_scope(caller, Scope.WORKSPACES, workspace.tenant_id)
        return workspace

    @extend_schema(request=WorkspaceCreateSerializer, responses={201: WorkspaceSerializer})
    def create(self, request: Request) -> Response:
        body = WorkspaceCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        tenant_id = caller_of(request).tenant_for_write(Scope.WORKSPACES, data.get("tenant_id"))
        workspace = services.create_workspace(
            tenant_id=tenant_id, name=data["name"], metadata=data["metadata"], provision=data["provision"]
        )
        return Response(WorkspaceSerializer(workspace).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=WorkspaceStatusSerializer)
    @action(detail=True, methods=["get"], url_path="status")
    def lifecycle_status(self, request: Request, pk: str | None = None) -> Response:
        workspace = selectors.get_workspace_for(caller_of(request), pk)
        return Response(WorkspaceStatusSerializer(workspace).data)

    @extend_schema(request=None, responses={200: WorkspaceSerializer, 409: _LOCK_CONFLICT})
    @action(detail=True, methods=["post"])
    def hibernate(self, request: Request, pk: str | None = None) -> Response:
        workspace = services.hibernate_workspace(workspace_id=self._writable(pk).pk)
        return Response(WorkspaceSerializer(workspace).data)

    @extend_schema(request=None, responses={200: WorkspaceSerializer, 409: _CONFLICT})
    @action(detail=True, methods=["post"])
    def wake(self, request: Request, pk: str | None = None) -> Response:
        workspace = services.wake_workspace(workspace_id=self._writable(pk).pk)
        return Response(WorkspaceSerializer(workspace).data)

    @extend_schema(request=None, responses={200: WorkspaceSerializer, 409: _CONFLICT})
    @action(detail=True, methods=["post"])
    def terminate(self, request: Request, pk: str | None = None) -> Response:
        workspace = services.terminate_workspace(workspace_id=self._writable(pk).pk)
        return Response(WorkspaceSerializer(workspace).data)

    @extend_schema(methods=["GET"], request=None, responses=LockStateSerializer)
    @extend_schema(
        methods=["POST"],
        request=LockRequestSerializer,
        responses={200: LockGrantSerializer, 400: ProblemSerializer, 409: _LOCK_CONFLICT},
    )
    @action(detail=True, methods=["get", "post"], url_path="lock")
    def lock(self, request: Request, pk: str | None = None) -> Response:
        if request.method == "GET":
            workspace = selectors.get_workspace_for(caller_of(request), pk)
            return Response(LockStateSerializer(locks.lock_state(workspace)).data)
        workspace = self._writable(pk)
        body = LockRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        grant = locks.acquire_lock(
            workspace_id=workspace.pk,
            owner=body.validated_data["owner"],
            lease_seconds=body.validated_data["lease_seconds"],
        )
        return Response(LockGrantSerializer(grant).data)

    @extend_schema(request=LockReleaseSerializer, responses={200: LockReleasedSerializer, 409: _LOCK_CONFLICT})
    @lock.mapping.delete
    def unlock(self, request: Request, pk: str | None = None) -> Response:
        workspace = self._writable(pk)
        body = LockReleaseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        released = locks.release_lock(workspace_id=workspace.pk, owner=body.validated_data["owner"])
        return Response({"released": released})

    @extend_schema(
        request=LockRequestSerializer,
        responses={200: LockGrantSerializer, 400: ProblemSerializer, 409: _LOCK_CONFLICT},
    )
    @action(detail=True, methods=["post"], url_path="lock/renew")
    def renew_lock(self, request: Request, pk: str | None = None) -> Response:
        workspace = self._writable(pk)
        body = LockRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        grant = locks.renew_lock(
            workspace_id=workspace.pk,
            owner=body.validated_data["owner"],
            lease_seconds=body.validated_data["lease_seconds"],
        )
        return Response(LockGrantSerializer(grant).data)
