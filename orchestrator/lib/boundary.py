"""The API's front door (issue 16): client mistakes Django would answer in HTML, or let through to a 500, become
problem documents with a stable code before any view runs.

- A body larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` → 413 ``payload_too_large`` stating the limit (from
  ``Content-Length``, before the body is read; Django's own ``RequestDataTooBig`` is mapped the same way by
  ``orchestrator.urls.handler400``).
- NUL or other control characters (C0, DEL) in a path segment or any query parameter → 400 ``invalid_character``
  naming the parameter (PostgreSQL cannot store NUL; nothing legitimate sends the others); a query parameter
  longer than ``MAX_QUERY_VALUE_LENGTH`` → 400 ``validation_error``.
- NUL in a request header → 400 ``invalid_character`` naming the header.
- Any other 4xx Django itself answers on an API path (a 400 for a disallowed host, a 404 or 405 from a plain view,
  a 403 from a CSRF failure) is rewritten into a problem document with the same status.
Only ``/api/`` paths are touched; the console and admin keep Django's pages.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse

from orchestrator.lib import throttling
from orchestrator.lib.bounds import MAX_QUERY_VALUE_LENGTH
from orchestrator.lib.problems import api_bad_request, problem_response

API_PREFIX = "/api/"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DJANGO_CODES = {
    400: ("bad_request", "Bad request", "The request could not be understood."),
    403: ("permission_denied", "Permission denied", "This request is not allowed."),
    404: ("not_found", "Not found", "No such resource."),
    405: ("method_not_allowed", "Method not allowed", "This method is not allowed here."),
    413: ("payload_too_large", "Payload too large", "The request body is too large."),
}


def _invalid_character(field: str) -> HttpResponse:
    return problem_response(
        status=400,
        code="invalid_character",
        title="Invalid character",
        detail=f"{field} contains a NUL or control character.",
        errors=[{"field": field, "message": "NUL and control characters are not allowed."}],
    )


def _refusal(request: HttpRequest) -> HttpResponse | None:
    """The problem response for a request refused before routing, or None to let it through."""
    if _CONTROL.search(request.path):
        return _invalid_character("path")
    for key, header in request.META.items():
        # Headers end up in columns too (the audit entry's user agent, the Idempotency-Key): no NUL anywhere.
        if key.startswith("HTTP_") and isinstance(header, str) and "\x00" in header:
            return _invalid_character(key[5:].replace("_", "-").title())
    for name, values in request.GET.lists():
        if _CONTROL.search(name) or any(_CONTROL.search(value) for value in values):
            return _invalid_character(_CONTROL.sub("?", name)[:100])
        if len(name) > MAX_QUERY_VALUE_LENGTH or any(len(value) > MAX_QUERY_VALUE_LENGTH for value in values):
            return problem_response(
                status=400,
                code="validation_error",
                title="Invalid input",
                detail=f"Query parameters are at most {MAX_QUERY_VALUE_LENGTH} characters.",
                errors=[{"field": name[:100], "message": f"At most {MAX_QUERY_VALUE_LENGTH} characters."}],
            )
    raw_length = request.META.get("CONTENT_LENGTH") or "0"
    try:
        length = int(raw_length)
    except ValueError:
        length = -1
    if length < 0:
        return problem_response(
            status=400, code="bad_request", title="Bad request", detail="Content-Length must be a whole number."
        )
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is not None and length > limit:
        return api_bad_request(request, RequestDataTooBig())
    return None


def _as_problem(response: HttpResponse) -> HttpResponse:
    """A Django-made 4xx (HTML or plain text) on an API path, as a problem document with the same status."""
    if response.status_code < 400 or response.status_code >= 500 or response.streaming:
        return response
    content_type = response.get("Content-Type", "")
    if content_type.startswith(("application/json", "application/problem+json")):
        return response
    code, title, detail = _DJANGO_CODES.get(response.status_code, ("bad_request", "Bad request", "Client error."))
    replacement = problem_response(status=response.status_code, code=code, title=title, detail=detail)
    if "Allow" in response:
        replacement["Allow"] = response["Allow"]
    return replacement


class ApiBoundaryMiddleware:
    """Placed before every middleware that reads the body or the query (idempotency, CSRF). Also where a
    throttle count fetched ahead with the API key (``orchestrator.lib.throttling``) is given back if unused."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            if not request.path.startswith(API_PREFIX):
                return self.get_response(request)
            refused = _refusal(request)
            if refused is not None:
                return refused
            return _as_problem(self.get_response(request))
        finally:
            throttling.release_unused(request)  # a throttle count taken ahead that no throttle used
