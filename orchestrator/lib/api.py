"""API plumbing every app's viewsets share: the authenticated caller, the UUID path pattern, the scoped base.

Ground floor (``orchestrator/lib``): the domain apps' ``api/views.py`` and the engine's use these, none defines
its own.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import mixins, viewsets
from rest_framework.request import Request

from orchestrator.lib.auth import Caller, get_caller
from orchestrator.lib.represent import RepresentedListMixin

# A path segment that is a UUID (with or without hyphens): anything else is not routed (404).
UUID_RE = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


def caller_of(request: Request) -> Caller:
    """The authenticated caller of ``request``. Precondition: the view's permission class admitted a caller."""
    caller = get_caller(request)
    assert caller is not None  # guaranteed by the view's permission class
    return caller


class ScopedViewSet(RepresentedListMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):  # type: ignore[type-arg]
    """List and retrieve over a tenant-scoped selector: a subclass sets ``queryset = Model.objects.none()`` (what
    the schema generator reads, having no caller) and implements ``scoped(caller)`` with its selector."""

    def scoped(self, caller: Caller) -> QuerySet[Any]:
        raise NotImplementedError

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller
            return super().get_queryset()
        return self.scoped(caller_of(self.request))
