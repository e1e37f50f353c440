"""Domain errors raised by services and turned into RFC 9457 problem documents by the API layer.

Services raise these without knowing about HTTP; ``orchestrator.lib.problems`` maps them to responses, and the
console turns them into messages. ``code`` is the stable, machine-readable identifier clients switch on.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base class: ``status`` is the HTTP status the API answers with, ``code`` the stable identifier."""

    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"

    def __init__(self, detail: str | None = None, *, code: str | None = None, **extra: Any) -> None:
        self.detail = detail or self.title
        if code is not None:
            self.code = code
        self.extra = extra
        super().__init__(self.detail)


class InvalidInput(DomainError):
    status, code, title = 400, "validation_error", "Invalid input"

    def __init__(self, detail: str | None = None, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.errors = [{"field": field or "non_field_errors", "message": self.detail}]


class PermissionDeniedError(DomainError):
    status, code, title = 403, "permission_denied", "Permission denied"


class NotFoundError(DomainError):
    status, code, title = 404, "not_found", "Not found"


class InvalidStateError(DomainError):
    status, code, title = 409, "invalid_state", "Invalid state for this operation"


class ConflictError(DomainError):
    status, code, title = 409, "conflict", "Conflict"


class GoneError(DomainError):
    status, code, title = 410, "gone", "Gone"
