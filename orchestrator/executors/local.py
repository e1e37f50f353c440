"""Built-in tools run by the local executor (SPEC §5); the workspace file tools are in ``workspace_tools``."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email

from approvals.preview import preview_email, preview_http, summarize_http, summarize_message
from orchestrator.lib import netguard
from orchestrator.lib.tools import ToolContext, ToolError, ToolTimeout, check_fields, tool

MAX_SLEEP_SECONDS = 86400
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
HTTP_BODY_LIMIT = 64 * 1024
HTTP_DEFAULT_TIMEOUT = 30.0


@tool("noop", risk="LOW", reasons=["does nothing"], idempotent=True)
def noop(params: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    """Does nothing, successfully."""
    return {}


@tool("echo", risk="LOW", reasons=["returns its input"], idempotent=True)
def echo(params: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    """Returns its params as the output (handy to feed DECISIONs)."""
    return params


def _sleep_params(params: dict[str, Any]) -> list[tuple[str, str]]:
    problems = check_fields(params, required={"seconds": (int, float)})
    seconds = params.get("seconds")
    if not problems and not (math.isfinite(float(seconds or 0)) and 0 <= float(seconds or 0) <= MAX_SLEEP_SECONDS):
        problems.append(("seconds", f"Between 0 and {MAX_SLEEP_SECONDS}."))
    return problems


SLEEP_SCHEMA = {
    "type": "object",
    "required": ["seconds"],
    "properties": {"seconds": {"type": "number", "minimum": 0, "maximum": MAX_SLEEP_SECONDS}},
    "additionalProperties": False,
}


@tool("sleep", params=_sleep_params, schema=SLEEP_SCHEMA, risk="LOW", reasons=["waits"], idempotent=True)
def sleep(params: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    """Waits ``seconds``, stopping early (as a failure) when cancelled or past the attempt's timeout."""
    seconds = float(params["seconds"])
    remaining = ctx.remaining()
    if remaining is not None and remaining < seconds:
        ctx.cancelled.wait(max(0.0, remaining))
        ctx.check()
        raise ToolTimeout("timed out")
    ctx.cancelled.wait(seconds)
    ctx.check()
    return {"slept": seconds}


def _fail_params(params: dict[str, Any]) -> list[tuple[str, str]]:
    return check_fields(params, optional={"message": str})


FAIL_SCHEMA = {"type": "object", "properties": {"message": {"type": "string"}}, "additionalProperties": False}


@tool("fail", params=_fail_params, schema=FAIL_SCHEMA, risk="LOW", reasons=["fails on purpose"], idempotent=True)
def fail(params: dict[str, Any], ctx: ToolContext) -> None:
    """Always fails with ``message`` (for testing failure handling)."""
    raise ToolError(str(params.get("message") or "failed on purpose"))


def _http_params(params: dict[str, Any]) -> list[tuple[str, str]]:
    problems = check_fields(
        params,
        required={"url": str},
        optional={
            "method": str,
            "headers": dict,
            "json": (dict, list, str, int, float, bool),
            "timeout_seconds": (int, float),
        },
    )
    method = params.get("method", "GET")
    if isinstance(method, str) and method.upper() not in HTTP_METHODS:
        problems.append(("method", f"One of {', '.join(HTTP_METHODS)}."))
    url = params.get("url")
    if isinstance(url, str):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append(("url", "An absolute http:// or https:// URL."))
    headers = params.get("headers")
    if isinstance(headers, dict):
        for name, value in headers.items():
            if not isinstance(value, str):
                problems.append((f"headers.{name}", "Header values must be strings."))
    timeout = params.get("timeout_seconds")
    if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and not 0 < timeout <= 300:
        problems.append(("timeout_seconds", "Between 0 and 300."))
    return problems


SAFE_HTTP_METHODS = ("GET", "HEAD", "OPTIONS")


def _http_idempotent(params: Mapping[str, Any]) -> bool:
    """GET, HEAD and OPTIONS are safe to repeat (RFC 9110 §9.2.1); PUT/DELETE are idempotent by the RFC but a
    receiver may not honour it, and POST/PATCH never are, so crash recovery does not repeat those."""
    return str(params.get("method", "GET")).upper() in SAFE_HTTP_METHODS


HTTP_SCHEMA = {
    "type": "object",
    "required": ["url"],
    "properties": {
        "url": {"type": "string"},
        "method": {"type": "string"},
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        "json": {},
        "timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 300},
    },
    "additionalProperties": False,
}


