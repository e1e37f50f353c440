"""Human-readable summary (one line) and preview (a few lines) of an action, for reviewers and event payloads.

A registered tool may declare its own ``summary`` / ``preview`` in its ``@tool(...)`` descriptor
(``orchestrator.lib.tools``); the describers below are the defaults, and the ones built-in tools reuse.
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


def summarize_message(params: Mapping[str, Any], tool: str = "email.send") -> str:
    """A message to people: ``<tool> to <whom>: <subject>``."""
    target = _text(params.get("to", "?"), 80)
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
    else:
        body = json.dumps(params, indent=2, sort_keys=True, ensure_ascii=False, default=str)
        text = f"{summarize(tool, params)}\n\ntool: {tool}\nparams:\n{body}"
    return text if len(text) <= PREVIEW_LIMIT else text[: PREVIEW_LIMIT - 1] + "…"
