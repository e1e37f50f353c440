"""Human-readable summary (one line) and preview (a few lines) of an action, for reviewers and event payloads."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

PREVIEW_LIMIT = 4000


def _text(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def summarize(tool: str, params: Any) -> str:
    """One line: what the action does, to whom or where."""
    p: Mapping[str, Any] = params if isinstance(params, Mapping) else {}
    if tool in ("email.send", "sms.send"):
        target = _text(p.get("to", "?"), 80)
        subject = f": {_text(p['subject'], 120)}" if p.get("subject") else ""
        return _text(f"{tool} to {target}{subject}", 300)
    if tool == "http.request":
        method = _text(p.get("method") or "GET", 10).upper()
        return _text(f"{method} {_text(p.get('url', '?'), 200)}", 300)
    if tool.startswith("desktop."):
        verb = p.get("verb") or p.get("action") or tool.rsplit(".", 1)[-1]
        where = f" on {_text(p['url'], 150)}" if p.get("url") else ""
        return _text(f"desktop: {_text(verb, 60)}{where}", 300)
    return _text(f"{tool} {_text(p, 200)}" if p else tool, 300)


def render_preview(tool: str, params: Any) -> str:
    """The action as a reviewer reads it: summary, then every param (pretty JSON, bounded)."""
    body = json.dumps(params, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    text = f"{summarize(tool, params)}\n\ntool: {tool}\nparams:\n{body}"
    return text if len(text) <= PREVIEW_LIMIT else text[: PREVIEW_LIMIT - 1] + "…"
