"""Console URLs for approvals, mounted by ``orchestrator.console.urls`` under the ``console`` namespace."""

from __future__ import annotations

from django.urls import path

from . import stuck_views, views

urlpatterns = [
    path("", views.queue, name="home"),
    path("history/", views.history, name="history"),
    path("approvals/<uuid:approval_id>/", views.detail, name="approval"),
    path("approvals/<uuid:approval_id>/approve/", views.decide, {"decision": "approve"}, name="approve"),
    path("approvals/<uuid:approval_id>/reject/", views.decide, {"decision": "reject"}, name="reject"),
    path("stuck/", stuck_views.stuck_list, name="stuck"),
    path("stuck/<int:record_id>/resolve/", stuck_views.stuck_resolve, name="stuck_resolve"),
]
