"""PARALLEL: names ``branches`` that start together once it completes (they implicitly depend on it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import Check, Claimed, ClaimOutcome, FieldDoc, Finish, NodeKind


def validate(check: Check, raw: dict[str, Any], config: dict[str, Any]) -> None:
    """``branches``: a non-empty list of distinct keys of other nodes."""
    path = check.path
    branches = raw.get("branches")
    if not isinstance(branches, list) or not branches:
        check.errors.add(f"{path}.branches", "Required: a non-empty list of node keys.")
        branches = []
    for j, branch in enumerate(branches):
        check.ref(branch, f"{path}.branches[{j}]")
    if len({b for b in branches if isinstance(b, str)}) != len(branches):
        check.errors.add(f"{path}.branches", "Each branch may be listed once.")
    config["branches"] = branches


def branch_targets(config: Mapping[str, Any]) -> list[str]:
    return list(config.get("branches", []))


def claim(claimed: Claimed) -> ClaimOutcome:
    """Completes at once; its branches (which depend on it) become READY."""
    return Finish({"branches": claimed.config.get("branches", [])})


KIND = NodeKind(
    name="PARALLEL",
    fields=frozenset({"branches"}),
    validate=validate,
    example={"branches": ["a"]},
    branch_targets=branch_targets,
    claim=claim,
    docs={"branches": FieldDoc("array", "steps that all start when this one completes", items="key")},
)
