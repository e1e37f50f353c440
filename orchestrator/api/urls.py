from django.urls import path
from rest_framework.routers import SimpleRouter

from . import internal, views, workflows

router = SimpleRouter(trailing_slash=False)
router.register("api-keys", views.ApiKeyViewSet, basename="api-key")
router.register("workflows", workflows.WorkflowViewSet, basename="workflow")

urlpatterns = [
    path("me", views.MeView.as_view(), name="me"),
    path("tenants/<uuid:tenant_id>/risk-policy", views.TenantRiskPolicyView.as_view(), name="tenant-risk-policy"),
    path(
        "internal/node-runs/<uuid:node_run_id>/result",
        internal.NodeRunResultView.as_view(),
        name="node-run-result",
    ),
    *router.urls,
]
