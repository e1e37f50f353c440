"""SSRF guard (SPEC §7.1): resolve once, check every address, fail closed, connect to the checked address."""

from __future__ import annotations

import pytest

from tests.webhooks.receiver import Receiver
from webhooks import ssrf

REFUSED = [
    "127.0.0.1",
    "::1",
    "::ffff:127.0.0.1",
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",
    "169.254.169.254",
    "0.0.0.0",  # noqa: S104
    "fd00:ec2::254",
    "fe80::1",
    "224.0.0.1",
    "::ffff:169.254.169.254",
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "240.0.0.1",
]


def stub(*addresses: str):
    def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


def failing_resolver(host: str, port: int) -> list[str]:
    raise OSError(-2, "Name or service not known")


@pytest.mark.parametrize("address", REFUSED)
def test_resolved_private_loopback_metadata_and_reserved_addresses_are_refused(address: str) -> None:
    with pytest.raises(ssrf.BlockedDestination) as info:
        ssrf.resolve_target("https://hooks.example.com/x", allow_private=False, resolver=stub(address))
    assert address in info.value.message
    assert "refused" in info.value.message


def test_dns_failure_fails_closed_with_a_clear_error() -> None:
    with pytest.raises(ssrf.BlockedDestination, match=r"DNS resolution of hooks\.example\.com failed"):
        ssrf.resolve_target("https://hooks.example.com/x", allow_private=False, resolver=failing_resolver)


def test_empty_dns_answer_fails_closed() -> None:
    with pytest.raises(ssrf.BlockedDestination, match="no address"):
        ssrf.resolve_target("https://hooks.example.com/x", allow_private=False, resolver=stub())


def test_one_bad_address_among_good_ones_refuses_the_host() -> None:
    with pytest.raises(ssrf.BlockedDestination, match=r"10\.0\.0\.1"):
        ssrf.resolve_target(
            "https://hooks.example.com/", allow_private=False, resolver=stub("93.184.216.34", "10.0.0.1")
        )


def test_public_address_is_allowed_and_pinned() -> None:
    target = ssrf.resolve_target(
        "https://hooks.example.com:8443/in?x=1", allow_private=False, resolver=stub("93.184.216.34", "2606:2800::1")
    )
    assert target.address == "93.184.216.34"
    assert target.host == "hooks.example.com"
    assert target.path == "/in?x=1"
    assert target.host_header == "hooks.example.com:8443"


def test_allow_private_lifts_range_check_but_not_metadata() -> None:
    assert ssrf.resolve_target("http://h.test/", allow_private=True, resolver=stub("10.0.0.1")).address == "10.0.0.1"
    with pytest.raises(ssrf.BlockedDestination, match="metadata"):
        ssrf.resolve_target("http://h.test/", allow_private=True, resolver=stub("169.254.169.254"))


@pytest.mark.parametrize(
    "url", ["ftp://example.com/", "file:///etc/passwd", "http:///nohost", "http://user:pw@example.com/", "gopher://x"]
)
def test_non_http_urls_and_credentials_are_refused(url: str) -> None:
    with pytest.raises(ssrf.BlockedDestination):
        ssrf.resolve_target(url, allow_private=True, resolver=stub("93.184.216.34"))


def test_ip_literal_is_checked_without_dns() -> None:
    with pytest.raises(ssrf.BlockedDestination, match="loopback"):
        ssrf.resolve_target("http://[::1]:8080/", allow_private=False, resolver=failing_resolver)
    with pytest.raises(ssrf.BlockedDestination, match="metadata"):
        ssrf.check_literal_host("http://169.254.169.254/latest", allow_private=True)


def test_connection_goes_to_the_checked_address_with_the_original_host_header() -> None:
    """The host name does not exist in DNS: the request can only arrive if the pinned address is used."""
    with Receiver() as receiver:
        url = f"http://hooks.invalid.test:{receiver.port}/pinned"
        target = ssrf.resolve_target(url, allow_private=True, resolver=stub("127.0.0.1"))
        result = ssrf.post_pinned(target, body=b"{}", headers={"Content-Type": "application/json"}, timeout_s=5)
        assert result.status_code == 200
        (got,) = receiver.wait_for(1)
    assert got.path == "/pinned"
    assert got.headers["host"] == f"hooks.invalid.test:{receiver.port}"
