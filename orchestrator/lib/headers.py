"""Response headers for pages people see (issue 15): no caching of sensitive pages, Secure cookies over HTTPS.

The Content-Security-Policy itself comes from ``django-csp`` (``CONTENT_SECURITY_POLICY`` in settings).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers


class SensitivePageHeadersMiddleware:
    """``Cache-Control: no-store`` under ``NO_STORE_PATH_PREFIXES``; every cookie Secure on an HTTPS request.

    Why no-store: console and admin pages show action parameters (addresses, amounts, message bodies); a shared
    proxy or the browser's back button must not keep them after sign-out. Why per request for Secure: the same
    deployment is reached over plain HTTP on 127.0.0.1 in development and over HTTPS in production, and a cookie
    set over HTTPS must never travel over HTTP afterwards.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith(tuple(settings.NO_STORE_PATH_PREFIXES)):
            add_never_cache_headers(response)  # no-cache, no-store, must-revalidate, private, max-age=0
        if request.is_secure():
            for morsel in response.cookies.values():
                morsel["secure"] = True
        return response
