"""Template filters for approvals: titles computed from the action itself, so recipients read as text.

Summaries stored before issue 21 hold a recipient list as JSON (``["finance@example.com"]``); computing the title
from the tool and params shows every request the same way, old or new.
"""

from __future__ import annotations

from typing import Any

from django import template

from approvals.preview import recipients_text, summarize

register = template.Library()


@register.filter
def action_title(approval: Any) -> str:
    """The one-line summary of an approval's action (``email.send to a@x, b@y: Subject``)."""
    return summarize(getattr(approval, "tool", ""), getattr(approval, "params", {}))


@register.filter
def recipients(value: Any) -> str:
    """A recipient list as ``a@x, b@y``."""
    return recipients_text(value)
