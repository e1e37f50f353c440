"""The local tools and the registry (SPEC §5)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.core import mail

from orchestrator.lib import tools as registry
from orchestrator.lib.tools import ToolContext, ToolError

from .test_netguard import local_server  # noqa: F401  (fixture)


def run(name: str, params: dict[str, Any], ctx: ToolContext | None = None) -> Any:
    return registry.run_tool(name, params, ctx or ToolContext())


def test_registry_has_the_local_tools() -> None:
    assert {"noop", "echo", "sleep", "fail", "http.request", "email.send"} <= set(registry.validators())


def test_adding_a_tool_is_one_function() -> None:
    @registry.tool("test.double", params=lambda p: registry.check_fields(p, required={"n": int}))
    def double(params: dict[str, Any], ctx: ToolContext) -> int:
        return params["n"] * 2

    assert run("test.double", {"n": 21}) == 42
    with pytest.raises(ToolError, match="n: Required"):
        run("test.double", {})


def test_noop_echo_fail() -> None:
    assert run("noop", {}) == {}
    assert run("echo", {"a": [1, 2]}) == {"a": [1, 2]}
    with pytest.raises(ToolError, match="boom"):
        run("fail", {"message": "boom"})


@pytest.mark.parametrize(
    ("name", "params", "field"),
    [
        ("sleep", {"seconds": "x"}, "seconds"),
        ("sleep", {"seconds": -1}, "seconds"),
        ("sleep", {"seconds": 1, "extra": 1}, "extra"),
        ("http.request", {}, "url"),
        ("http.request", {"url": "ftp://x"}, "url"),
        ("http.request", {"url": "https://x.example", "method": "BREW"}, "method"),
        ("http.request", {"url": "https://x.example", "headers": {"A": 1}}, "headers.A"),
        ("email.send", {"to": "not-an-address", "subject": "s", "body": "b"}, "to"),
        ("email.send", {"to": ["a@example.com", "x"], "subject": "s", "body": "b"}, "to[1]"),
        ("email.send", {"to": "a@example.com", "subject": "a\nBcc: evil@example.com", "body": "b"}, "subject"),
        ("fail", {"message": 3}, "message"),
    ],
)
def test_params_are_validated_with_field_names(name: str, params: dict[str, Any], field: str) -> None:
    assert field in [f for f, _ in registry.validators()[name](params)]


def test_sleep_stops_at_the_deadline() -> None:
    began = time.monotonic()
    with pytest.raises(registry.ToolTimeout):
        run("sleep", {"seconds": 10}, ToolContext(deadline=time.monotonic() + 0.1))
    assert time.monotonic() - began < 2


def test_sleep_stops_when_cancelled() -> None:
    ctx = ToolContext()
    threading.Timer(0.1, ctx.cancelled.set).start()
    with pytest.raises(registry.ToolCancelled):
        run("sleep", {"seconds": 10}, ctx)


def test_email_goes_through_the_django_backend() -> None:
    assert run("email.send", {"to": "a@example.com", "subject": "Hi", "body": "There"}) == {
        "sent": 1,
        "to": ["a@example.com"],
    }
    assert mail.outbox[0].subject == "Hi"


def test_http_request_is_ssrf_guarded(settings, local_server: int) -> None:  # noqa: F811
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    with pytest.raises(ToolError, match="refused"):
        run("http.request", {"url": f"http://127.0.0.1:{local_server}/"})
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    output = run("http.request", {"url": f"http://127.0.0.1:{local_server}/"})
    assert output["status_code"] == 200
    assert output["text"] == f"127.0.0.1:{local_server}"


def test_http_request_connection_error_is_a_failed_attempt(settings) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    with pytest.raises(ToolError, match="request failed"):
        run("http.request", {"url": "http://127.0.0.1:9/", "timeout_seconds": 2})
