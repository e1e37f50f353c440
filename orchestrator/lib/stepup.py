"""Recent authentication ("step-up") for deciding high-risk approvals.

A session remembers when and how its person last proved who they are: at sign-in (password) and at every step-up
(password re-entry, or a TOTP code from a ``django-otp`` device when the person enrolled one). Deciding at the
levels in ``STEP_UP_LEVELS`` needs that moment to be at most ``STEP_UP_MAX_AGE_SECONDS`` old
(``approvals.authority`` checks it).
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings

SESSION_AUTH_AT = "orchestrator_auth_at"
SESSION_AUTH_METHOD = "orchestrator_auth_method"
PASSWORD = "password"  # noqa: S105 - the name of a method, not a password
TOTP = "totp"


def last_authentication(session: Any) -> tuple[float | None, str]:
    """``(epoch seconds, method)`` of the session's last authentication, or ``(None, "")`` without one."""
    if session is None:
        return None, ""
    try:
        at = session.get(SESSION_AUTH_AT)
        method = session.get(SESSION_AUTH_METHOD, "")
    except Exception:  # a broken session store: no recent authentication, never a crash
        return None, ""
    if not isinstance(at, (int, float)):
        return None, ""
    return float(at), str(method or "")


def record_authentication(session: Any, method: str) -> None:
    """Remember that the session's person proved who they are now, by ``method`` (``password`` | ``totp``)."""
    session[SESSION_AUTH_AT] = time.time()
    session[SESSION_AUTH_METHOD] = method


def is_recent(auth_at: float | None, now: float | None = None) -> bool:
    """Whether an authentication at ``auth_at`` is recent enough to decide at a step-up level."""
    if auth_at is None:
        return False
    now = time.time() if now is None else now
    return 0 <= now - auth_at <= settings.STEP_UP_MAX_AGE_SECONDS


def totp_device(user: Any) -> Any:
    """The person's confirmed TOTP device, or ``None`` (then step-up asks for the password)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if user is None or not getattr(user, "pk", None):
        return None
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def verify(request: Any, user: Any, secret: str) -> str | None:
    """Check a step-up answer: a TOTP code when the person has a device, else the password.

    The password goes through ``authenticate`` so django-axes counts a wrong one like a failed sign-in (and a
    locked-out account cannot step up); a TOTP device throttles wrong codes itself and refuses a replayed one.
    Returns the method that succeeded, or ``None``.
    """
    from django.contrib.auth import authenticate

    device = totp_device(user)
    if device is not None:
        code = secret.strip()
        return TOTP if code.isdigit() and device.verify_token(code) else None
    authenticated = authenticate(request, username=user.get_username(), password=secret)
    return PASSWORD if authenticated is not None and authenticated.pk == user.pk else None


def on_user_logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Signing in is an authentication: a fresh sign-in needs no second step-up for ``STEP_UP_MAX_AGE_SECONDS``."""
    session = getattr(request, "session", None)
    if session is not None:
        record_authentication(session, PASSWORD)


def connect_signals() -> None:
    from django.contrib.auth.signals import user_logged_in

    user_logged_in.connect(on_user_logged_in, dispatch_uid="stepup-logged-in")
