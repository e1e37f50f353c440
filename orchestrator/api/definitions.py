"""Boundary checks of a workflow definition before the engine validates its shape (issue 16).

The engine (``orchestrator.definitions.validate_definition``) checks structure and the graph; what it accepts is then
stored and later computed with. Timestamps are normalised and bounded here, at the API, so a WAIT ``until`` the
database cannot store (``0001-01-01T00:00:00+15:00``, ``9999-12-31T23:59:59-15:00``) or a WAIT years ahead is a
400 naming the field instead of a range error in a later scheduler tick.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rest_framework.exceptions import ValidationError

from orchestrator.lib.bounds import BoundsError, check_wait_until


def bound_definition(body: dict[str, Any], *, now: datetime) -> dict[str, Any]:
    """``body`` with every WAIT ``until`` in UTC (a shallow copy where changed), or ``ValidationError`` listing
    each out-of-bounds field (``nodes[3].wait.until``). Shapes the engine refuses are left for it to report."""
    nodes = body.get("nodes")
    if not isinstance(nodes, list):
        return body
    errors: dict[str, list[str]] = {}
    clean_nodes: list[Any] = []
    for index, node in enumerate(nodes):
        wait = node.get("wait") if isinstance(node, dict) else None
        if not isinstance(wait, dict):
            clean_nodes.append(node)
            continue
        clean_wait = dict(wait)
        if "until" in wait:
            try:
                clean_wait["until"] = check_wait_until(wait["until"], now=now).isoformat()
            except BoundsError as exc:
                errors[f"nodes[{index}].wait.until"] = [str(exc)]
        # ``seconds`` is bounded by the WAIT descriptor itself (orchestrator/nodes/wait.py), with MAX_WAIT_DAYS.
        clean_nodes.append({**node, "wait": clean_wait})
    if errors:
        raise ValidationError(errors)
    return {**body, "nodes": clean_nodes}
