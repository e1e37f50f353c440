"""The one SSRF guard for outbound HTTP to user-supplied URLs: webhook deliveries (SPEC §7.1) and the
``http.request`` tool (SPEC §5). ``webhooks.ssrf`` re-exports it.

Per attempt the host is resolved **once** (the resolver is injectable for tests); *every* address must pass the
range check (private, loopback, link-local, CGNAT, multicast, reserved, non-global, and IPv6 forms that embed an
IPv4 address: mapped, NAT64, 6to4, Teredo, checked by the address they embed); the connection then goes to the
checked address, with the original host name as ``Host`` and, for https, as TLS SNI and for the certificate check,
so a DNS answer that changes between check and connect (rebinding) cannot redirect the request. DNS failure (or an
empty answer) refuses the attempt: fail closed. ``WEBHOOK_ALLOW_PRIVATE_NETWORKS`` lifts the range check (tests,
local development), never the pinning; cloud metadata and unspecified addresses stay refused even then. Redirects
are never followed (each hop would need its own check) and proxies from the environment are ignored.

    target = netguard.resolve_target(url, allow_private=False)          # webhooks: check, then post_pinned
    result = netguard.post_pinned(target, body=b"{}", headers={}, timeout_s=5)
    response = netguard.request("GET", url, timeout=5)                   # tools: a requests.Response
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import certifi
import requests
import urllib3
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.exceptions import HTTPError as Urllib3HTTPError
from urllib3.exceptions import NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3TimeoutError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean …
        "fd00:ec2::254",  # AWS over IPv6
        "169.254.170.2",  # AWS ECS task metadata
        "100.100.100.200",  # Alibaba Cloud
    )
)
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
EXCERPT_BYTES = 2048


class BlockedDestination(Exception):
    """The URL may not be called: bad scheme, DNS failure, or an address in a refused range."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


def default_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, in the resolver's order (IPv4 and IPv6)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for info in infos:
        address = str(info[4][0]).split("%", 1)[0]  # drop an IPv6 zone id
        if address not in seen:
            seen.append(address)
    return seen


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address hidden in an IPv6 one (mapped, NAT64, 6to4, Teredo), if any."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def address_problem(address: str, *, allow_private: bool) -> str | None:
    """Why ``address`` is refused (a short phrase), or ``None`` when it may be called."""
    try:
        ip: IPAddress = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return "not an IP address"
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        inner = address_problem(str(embedded), allow_private=allow_private)
        if inner:
            return f"IPv6 address embedding {embedded}, {inner}"
        if not allow_private:
            # Even a public IPv4 address is refused in these forms: there is no reason to reach one this way, and
            # how the embedded address is routed depends on translators we cannot see.
            return f"IPv6 address embedding {embedded} (IPv4-mapped or translated)"
        return None
    if ip in METADATA_ADDRESSES:
        return "cloud metadata address"
    if ip.is_unspecified:
        return "unspecified address"
    if allow_private:
        return None
    checks: tuple[tuple[bool, str], ...] = (
        (ip.is_loopback, "loopback address"),
        (ip.is_link_local, "link-local address"),
        (ip in CGNAT, "shared (CGNAT) address"),
        (ip.is_multicast, "multicast address"),
        (ip.is_private, "private address"),
        (ip.is_reserved, "reserved address"),
        (not ip.is_global, "non-global address"),
    )
    for failed, reason in checks:
        if failed:
            return reason
    return None


@dataclass(frozen=True)
class Target:
    """A URL whose host was resolved and checked; ``address`` is where the connection goes."""

    scheme: str
    host: str
    port: int
    path: str
    address: str
    addresses: tuple[str, ...] = field(default=())

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def split_url(url: str) -> tuple[str, str, int, str]:
    """``(scheme, host, port, path_and_query)``; raises ``BlockedDestination`` for what cannot be a webhook URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BlockedDestination(f"invalid URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise BlockedDestination("only http and https URLs are allowed")
    if not parts.hostname:
        raise BlockedDestination("the URL has no host")
    if parts.username or parts.password:
        raise BlockedDestination("credentials in the URL are not allowed")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80), path


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def check_literal_host(url: str, *, allow_private: bool) -> None:
    """Refuse at configuration time what can never pass: bad URLs and IP literals in refused ranges."""
    _, host, _, _ = split_url(url)
    if not _is_ip_literal(host):
        return
    problem = address_problem(host, allow_private=allow_private)
    if problem:
        raise BlockedDestination(f"{host} is a {problem}; it may not be called")


def resolve_target(url: str, *, allow_private: bool, resolver: Resolver | None = None) -> Target:
    """Resolve the URL's host once and check every address. Fails closed on DNS errors."""
    scheme, host, port, path = split_url(url)
    if _is_ip_literal(host):
        addresses = [host]
    else:
        try:
            addresses = list((resolver or default_resolver)(host, port))
        except (OSError, UnicodeError) as exc:
            raise BlockedDestination(f"DNS resolution of {host} failed (cannot resolve: {exc}); refused") from exc
        if not addresses:
            raise BlockedDestination(f"DNS resolution of {host} returned no address; refused")
    for address in addresses:
        problem = address_problem(address, allow_private=allow_private)
        if problem:
            raise BlockedDestination(f"{host} resolves to {address}, a {problem}; refused")
    return Target(scheme=scheme, host=host, port=port, path=path, address=addresses[0], addresses=tuple(addresses))


