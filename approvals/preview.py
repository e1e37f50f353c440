"""Human-readable summary (one line) and preview (a few lines) of an action, for reviewers and event payloads.

A registered tool may declare its own ``summary`` / ``preview`` in its ``@tool(...)`` descriptor
(``orchestrator.lib.tools``); the describers below are the defaults, and the ones built-in tools reuse. The
preview is plain text (it goes into notifications and the API too): an e-mail reads as an e-mail (headers, a
blank line, the body with its line breaks), an HTTP request as its request line, headers and pretty body. The
console renders the same actions as structured cards (``approvals.cards``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from orchestrator.lib.httpmethods import effective_method
from orchestrator.lib.tools import get_tool

PREVIEW_LIMIT = 4000
SUMMARY_LIMIT = 300


def _text(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _params(params: Any) -> Mapping[str, Any]:
    return params if isinstance(params, Mapping) else {}


def recipients_text(value: Any) -> str:
    """Recipients as people write them: ``a@example.com, b@example.com`` (a list is joined, not shown as JSON)."""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(item) for item in value if item not in (None, ""))
    return "" if value is None else str(value)


def summarize_message(params: Mapping[str, Any], tool: str = "email.send") -> str:
    """A message to people: ``<tool> to <whom>: <subject>``."""
    target = _text(recipients_text(params.get("to")) or "?", 80)
    subject = f": {_text(params['subject'], 120)}" if params.get("subject") else ""
    return f"{tool} to {target}{subject}"


def summarize_http(params: Mapping[str, Any]) -> str:
    """An HTTP request: ``<METHOD> <url>``; a method override shows as what it is (``DELETE (sent as GET with the
    X-HTTP-Method-Override header) <url>``), see ``orchestrator.lib.httpmethods``."""
    method = _text(params.get("method") or "GET", 10).upper()
    url = _text(params.get("url", "?"), 200)
    effective = effective_method(params)
    if effective.source != "method" and effective.name != method:
        return f"{_text(effective.name, 10)} (sent as {method} with {effective.source}) {url}"
    return f"{method} {url}"


SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key", "x-auth-token"})


def shown_header(name: str, value: Any) -> str:
    """A header value as a reviewer sees it: credentials are hidden (the full parameters still hold them)."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if name.lower() in SENSITIVE_HEADERS:
        scheme = text.split(" ", 1)[0] if " " in text else ""
        return f"{scheme} •••• (hidden)".strip()
    return text


def pretty_body(value: Any) -> str:
    """A request body as text: JSON indented, a string as it is."""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def preview_email(params: Mapping[str, Any]) -> str:
    """An e-mail as it will arrive: From/To/Cc/Subject, a blank line, the body with its line breaks, then the
    attachments by name."""
    lines = [f"From: {params.get('from') or '(the default sender)'}", f"To: {recipients_text(params.get('to'))}"]
    for key, label in (("cc", "Cc"), ("bcc", "Bcc"), ("reply_to", "Reply-To")):
        if params.get(key):
            lines.append(f"{label}: {recipients_text(params[key])}")
    lines += [f"Subject: {params.get('subject', '')}", "", str(params.get("body", ""))]
    names = attachment_names(params.get("attachments"))
    if names:
        lines += ["", f"Attachments ({len(names)}): " + ", ".join(names)]
    return "\n".join(lines)


def attachment_names(value: Any) -> list[str]:
    """Attachment names from a list of names or of ``{"filename"|"name"|"path": …}`` objects."""
    if not isinstance(value, list):
        return []
    names = []
    for item in value:
        if isinstance(item, Mapping):
            names.append(str(item.get("filename") or item.get("name") or item.get("path") or "(unnamed)"))
        else:
            names.append(str(item))
    return names


def preview_http(params: Mapping[str, Any]) -> str:
    """An HTTP request as written on the wire: the request line, the headers, a blank line, the pretty body."""
    lines = [summarize_http(params)]
    headers = params.get("headers")
    if isinstance(headers, Mapping):
        lines += [f"{name}: {shown_header(str(name), value)}" for name, value in headers.items()]
    if "json" in params:
        lines += ["", pretty_body(params["json"])]
    elif params.get("body") is not None:
        lines += ["", pretty_body(params["body"])]
    return "\n".join(lines)


def preview_desktop(tool: str, params: Mapping[str, Any]) -> str:
    """A desktop action: what it does, where, on which element, and the text it types."""
    verb = params.get("verb") or params.get("action") or tool.rsplit(".", 1)[-1]
    lines = [f"Desktop action: {verb}"]
    for key, label in (("url", "Page"), ("app", "Application"), ("window", "Window")):
        if params.get(key):
            lines.append(f"{label}: {params[key]}")
    target = params.get("target") or params.get("selector") or params.get("element")
    if target:
        lines.append(f"Target: {target if isinstance(target, str) else json.dumps(target, ensure_ascii=False)}")
    if params.get("text") is not None:
        lines += ["Typed text:", str(params["text"])]
    return "\n".join(lines)


def summarize(tool: str, params: Any) -> str:
    """One line: what the action does, to whom or where (the tool's declared ``summary`` when it has one)."""
    p = _params(params)
    declared = get_tool(tool)
    if declared is not None and declared.summary is not None:
        return _text(declared.summary(p), SUMMARY_LIMIT)
    if tool == "sms.send":
        return _text(summarize_message(p, tool), SUMMARY_LIMIT)
    if tool.startswith("desktop."):
        verb = p.get("verb") or p.get("action") or tool.rsplit(".", 1)[-1]
        where = f" on {_text(p['url'], 150)}" if p.get("url") else ""
        return _text(f"desktop: {_text(verb, 60)}{where}", SUMMARY_LIMIT)
    return _text(f"{tool} {_text(p, 200)}" if p else tool, SUMMARY_LIMIT)


def render_preview(tool: str, params: Any) -> str:
    """The action as a reviewer reads it: the tool's declared ``preview`` when it has one, else the summary, then
    every param (pretty JSON); bounded to ``PREVIEW_LIMIT`` characters."""
    declared = get_tool(tool)
    if declared is not None and declared.preview is not None:
        text = declared.preview(_params(params))
    elif tool.startswith("desktop."):
        text = preview_desktop(tool, _params(params))
    else:
        body = json.dumps(params, indent=2, sort_keys=True, ensure_ascii=False, default=str)
        text = f"{summarize(tool, params)}\n\ntool: {tool}\nparams:\n{body}"
    return text if len(text) <= PREVIEW_LIMIT else text[: PREVIEW_LIMIT - 1] + "…"
