"""The console's structured view of an action ("the thing itself"), and what changed since an earlier request.

``action_card`` turns a tool and its params into the fields a template draws: an e-mail as From/To/Cc/Subject,
body and attachments; an HTTP request as method, URL, headers and pretty body; a desktop action as what, where,
on which element and the typed text; anything else as one row per parameter. The kind comes from the tool's
descriptor (``@tool(..., card="email")``); unregistered ``desktop.*`` actions (asked for through the API) are
desktop cards. Pure functions: no queries, no side effects.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestrator.lib.tools import get_tool

from .preview import attachment_names, pretty_body, recipients_text, shown_header, summarize_http

CARD_KINDS = ("email", "http", "desktop", "generic")


@dataclass(frozen=True)
class ActionCard:
    """What a template needs to draw one action; ``kind`` picks the layout, ``rows`` are ``(label, text)``."""

    kind: str
    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    body: str = ""
    body_label: str = ""
    attachments: list[str] = field(default_factory=list)


def card_kind(tool: str) -> str:
    declared = get_tool(tool)
    if declared is not None and declared.card in CARD_KINDS:
        return declared.card
    if tool.startswith("desktop."):
        return "desktop"
    return "generic"


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def action_card(tool: str, params: Any) -> ActionCard:
    """The card of ``tool`` run with ``params`` (malformed params give a card with what is there)."""
    p: Mapping[str, Any] = params if isinstance(params, Mapping) else {}
    kind = card_kind(tool)
    if kind == "email":
        rows = [("From", str(p.get("from") or "the default sender")), ("To", recipients_text(p.get("to")))]
        rows += [(label, recipients_text(p[key])) for key, label in (("cc", "Cc"), ("bcc", "Bcc")) if p.get(key)]
        rows.append(("Subject", str(p.get("subject", ""))))
        return ActionCard(
            kind,
            "E-mail",
            rows,
            body=str(p.get("body", "")),
            body_label="Message",
            attachments=attachment_names(p.get("attachments")),
        )
    if kind == "http":
        raw_headers = p.get("headers")
        headers: Mapping[str, Any] = raw_headers if isinstance(raw_headers, Mapping) else {}
        rows = [(str(name), shown_header(str(name), value)) for name, value in headers.items()]
        body_value = p["json"] if "json" in p else p.get("body")
        body = "" if body_value is None else pretty_body(body_value)
        return ActionCard(kind, summarize_http(p), rows, body=body, body_label="Body")
    if kind == "desktop":
        verb = p.get("verb") or p.get("action") or tool.rsplit(".", 1)[-1]
        rows = [("Action", _value(verb))]
        rows += [(label, _value(p[key])) for key, label in (("url", "Page"), ("app", "Application")) if p.get(key)]
        target = p.get("target") or p.get("selector") or p.get("element")
        if target:
            rows.append(("Target", _value(target)))
        text = p.get("text")
        return ActionCard(kind, "Desktop action", rows, body="" if text is None else str(text), body_label="Typed text")
    rows = [(str(key), pretty_body(value)) for key, value in sorted(p.items())]
    return ActionCard("generic", tool, rows)


@dataclass(frozen=True)
class DiffLine:
    sign: str  # "+", "-", " " or "@" (a hunk header)
    text: str


def preview_diff(before: str, after: str) -> list[DiffLine]:
    """A line diff of two previews (the earlier request's and this one's), with three lines of context; empty when
    they are equal."""
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=3)
    out: list[DiffLine] = []
    for line in lines:
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            out.append(DiffLine("@", line))
        else:
            out.append(DiffLine(line[:1] or " ", line[1:]))
    return out
