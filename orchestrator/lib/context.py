"""Per-request context (request id, client address, user agent, actor) for audit entries and logs.

The middleware fills it for HTTP requests; Celery tasks run without it, so ``current()`` falls back to the
``system`` actor. Stored in a ``ContextVar`` so threads and async code each see their own.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, replace

from django.conf import settings
from django.http import HttpRequest, HttpResponse


@dataclass(frozen=True)
class Actor:
    """Who did something: ``type`` is ``user``, ``api_key`` or ``system``; ``display`` is a snapshot."""

    type: str
    id: str
    display: str

    def as_dict(self) -> dict[str, str]:
        return {"type": self.type, "id": self.id, "display": self.display}


SYSTEM_ACTOR = Actor(type="system", id="system", display="system")


@dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    ip: str | None = None
    user_agent: str = ""
    actor: Actor = SYSTEM_ACTOR


_current: ContextVar[RequestContext] = ContextVar("request_context", default=RequestContext())
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def current() -> RequestContext:
    return _current.get()


def set_actor(actor: Actor) -> None:
    """Record the authenticated actor for the rest of this request (called by authentication)."""
    _current.set(replace(_current.get(), actor=actor))


def user_actor(user: object) -> Actor:
    """The actor snapshot for a signed-in person."""
    return Actor(type="user", id=str(getattr(user, "pk", "")), display=str(getattr(user, "get_username", str)()))


def client_ip(request: HttpRequest) -> str | None:
    if settings.SECURE_PROXY_SSL_HEADER and request.META.get("HTTP_X_FORWARDED_FOR"):
        # Behind a trusted proxy the left-most address is the client's.
        return str(request.META["HTTP_X_FORWARDED_FOR"]).split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    """Assigns a request id (honouring a sane ``X-Request-ID``) and captures client details."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        actor = SYSTEM_ACTOR
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            actor = user_actor(user)
        token = _current.set(
            RequestContext(
                request_id=request_id,
                ip=client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", "")[:400],
                actor=actor,
            )
        )
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response["X-Request-ID"] = request_id
        return response
