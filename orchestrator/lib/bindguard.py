"""Refuse to serve beyond this machine with the development ``SECRET_KEY`` (issue 23).

The development key is in the source code, and ``SECRET_KEY`` signs sessions and derives the key that encrypts
webhook secrets: a server reachable from other machines with it is open to anyone who reads the repository. Local
development (loopback addresses, Unix sockets) keeps working with no configuration; ``DEBUG=true`` is the explicit
"this is a development machine" switch and lifts the check. Hooked into gunicorn's ``on_starting`` (the image's
default command and ``manage.py run``) and into ``manage.py runserver``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence

LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost", "ip6-loopback"})
# Django's runserver address syntax: [addr:]port, addr an IPv4, [IPv6] or a name ("0" means 0.0.0.0).
_ADDRPORT = re.compile(r"^(?:(?P<addr>\[[0-9a-fA-F:.]+\]|[^:]+):)?(?P<port>\d+)$")


class UnsafeBind(RuntimeError):
    """Raised (gunicorn prints ``Error: <message>`` and exits 1) when the bind is refused."""


def is_local_bind(address: str) -> bool:
    """True for a bind that only this machine can reach: a loopback IP or name, a Unix socket, an inherited fd.

    ``address`` is a gunicorn bind (``HOST:PORT``, ``[V6]:PORT``, ``unix:PATH``, ``fd://N``) or a bare host.
    Unknown names count as not local: they may resolve to any interface.
    """
    if address.startswith(("unix:", "fd://")):
        return True
    host = address
    if host.startswith("["):
        host = host[1 : host.index("]")] if "]" in host else host[1:]
    elif host.count(":") == 1:
        host = host.rsplit(":", 1)[0]
    host = host.strip().lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refusal_message(address: str) -> str:
    return (
        f"Refusing to serve on {address} with the development SECRET_KEY, which is public (it signs sessions and "
        "derives the webhook-secret encryption key). Set SECRET_KEY to a random value of at least 50 characters, "
        "e.g. `python -c 'import secrets; print(secrets.token_urlsafe(50))'`; or bind to 127.0.0.1 for local use "
        "(DEBUG=true also lifts this check, for development machines only). See docs/deploying.md."
    )


def check_binds(addresses: Iterable[str]) -> None:
    """Raise ``UnsafeBind`` if any address is reachable from other machines while the development key is in use.

    Precondition: Django settings are importable (``DJANGO_SETTINGS_MODULE``). No side effects.
    """
    from django.conf import settings

    if settings.DEBUG or not settings.USING_DEVELOPMENT_SECRET_KEY:
        return
    for address in addresses:
        if not is_local_bind(address):
            raise UnsafeBind(refusal_message(address))


def runserver_address(argv: Sequence[str]) -> str:
    """The address ``manage.py runserver`` would bind for these arguments (Django's default is 127.0.0.1)."""
    positional = [arg for arg in argv if not arg.startswith("-")]
    if not positional:
        return "127.0.0.1:8000"
    match = _ADDRPORT.match(positional[0])
    if not match:
        return positional[0]  # Django rejects it itself, with its own message
    addr = match["addr"] or "127.0.0.1"
    return "0.0.0.0:" + match["port"] if addr == "0" else f"{addr}:{match['port']}"


def check_manage_argv(argv: Sequence[str]) -> None:
    """For ``manage.py runserver [addrport]``: exit with the refusal message instead of serving. Other commands
    pass (``manage.py run`` starts gunicorn, whose ``on_starting`` hook checks its bind)."""
    if len(argv) > 1 and argv[1] == "runserver":
        try:
            check_binds([runserver_address(argv[2:])])
        except UnsafeBind as exc:
            raise SystemExit(f"Error: {exc}") from None
