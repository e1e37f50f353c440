"""Routes of ``/approvals``. SimpleRouter lists ``stats`` and ``request`` (list-level actions) before the detail
route, and the detail route only matches UUIDs, so ``/approvals/stats`` can never be read as an id."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import routing_views, slack_views, views

router = SimpleRouter(trailing_slash=False)
router.register("approvals", views.ApprovalViewSet, basename="approval")

urlpatterns = [
    *router.urls,
    path("integrations/slack/interactions", slack_views.interactions, name="slack-interactions"),  # issue 20
    path("tenants/<uuid:tenant_id>/approval-routing", routing_views.TenantRoutingView.as_view(), name="tenant-routing"),
]
