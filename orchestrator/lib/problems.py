"""RFC 9457 problem documents for every API error, with a stable ``code`` (SPEC §2).

``problem_exception_handler`` is DRF's exception handler; ``problem_response`` builds a response for code
outside DRF (middleware, Django's 404/500 handlers). Unexpected exceptions become a 500 problem without a stack
trace; a database that cannot be reached becomes a 503 the client may retry.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from orchestrator.lib import context
from orchestrator.lib.errors import DomainError

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"

_DRF_CODES: list[tuple[type[exceptions.APIException], str, str]] = [
    (exceptions.ValidationError, "validation_error", "Invalid input"),
    (exceptions.ParseError, "parse_error", "Malformed request body"),
    (exceptions.NotAuthenticated, "not_authenticated", "Authentication required"),
    (exceptions.AuthenticationFailed, "authentication_failed", "Invalid credentials"),
    (exceptions.PermissionDenied, "permission_denied", "Permission denied"),
    (exceptions.NotFound, "not_found", "Not found"),
    (exceptions.MethodNotAllowed, "method_not_allowed", "Method not allowed"),
    (exceptions.NotAcceptable, "not_acceptable", "Not acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type", "Unsupported media type"),
    (exceptions.Throttled, "rate_limited", "Too many requests"),
]


def problem_body(
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: list[dict[str, str]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"https://errors.workflow-orchestrator.dev/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "errors": errors or [],
    }
    request_id = context.current().request_id
    if request_id:
        body["request_id"] = request_id
    body.update(extra)
    return body


def problem_response(
    *, status: int, code: str, title: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JsonResponse:
    """A problem document for code paths outside DRF (middleware, URL handlers)."""
    response = JsonResponse(
        problem_body(status=status, code=code, title=title, detail=detail, **extra),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def flatten_errors(detail: Any, path: str = "") -> list[dict[str, str]]:
    """Turn DRF's nested error detail into ``[{"field": "nodes[2].key", "message": …}]``."""
    if isinstance(detail, dict):
        out: list[dict[str, str]] = []
        for key, value in detail.items():
            name = str(key)
            child = f"{path}[{key}]" if isinstance(key, int) else name if not path else f"{path}.{name}"
            if name == "non_field_errors":
                child = path or "non_field_errors"
            out.extend(flatten_errors(value, child))
        return out
    if isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            return [{"field": path or "non_field_errors", "message": str(item)} for item in detail]
        out = []
        for index, item in enumerate(detail):
            if item in ({}, [], None):
                continue
            out.extend(flatten_errors(item, f"{path}[{index}]"))
        return out
    return [{"field": path or "non_field_errors", "message": str(detail)}]


def _domain_problem(exc: DomainError) -> Response:
    errors = getattr(exc, "errors", None)
    body = problem_body(
        status=exc.status, code=exc.code, title=exc.title, detail=exc.detail, errors=errors, **exc.extra
    )
    headers = {}
    if "retry_after_ms" in exc.extra:
        headers["Retry-After"] = str(max(1, -(-int(exc.extra["retry_after_ms"]) // 1000)))
    return Response(body, status=exc.status, content_type=PROBLEM_CONTENT_TYPE, headers=headers)


def problem_exception_handler(exc: Exception, context_: dict[str, Any]) -> Response:
    """DRF exception handler: every error becomes a problem document; nothing leaks a traceback.

    The document is always rendered as JSON, whatever renderer the view negotiated (the schema view's YAML, the
    docs view's HTML, the audit export's CSV), so the body matches its ``application/problem+json`` type.
    """
    request = context_.get("request")
    if request is not None:
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = PROBLEM_CONTENT_TYPE
    if isinstance(exc, DomainError):
        return _domain_problem(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, (OperationalError, InterfaceError)):
        logger.warning("database unavailable: %s", exc)
        body = problem_body(
            status=503,
            code="service_unavailable",
            title="Service unavailable",
            detail="The database is unavailable; retry shortly.",
        )
        return Response(body, status=503, content_type=PROBLEM_CONTENT_TYPE, headers={"Retry-After": "5"})
    if isinstance(exc, exceptions.APIException):
        code, title = "error", "Error"
        for cls, known_code, known_title in _DRF_CODES:
            if isinstance(exc, cls):
                code, title = known_code, known_title
                break
        headers: dict[str, str] = {}
        wait = getattr(exc, "wait", None)
        if isinstance(exc, exceptions.Throttled) and wait is not None:
            headers["Retry-After"] = str(max(1, int(wait + 0.999)))
        if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
            headers["WWW-Authenticate"] = 'Bearer realm="api"'
        if isinstance(exc, exceptions.ValidationError):
            errors = flatten_errors(exc.detail)
            detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]) or "Invalid input."
        else:
            errors = []
            detail = str(exc.detail) if not isinstance(exc.detail, (dict, list)) else str(exc.default_detail)
        body = problem_body(status=exc.status_code, code=code, title=title, detail=detail, errors=errors)
        return Response(body, status=exc.status_code, content_type=PROBLEM_CONTENT_TYPE, headers=headers)
    logger.exception("unhandled error in API view", exc_info=exc)
    body = problem_body(
        status=500,
        code="internal_error",
        title="Internal server error",
        detail="An unexpected error occurred. Quote the request_id when reporting it.",
    )
    return Response(body, status=500, content_type=PROBLEM_CONTENT_TYPE)


def api_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return problem_response(status=404, code="not_found", title="Not found", detail="No such resource.")


def api_bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """Django's 400 on an API path: a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is a 413 stating the limit."""
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return problem_response(
            status=413,
            code="payload_too_large",
            title="Payload too large",
            detail=f"The request body may be at most {limit} bytes.",
            limit_bytes=limit,
        )
    return problem_response(status=400, code="bad_request", title="Bad request", detail="The request is malformed.")


def api_server_error(request: HttpRequest) -> JsonResponse:
    return problem_response(
        status=500,
        code="internal_error",
        title="Internal server error",
        detail="An unexpected error occurred. Quote the request_id when reporting it.",
    )
