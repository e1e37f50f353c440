"""SSRF guard for outbound HTTP to user-supplied URLs (the ``http.request`` tool; webhooks may reuse it).

The host is resolved **once**; every address is checked against private, loopback, link-local, CGNAT, multicast,
reserved, unspecified, IPv4-mapped/translated and cloud metadata ranges; the connection then goes to the checked
address (the URL's host name is still sent as ``Host`` and used for TLS SNI and certificate checks), so a DNS
answer that changes between check and connect (DNS rebinding) cannot redirect the request. DNS failure fails
closed. ``settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS`` lifts the range check (tests, local development) but never the
pinning. Redirects are never followed: each hop would need its own check.

    response = netguard.request("POST", url, json=payload, timeout=5)
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Ranges refused on top of what ``ipaddress`` flags (private, loopback, link-local, multicast, reserved, ...).
_EXTRA_BLOCKED = [
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",  # "this network"
        "100.64.0.0/10",  # CGNAT (RFC 6598), includes Alibaba's metadata 100.100.100.200
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",
        "203.0.113.0/24",
        "169.254.0.0/16",  # link-local, AWS/GCP/Azure metadata 169.254.169.254
        "::ffff:0:0/96",  # IPv4-mapped
        "64:ff9b::/96",  # NAT64 (embeds IPv4)
        "64:ff9b:1::/48",
        "2002::/16",  # 6to4 (embeds IPv4)
        "2001::/32",  # Teredo
        "fc00::/7",  # unique local
        "fec0::/10",  # site-local (deprecated)
        "fd00:ec2::254/128",  # AWS metadata over IPv6
    )
]


class BlockedDestination(Exception):
    """The URL may not be fetched: bad scheme, unresolvable host, or a refused address."""


def is_blocked_address(address: IPAddress) -> str | None:
    """Why ``address`` is refused, or None when it is a public unicast address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return "an IPv4-mapped IPv6 address"
    checks = (
        ("loopback", address.is_loopback),
        ("private", address.is_private),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("unspecified", address.is_unspecified),
    )
    for name, hit in checks:
        if hit:
            return f"a {name} address"
    for network in _EXTRA_BLOCKED:
        if address.version == network.version and address in network:
            return f"in the refused range {network}"
    if not address.is_global:
        return "not a global address"
    return None


def resolve(host: str, port: int, *, allow_private: bool | None = None) -> IPAddress:
    """Resolve ``host`` once and return the address to connect to; raise ``BlockedDestination``.

    Every address the name resolves to must pass (an attacker's name with one public and one private record is
    refused), and the first one is used.
    """
    if allow_private is None:
        allow_private = bool(getattr(settings, "WEBHOOK_ALLOW_PRIVATE_NETWORKS", False))
    try:
        literal: IPAddress | None = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise BlockedDestination(f"cannot resolve {host!r}: {exc}") from exc
        addresses = []
        for info in infos:
            try:
                addresses.append(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]))
            except ValueError:
                continue
        if not addresses:
            raise BlockedDestination(f"cannot resolve {host!r}: no addresses")
    if not allow_private:
        for address in addresses:
            reason = is_blocked_address(address)
            if reason:
                raise BlockedDestination(f"{host!r} resolves to {address}, {reason}: refused")
    return addresses[0]


class _PinnedAdapter(HTTPAdapter):
    """Connects to the URL as rewritten to the checked IP, with TLS SNI and certificate checks for ``hostname``."""

    def __init__(self, hostname: str, **kwargs: Any) -> None:
        self._hostname = hostname
        super().__init__(**kwargs)

    def build_connection_pool_key_attributes(self, request: Any, verify: Any, cert: Any = None) -> Any:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        if host_params.get("scheme") == "https":
            pool_kwargs["server_hostname"] = self._hostname
            pool_kwargs["assert_hostname"] = self._hostname
        return host_params, pool_kwargs


def request(method: str, url: str, *, timeout: float, allow_private: bool | None = None, **kwargs: Any) -> Any:
    """Send one HTTP request to ``url`` through the guard; returns a ``requests.Response``.

    Raises ``BlockedDestination`` for refused URLs and ``requests.RequestException`` for transport errors.
    Redirects are not followed and proxies from the environment are ignored (they would bypass the pinning).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BlockedDestination("only absolute http(s) URLs are allowed")
    if parts.username or parts.password:
        raise BlockedDestination("credentials in the URL are not allowed")
    hostname = parts.hostname
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise BlockedDestination(f"invalid port in {url!r}") from exc
    address = resolve(hostname, port, allow_private=allow_private)
    pinned_host = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{pinned_host}:{parts.port}" if parts.port else pinned_host
    pinned_url = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    headers = dict(kwargs.pop("headers", None) or {})
    host_header = f"{hostname}:{parts.port}" if parts.port else hostname
    if ":" in hostname:  # IPv6 literal
        host_header = f"[{hostname}]:{parts.port}" if parts.port else f"[{hostname}]"
    headers = {k: v for k, v in headers.items() if k.lower() != "host"}
    headers["Host"] = host_header
    with requests.Session() as session:
        session.trust_env = False
        session.mount(f"{parts.scheme}://", _PinnedAdapter(hostname))
        return session.request(method, pinned_url, headers=headers, timeout=timeout, allow_redirects=False, **kwargs)
