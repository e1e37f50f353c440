"""The SSRF guard: refused ranges, DNS failing closed, and the connection pinned to the checked address."""

from __future__ import annotations

import ipaddress
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from orchestrator.lib import netguard


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "100.100.100.200",
        "0.0.0.0",  # noqa: S104
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd00:ec2::254",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:8.8.8.8",
        "64:ff9b::a00:1",
        "2002:a00:1::1",
    ],
)
def test_refused_addresses(address: str) -> None:
    assert netguard.is_blocked_address(ipaddress.ip_address(address)) is not None
    with pytest.raises(netguard.BlockedDestination):
        netguard.resolve(address, 80, allow_private=False)


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert netguard.is_blocked_address(ipaddress.ip_address(address)) is None


def test_dns_failure_fails_closed(monkeypatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror("no such host")

    monkeypatch.setattr(socket, "getaddrinfo", broken)
    with pytest.raises(netguard.BlockedDestination, match="cannot resolve"):
        netguard.resolve("example.com", 443, allow_private=True)


def test_a_name_with_any_private_record_is_refused(monkeypatch) -> None:
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda *a, **k: [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("8.8.8.8", 80)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.1", 80)),
        ],
    )
    with pytest.raises(netguard.BlockedDestination, match=r"10\.0\.0\.1"):
        netguard.resolve("rebind.example", 80, allow_private=False)


@pytest.mark.parametrize(
    "url", ["ftp://example.com/x", "file:///etc/passwd", "http://user:pw@example.com/", "/relative"]
)
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(netguard.BlockedDestination):
        netguard.request("GET", url, timeout=1, allow_private=True)


class EchoHost(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = (self.headers.get("Host") or "").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def local_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoHost)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_connection_goes_to_the_checked_address_with_the_original_host_header(local_server: int, monkeypatch) -> None:
    calls: list[str] = []

    def resolver(host: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", local_server))]

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    response = netguard.request("GET", f"http://pinned.example:{local_server}/", timeout=5, allow_private=True)
    assert response.status_code == 200
    assert response.text == f"pinned.example:{local_server}"
    # The name was resolved exactly once; the HTTP library only "resolved" the checked IP literal.
    assert calls.count("pinned.example") == 1
    assert set(calls) == {"pinned.example", "127.0.0.1"}


def test_loopback_refused_unless_private_networks_are_allowed(local_server: int) -> None:
    with pytest.raises(netguard.BlockedDestination):
        netguard.request("GET", f"http://127.0.0.1:{local_server}/", timeout=5, allow_private=False)
    assert (
        netguard.request("GET", f"http://127.0.0.1:{local_server}/", timeout=5, allow_private=True).status_code == 200
    )


@pytest.mark.parametrize(
    "address",
    ["169.254.169.254", "::ffff:169.254.169.254", "0.0.0.0", "::", "fd00:ec2::254"],  # noqa: S104
)
def test_allowing_private_networks_never_allows_metadata_or_unspecified(address: str) -> None:
    with pytest.raises(netguard.BlockedDestination):
        netguard.resolve("metadata.example", 80, allow_private=True, resolver=lambda host, port: [address])


def test_webhooks_use_the_same_guard() -> None:
    from webhooks import ssrf

    assert ssrf.resolve_target is netguard.resolve_target
    assert ssrf.BlockedDestination is netguard.BlockedDestination
