"""DECISION: picks one branch by the first matching condition on upstream outputs (SPEC §3.2), else ``default``;
the branches it did not take are SKIPPED."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .base import Check, Claimed, ClaimOutcome, Fail, FieldDoc, Finish, NodeKind, is_number, unknown_fields

OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "contains", "exists", "truthy")


def validate(check: Check, raw: dict[str, Any], config: dict[str, Any]) -> None:
    """``conditions`` (each ``{"when": {"path", "op", "value"}, "then": key}``) and/or ``default`` (a key)."""
    errors, path, key_index = check.errors, check.path, check.key_index
    conditions = raw.get("conditions", [])
    if not isinstance(conditions, list):
        errors.add(f"{path}.conditions", "Must be a list of conditions.")
        conditions = []
    clean: list[dict[str, Any]] = []
    for j, condition in enumerate(conditions):
        cpath = f"{path}.conditions[{j}]"
        if not isinstance(condition, dict):
            errors.add(cpath, 'Each condition is {"when": {"path", "op", "value"}, "then": "<key>"}.')
            continue
        unknown_fields(errors, cpath, condition, ("when", "then"), "a condition")
        when = condition.get("when")
        if not isinstance(when, dict):
            errors.add(f"{cpath}.when", 'Required: {"path", "op", "value"}.')
        else:
            unknown_fields(errors, f"{cpath}.when", when, ("path", "op", "value"), "a condition")
            cond_path = when.get("path")
            if not isinstance(cond_path, str) or not _valid_path(cond_path, key_index):
                errors.add(f"{cpath}.when.path", "Required: '<node key>.output[.field…]' naming an existing node.")
            op = when.get("op")
            if op not in OPERATORS:
                errors.add(f"{cpath}.when.op", f"One of {', '.join(OPERATORS)}.")
            elif op in ("eq", "ne", "gt", "gte", "lt", "lte", "in", "contains") and "value" not in when:
                errors.add(f"{cpath}.when.value", f"Required for operator {op!r}.")
            elif op == "in" and not isinstance(when.get("value"), list):
                errors.add(f"{cpath}.when.value", "Operator 'in' needs a list.")
            elif op in ("gt", "gte", "lt", "lte") and not isinstance(when.get("value"), (int, float, str)):
                errors.add(f"{cpath}.when.value", f"Operator {op!r} needs a number or a string.")
            elif op in ("exists", "truthy") and not isinstance(when.get("value", True), bool):
                errors.add(f"{cpath}.when.value", f"Operator {op!r} takes an optional boolean.")
        check.ref(condition.get("then"), f"{cpath}.then")
        clean.append({"when": when, "then": condition.get("then")})
    default = raw.get("default")
    if default is not None:
        check.ref(default, f"{path}.default")
    if not conditions and default is None:
        errors.add(f"{path}.conditions", "A DECISION needs conditions, a default, or both.")
    config["conditions"] = clean
    config["default"] = default


def _valid_path(path: str, keys: Mapping[str, int]) -> bool:
    parts = path.split(".")
    return len(parts) >= 2 and parts[0] in keys and parts[1] == "output" and all(parts)


def branch_targets(config: Mapping[str, Any]) -> list[str]:
    """The ``then`` targets and the ``default``, once each, in order."""
    targets = [c["then"] for c in config.get("conditions", [])]
    if config.get("default"):
        targets.append(config["default"])
    return list(dict.fromkeys(targets))


def reads(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Each condition reads the output of the node its path starts with."""
    return [
        (f"conditions[{j}].when.path", c["when"]["path"].split(".", 1)[0])
        for j, c in enumerate(config.get("conditions", []))
    ]


def not_taken(config: Mapping[str, Any], output: Any) -> set[str]:
    """The branch targets other than the one chosen (``output["branch"]``)."""
    chosen = output.get("branch") if isinstance(output, dict) else None
    return {t for t in branch_targets(config) if t != chosen}


# --- DECISION evaluation (SPEC §3.2) --------------------------------------------------------------------------

_MISSING = object()


def resolve_path(outputs: Mapping[str, Any], path: str) -> Any:
    """The value at ``<key>.output.a.b.0`` in ``outputs`` (key → output), or ``_MISSING``."""
    parts = path.split(".")
    if len(parts) < 2 or parts[1] != "output" or parts[0] not in outputs:
        return _MISSING
    value: Any = outputs[parts[0]]
    for part in parts[2:]:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def _ordered(op: str, actual: Any, expected: Any) -> bool:
    comparable = (is_number(actual) and is_number(expected)) or (isinstance(actual, str) and isinstance(expected, str))
    if not comparable:
        return False
    if op == "gt":
        return bool(actual > expected)
    if op == "gte":
        return bool(actual >= expected)
    if op == "lt":
        return bool(actual < expected)
    return bool(actual <= expected)


def evaluate_condition(when: Mapping[str, Any], outputs: Mapping[str, Any]) -> bool:
    """One condition; type mismatches are simply false (never an exception). A missing path only satisfies
    ``ne`` and ``exists: false``."""
    op = when["op"]
    actual = resolve_path(outputs, when["path"])
    expected = when.get("value")
    if op == "exists":
        return (actual is not _MISSING) == (expected if isinstance(expected, bool) else True)
    if actual is _MISSING:
        return op == "ne"
    if op == "truthy":
        return bool(actual) == (expected if isinstance(expected, bool) else True)
    if op == "eq":
        return bool(actual == expected)
    if op == "ne":
        return bool(actual != expected)
    if op in ("gt", "gte", "lt", "lte"):
        return _ordered(op, actual, expected)
    if op == "in":
        return isinstance(expected, list) and actual in expected
    if op == "contains":
        if isinstance(actual, str):
            return isinstance(expected, str) and expected in actual
        if isinstance(actual, list):
            return expected in actual
        if isinstance(actual, dict):
            return isinstance(expected, str) and expected in actual
        return False
    return False


@dataclass(frozen=True)
class DecisionResult:
    branch: str | None
    matched: int | str | None  # index of the first matching condition, "default", or None
    error: str = ""

    def output(self) -> dict[str, Any]:
        return {"branch": self.branch, "matched": self.matched}


def evaluate_decision(config: Mapping[str, Any], outputs: Mapping[str, Any]) -> DecisionResult:
    """First matching condition wins; otherwise ``default``; with neither, an error (the node FAILS)."""
    for index, condition in enumerate(config.get("conditions", [])):
        if evaluate_condition(condition["when"], outputs):
            return DecisionResult(branch=condition["then"], matched=index)
    if config.get("default"):
        return DecisionResult(branch=config["default"], matched="default")
    return DecisionResult(
        branch=None,
        matched=None,
        error="No condition matched and the DECISION has no default branch.",
    )


def claim(claimed: Claimed) -> ClaimOutcome:
    """Evaluate the conditions on the outputs read (``reads``): COMPLETE with ``{"branch", "matched"}``, or FAIL
    when nothing matched and there is no default."""
    result = evaluate_decision(claimed.config, claimed.outputs)
    if result.branch is None:
        return Fail(result.error)
    return Finish(result.output())


KIND = NodeKind(
    name="DECISION",
    fields=frozenset({"conditions", "default"}),
    validate=validate,
    example={"default": "a"},
    claim=claim,
    branch_targets=branch_targets,
    reads=reads,
    not_taken=not_taken,
    docs={
        "conditions": FieldDoc("array", '[{"when", "then"}]: the first that holds is taken', items="object"),
        "default": FieldDoc("key", "taken when no condition holds (null: the step fails)", nullable=True),
    },
)