@dataclass(frozen=True)
class HttpResult:
    """What one POST produced: a status (and headers, excerpt) or an error, and the time it took."""

    status_code: int | None
    headers: dict[str, str]
    excerpt: str
    error: str
    timed_out: bool
    latency_s: float


def post_pinned(target: Target, *, body: bytes, headers: dict[str, str], timeout_s: float) -> HttpResult:
    """POST ``body`` to ``target.address`` (never re-resolving), redirects not followed, bounded read."""
    started = time.monotonic()
    timeout = urllib3.Timeout(connect=timeout_s, read=timeout_s, total=timeout_s)
    pool: urllib3.HTTPConnectionPool
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            target.address,
            target.port,
            timeout=timeout,
            retries=False,
            maxsize=1,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            server_hostname=target.host,
            assert_hostname=target.host,
        )
    else:
        pool = urllib3.HTTPConnectionPool(target.address, target.port, timeout=timeout, retries=False, maxsize=1)
    send_headers = {**headers, "Host": target.host_header}
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers=send_headers,
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            raw = response.read(EXCERPT_BYTES)
        except Urllib3HTTPError:
            raw = b""  # the status line arrived; a body that stalls does not change the outcome
        finally:
            response.release_conn()
        return HttpResult(
            status_code=response.status,
            headers={k.lower(): v for k, v in response.headers.items()},
            excerpt=raw.decode("utf-8", errors="replace"),
            error="",
            timed_out=False,
            latency_s=time.monotonic() - started,
        )
    except NewConnectionError as exc:  # a subclass of the timeout error in urllib3, but a refusal here
        return HttpResult(None, {}, "", f"connection error: {exc}"[:500], False, time.monotonic() - started)
    except Urllib3TimeoutError:
        return HttpResult(None, {}, "", f"timed out after {timeout_s:g} s", True, time.monotonic() - started)
    except (Urllib3HTTPError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        return HttpResult(None, {}, "", f"connection error: {reason}"[:500], False, time.monotonic() - started)
    finally:
        pool.close()


# --- The ``requests`` flavour, for tools ------------------------------------------------------------------------


def _allow_private(allow_private: bool | None) -> bool:
    if allow_private is None:
        return bool(getattr(settings, "WEBHOOK_ALLOW_PRIVATE_NETWORKS", False))
    return allow_private


def is_blocked_address(address: IPAddress) -> str | None:
    """Why ``address`` is refused with the range check on, or None when it is a public unicast address."""
    return address_problem(str(address), allow_private=False)


def resolve(host: str, port: int, *, allow_private: bool | None = None, resolver: Resolver | None = None) -> IPAddress:
    """Resolve ``host`` once, check every address, and return the one to connect to (``BlockedDestination``
    otherwise). ``allow_private`` defaults to ``WEBHOOK_ALLOW_PRIVATE_NETWORKS``."""
    literal = host.strip("[]")
    netloc = f"[{literal}]" if ":" in literal else literal
    target = resolve_target(f"http://{netloc}:{port}/", allow_private=_allow_private(allow_private), resolver=resolver)
    return ipaddress.ip_address(target.address)


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


def request(
    method: str,
    url: str,
    *,
    timeout: float,
    allow_private: bool | None = None,
    resolver: Resolver | None = None,
    **kwargs: Any,
) -> Any:
    """Send one HTTP request to ``url`` through the guard; returns a ``requests.Response``.

    Raises ``BlockedDestination`` for refused URLs and ``requests.RequestException`` for transport errors.
    Redirects are not followed and proxies from the environment are ignored (they would bypass the pinning).
    """
    target = resolve_target(url, allow_private=_allow_private(allow_private), resolver=resolver)
    pinned_host = f"[{target.address}]" if ":" in target.address else target.address
    pinned_url = f"{target.scheme}://{pinned_host}:{target.port}{target.path}"
    headers = {k: v for k, v in dict(kwargs.pop("headers", None) or {}).items() if k.lower() != "host"}
    headers["Host"] = target.host_header
    with requests.Session() as session:
        session.trust_env = False
        session.mount(f"{target.scheme}://", _PinnedAdapter(target.host))
        return session.request(method, pinned_url, headers=headers, timeout=timeout, allow_redirects=False, **kwargs)
