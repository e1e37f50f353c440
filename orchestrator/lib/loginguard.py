"""Login protection glue (issue 15): django-axes throttles and locks out; this module audits each lockout.

django-axes counts failed sign-ins per account and per address (``AXES_LOCKOUT_PARAMETERS``) on every login form
that goes through ``authenticate`` (the console, the admin, the step-up page) and answers a locked-out attempt with
``registration/locked_out.html``. A lockout is a security event: it is written to the audit log (global chain,
no tenant: the attempt is not authenticated) through ``events.emit``.
"""

from __future__ import annotations

from typing import Any

from orchestrator.lib.context import SYSTEM_ACTOR


def on_user_locked_out(sender: Any, request: Any, username: Any = None, ip_address: Any = None, **kwargs: Any) -> None:
    """Audit a lockout: which account name was tried, from which address (never the password)."""
    from orchestrator import events

    name = str(username or "")[:150]
    events.emit(
        "auth.locked_out",
        tenant_id=None,
        resource_type="login",
        resource_id=name or "-",
        data={"username": name, "ip_address": str(ip_address or "")},
        actor=SYSTEM_ACTOR,  # nobody is authenticated; the account name tried is in the data
        reason="too many failed sign-ins",
    )


def connect_signals() -> None:
    from axes.signals import user_locked_out

    user_locked_out.connect(on_user_locked_out, dispatch_uid="loginguard-locked-out")
