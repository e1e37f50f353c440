"""Mounts every app's ``api/urls.py`` under ``/api/v1/``, plus health, metrics and the OpenAPI schema."""

from __future__ import annotations

from importlib.util import find_spec

from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from orchestrator import health, metrics

API_APPS = ("orchestrator", "workspaces", "approvals", "webhooks", "audit")

urlpatterns: list[URLPattern | URLResolver] = [
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
]
for app in API_APPS:
    if find_spec(f"{app}.api.urls") is not None:
        urlpatterns.append(path("", include(f"{app}.api.urls")))
