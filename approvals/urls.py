"""Console URLs for approvals, mounted by ``orchestrator.console.urls`` under the ``console`` namespace."""

from __future__ import annotations

from django.urls import path

from . import console_notify, stuck_views, views

urlpatterns = [
    path("", views.queue, name="home"),
    path("history/", views.history, name="history"),
    path("approvals/<uuid:approval_id>/", views.detail, name="approval"),
    path("approvals/<uuid:approval_id>/state.json", views.state, name="approval_state"),
    path("approvals/<uuid:approval_id>/approve/", views.decide, {"decision": "approve"}, name="approve"),
    path("approvals/<uuid:approval_id>/reject/", views.decide, {"decision": "reject"}, name="reject"),
    # Issue 20: decision links (confirmation only), delegations, bulk decisions.
    path("approvals/<uuid:approval_id>/link/<str:token>/", console_notify.decision_link, name="decision_link"),
    path("delegations/", console_notify.delegations, name="delegations"),
    path("delegations/<uuid:delegation_id>/revoke/", console_notify.revoke_delegation, name="revoke_delegation"),
    path("bulk/", console_notify.bulk, name="bulk"),
    path("stuck/", stuck_views.stuck_list, name="stuck"),
    path("stuck/<int:record_id>/resolve/", stuck_views.stuck_resolve, name="stuck_resolve"),
]
