"""Root URLs: the API under /api/v1/, the console under /console/, the admin under /admin/."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import Resolver404, include, path, re_path, resolve
from django.views import defaults

from orchestrator.lib import problems


def root(request: HttpRequest) -> HttpResponse:
    return redirect("/console/")


urlpatterns = [
    path("", root),
    path("api/v1/", include("orchestrator.api_root")),
    path("admin/", admin.site.urls),
]
urlpatterns.append(path("console/", include("orchestrator.console.urls")))


def console_without_slash(request: HttpRequest, rest: str) -> HttpResponse:
    """``/console/x`` → ``/console/x/`` when that page exists, so hand-typed or trimmed links still work.

    APPEND_SLASH stays off for the API (its routes have no slash and must never redirect a POST).
    """
    target = f"/console/{rest}/"
    try:
        resolve(target)
    except Resolver404:
        return handler404(request, Resolver404(target))
    query = request.META.get("QUERY_STRING", "")
    return redirect(f"{target}?{query}" if query else target)


urlpatterns.append(re_path(r"^console/(?P<rest>.*[^/])$", console_without_slash))


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return problems.api_not_found(request, exception)
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return problems.api_server_error(request)
    return defaults.server_error(request)


def handler400(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return problems.api_bad_request(request, exception)
    return defaults.bad_request(request, exception)


def handler403(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return problems.problem_response(
            status=403, code="permission_denied", title="Permission denied", detail="This request is not allowed."
        )
    return defaults.permission_denied(request, exception)