# LOW by itself: the approvals policy's ``http`` rules raise a request with a mutating method to MEDIUM, counting method
# overrides (X-HTTP-Method-Override and kin, ``_method`` in the query or body; ``orchestrator.lib.httpmethods``).
@tool(
    "http.request",
    params=_http_params,
    schema=HTTP_SCHEMA,
    risk="LOW",
    summary=summarize_http,
    preview=preview_http,
    card="http",
    idempotent=_http_idempotent,
)
def http_request(params: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    """One HTTP request through the SSRF guard; 4xx/5xx fail the attempt. Output: the parsed body of a JSON
    answer, otherwise ``{"status_code", "headers", "text", "truncated"}``. Redirects are not followed."""
    timeout = float(params.get("timeout_seconds", HTTP_DEFAULT_TIMEOUT))
    remaining = ctx.remaining()
    if remaining is not None:
        timeout = max(0.1, min(timeout, remaining))
    kwargs: dict[str, Any] = {"headers": params.get("headers") or {}}
    if "json" in params:
        kwargs["json"] = params["json"]
    try:
        response = netguard.request(
            str(params.get("method", "GET")).upper(),
            params["url"],
            timeout=timeout,
            allow_private=settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS,
            stream=True,
            **kwargs,
        )
    except netguard.BlockedDestination as exc:
        raise ToolError(f"refused: {exc}") from exc
    except requests.Timeout as exc:
        raise ToolError(f"timed out after {timeout:.1f}s") from exc
    except requests.RequestException as exc:
        raise ToolError(f"request failed: {exc.__class__.__name__}: {exc}") from exc
    try:
        raw = response.raw.read(HTTP_BODY_LIMIT + 1, decode_content=True) or b""
    finally:
        response.close()
    truncated = len(raw) > HTTP_BODY_LIMIT
    text = raw[:HTTP_BODY_LIMIT].decode(response.encoding or "utf-8", errors="replace")
    if response.status_code >= 400:
        raise ToolError(f"HTTP {response.status_code} from {urlsplit(params['url']).hostname}: {text[:200]}")
    if not truncated and "json" in response.headers.get("Content-Type", ""):
        try:
            # A JSON answer *is* the output, so DECISIONs read it directly (``fetch.output.count``, SPEC §3.1).
            return json.loads(text)
        except ValueError:
            pass
    return {
        "status_code": response.status_code,
        "headers": dict(list(response.headers.items())[:50]),
        "text": text,
        "truncated": truncated,
    }


def _email_params(params: dict[str, Any]) -> list[tuple[str, str]]:
    problems = check_fields(params, required={"to": (str, list), "subject": str, "body": str}, optional={"from": str})
    to = params.get("to")
    recipients = [to] if isinstance(to, str) else to if isinstance(to, list) else []
    if isinstance(to, list) and not to:
        problems.append(("to", "At least one recipient."))
    for index, address in enumerate(recipients):
        try:
            validate_email(address)
        except (ValidationError, TypeError):
            problems.append(("to" if isinstance(to, str) else f"to[{index}]", f"Not an e-mail address: {address!r}."))
    subject = params.get("subject")
    if isinstance(subject, str) and ("\n" in subject or "\r" in subject or len(subject) > 998):
        problems.append(("subject", "One line of at most 998 characters."))
    return problems


EMAIL_SCHEMA = {
    "type": "object",
    "required": ["to", "subject", "body"],
    "properties": {
        "to": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]},
        "subject": {"type": "string", "maxLength": 998},
        "body": {"type": "string"},
        "from": {"type": "string"},
    },
    "additionalProperties": False,
}


@tool(
    "email.send",
    params=_email_params,
    schema=EMAIL_SCHEMA,
    risk="HIGH",
    reasons=["sends e-mail to people"],
    summary=summarize_message,
    preview=preview_email,
    card="email",
)
def email_send(params: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    """Sends one e-mail through Django's e-mail backend (a file backend under DATA_DIR locally)."""
    to = params["to"]
    recipients = [to] if isinstance(to, str) else list(to)
    try:
        sent = send_mail(
            params["subject"],
            params["body"],
            params.get("from") or settings.DEFAULT_FROM_EMAIL,
            recipients,
            fail_silently=False,
        )
    except Exception as exc:  # SMTP and backend errors are a failed attempt, retried by policy
        raise ToolError(f"e-mail not sent: {exc.__class__.__name__}: {exc}") from exc
    return {"sent": sent, "to": recipients}
