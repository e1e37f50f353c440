"""The tool catalogue: one descriptor per tool, declared where the tool is written.

``@tool("name", params=..., risk=..., reasons=..., summary=..., preview=..., idempotent=...)`` registers a
function ``fn(params, ctx) -> output`` together with everything the rest of the system needs to know about it:

- ``params``: a validator run when a workflow is created (a typo is a 400 with the field path) and again before
  the tool runs;
- ``risk`` and ``reasons``: the default risk level (``LOW`` < ``MEDIUM`` < ``HIGH`` < ``CRITICAL``) the approvals
  policy starts from. The settings/tenant policy (``APPROVAL_RISK_POLICY["tools"]``) overrides it; a tool that
  declares no risk is treated as ``MEDIUM`` (it needs approval), never silently ``LOW``;
- ``summary`` and ``preview``: how a reviewer sees one action (one line; a few lines of text), defaults in
  ``approvals.preview``; ``card``: which structured card the console draws it as (``"email"``, ``"http"``,
  ``"desktop"``; see ``approvals.cards``), none for a plain list of parameters;
- ``idempotent``: whether running the same action twice is harmless (crash recovery may then re-run it after
  its worker died mid-way: ``orchestrator/recovery.py``). A bool, or a function of the params for a tool whose
  answer depends on them (``http.request``: only the safe methods). Default: not safe to repeat.
- ``schema``: the params' JSON Schema, published in the executor's action catalogue
  (``orchestrator.executors.catalogue``) and checked before ``params``.

Actions that another executor runs (the task controller's ``desktop.*``, ``agent.run``) have descriptors too; the
catalogue adds a *descriptor source* (``add_descriptor_source``) so ``get_tool`` finds them for the risk policy and
the previews, while ``run_tool`` only ever runs the local functions registered here.

It is on the ground floor (docs/architecture.md) so that approvals can read a tool's declared risk without
importing the engine; the engine's executors run the functions. A tool signals a failed attempt by raising
``ToolError`` (retried by the node's retry policy).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

RISK_LEVELS: tuple[str, ...] = ("LOW", "MEDIUM", "HIGH", "CRITICAL")
UNDECLARED_RISK = "MEDIUM"

ParamsValidator = Callable[[dict[str, Any]], list[tuple[str, str]]]
Describer = Callable[[Mapping[str, Any]], str]
Idempotence = bool | Callable[[Mapping[str, Any]], bool]


class ToolError(Exception):
    """The attempt failed; the message is stored as the node run's error. ``retryable=False`` marks a permanent
    failure (bad input the same attempt would hit again): the node fails without using its retry budget."""

    def __init__(self, message: str = "", *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class ToolTimeout(ToolError):
    """The attempt ran past its ``timeout_seconds``."""


class ToolCancelled(ToolError):
    """The run was cancelled (or the attempt reaped) while the tool ran."""


@dataclass
class ToolContext:
    """What a running tool may know and must honour: its deadline and the stop signal."""

    node_run_id: str = ""
    run_id: str = ""
    node_key: str = ""
    attempt: int = 1
    workspace_id: str | None = None
    # The workspace lease's fencing token of this attempt (runs with a workspace), checked by workspace tools.
    fencing_token: int | None = None
    deadline: float | None = None  # time.monotonic() value
    cancelled: threading.Event = field(default_factory=threading.Event)

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def check(self) -> None:
        """Raise when the tool should stop now."""
        if self.cancelled.is_set():
            raise ToolCancelled("cancelled while running")
        remaining = self.remaining()
        if remaining is not None and remaining <= 0:
            raise ToolTimeout("timed out")


ToolFunction = Callable[[dict[str, Any], ToolContext], Any]


@dataclass(frozen=True)
class Tool:
    """One tool's descriptor."""

    name: str
    fn: ToolFunction
    validate: ParamsValidator
    risk: str | None = None  # None: not declared (treated as UNDECLARED_RISK)
    reasons: tuple[str, ...] = ()
    summary: Describer | None = None
    preview: Describer | None = None
    idempotent: Idempotence = False
    card: str | None = None
    schema: Mapping[str, Any] | None = None  # None: any JSON object

    def is_idempotent(self, params: Mapping[str, Any]) -> bool:
        """Whether running this tool again with ``params`` is harmless (never raises: a bad answer is "no")."""
        if callable(self.idempotent):
            try:
                return bool(self.idempotent(params))
            except Exception:
                return False
        return bool(self.idempotent)

    def declared_risk(self) -> tuple[str, list[str]]:
        """The level this tool starts from and why (before the settings/tenant policy has its say)."""
        if self.risk is None:
            return UNDECLARED_RISK, [f"{self.name} declares no risk level (treated as {UNDECLARED_RISK})"]
        return self.risk, list(self.reasons)


_TOOLS: dict[str, Tool] = {}


def _accept_all(params: dict[str, Any]) -> list[tuple[str, str]]:
    return []


def tool(
    name: str,
    *,
    params: ParamsValidator | None = None,
    risk: str | None = None,
    reasons: tuple[str, ...] | list[str] = (),
    summary: Describer | None = None,
    preview: Describer | None = None,
    idempotent: Idempotence = False,
    card: str | None = None,
    schema: Mapping[str, Any] | None = None,
) -> Callable[[ToolFunction], ToolFunction]:
    """Register ``fn`` as tool ``name`` with its descriptor. Raises ``ValueError`` for an unknown risk level."""
    if risk is not None and risk not in RISK_LEVELS:
        raise ValueError(f"tool {name!r}: risk must be one of {', '.join(RISK_LEVELS)}, not {risk!r}")

    def register(fn: ToolFunction) -> ToolFunction:
        _TOOLS[name] = Tool(
            name=name,
            fn=fn,
            validate=params or _accept_all,
            risk=risk,
            reasons=tuple(reasons),
            summary=summary,
            preview=preview,
            idempotent=idempotent,
            card=card,
            schema=schema,
        )
        return fn

    return register


DescriptorSource = Callable[[str], "Tool | None"]
_SOURCES: list[DescriptorSource] = []


def add_descriptor_source(source: DescriptorSource) -> None:
    """Let ``get_tool`` also find actions run elsewhere (the task controller's catalogue); ``source(name)`` must
    not do I/O beyond reading what is already loaded, since the risk policy calls it inside transactions."""
    if source not in _SOURCES:
        _SOURCES.append(source)


def get_tool(name: Any) -> Tool | None:
    """The descriptor of action ``name``: a local tool, else one a descriptor source knows, else None (an action
    nobody declared, e.g. one a service asks about)."""
    if not isinstance(name, str):
        return None
    found = _TOOLS.get(name)
    if found is not None:
        return found
    for source in tuple(_SOURCES):
        found = source(name)
        if found is not None:
            return found
    return None


def local_tools() -> Mapping[str, Tool]:
    """Every tool this process can run itself (the local executor's catalogue)."""
    return dict(_TOOLS)


def is_idempotent(action: Any) -> bool:
    """Whether ``action`` (``{"tool", "params"}``) may safely run again: a registered tool declaring it so."""
    if not isinstance(action, Mapping):
        return False
    found = get_tool(action.get("tool"))
    params = action.get("params")
    return found is not None and found.is_idempotent(params if isinstance(params, Mapping) else {})


def validators() -> Mapping[str, ParamsValidator]:
    """Tool name → params validator, for ``definitions.validate_definition``."""
    return {name: t.validate for name, t in _TOOLS.items()}


def run_tool(name: str, params: dict[str, Any], ctx: ToolContext) -> Any:
    """Validate ``params`` and run the tool; raises ``ToolError`` for a failed attempt."""
    found = _TOOLS.get(name)
    if found is None:
        raise ToolError(f"unknown tool {name!r}", retryable=False)
    problems = found.validate(params)
    if problems:
        raise ToolError("invalid params: " + "; ".join(f"{p or 'params'}: {m}" for p, m in problems), retryable=False)
    ctx.check()
    return found.fn(params, ctx)


class ActionChecker(Protocol):
    """What definition validation asks about each TASK action (``engine.validate_definition``): the problems of
    running ``tool`` with ``params`` on ``executor`` (None: the run's default), as ``[(field, message)]`` where
    field is ``"tool"``, ``"executor"``, ``"params"`` or ``"params.<path>"``."""

    def problems(self, tool: Any, params: dict[str, Any], executor: Any) -> list[tuple[str, str]]: ...


class ValidatorsChecker:
    """An ``ActionChecker`` over a plain name → params-validator mapping (one executor, no choice)."""

    def __init__(self, validators: Mapping[str, ParamsValidator]) -> None:
        self.validators = validators

    def problems(self, tool: Any, params: dict[str, Any], executor: Any) -> list[tuple[str, str]]:
        if executor is not None:
            return [("executor", "This deployment runs every action on one executor; leave 'executor' out.")]
        if not isinstance(tool, str) or tool not in self.validators:
            return [("tool", f"Unknown tool {tool!r}; known: {', '.join(sorted(self.validators))}.")]
        return [(f"params.{sub}" if sub else "params", message) for sub, message in self.validators[tool](params)]


def as_checker(validators: Mapping[str, ParamsValidator] | ActionChecker) -> ActionChecker:
    return ValidatorsChecker(validators) if isinstance(validators, Mapping) else validators


# --- Small validation helpers for tools ---------------------------------------------------------------------


def check_fields(
    params: Mapping[str, Any],
    *,
    required: Mapping[str, type | tuple[type, ...]] | None = None,
    optional: Mapping[str, type | tuple[type, ...]] | None = None,
) -> list[tuple[str, str]]:
    """Unknown fields, missing required fields and wrong JSON types, as ``[(field, message)]``."""
    required = required or {}
    optional = optional or {}
    problems: list[tuple[str, str]] = []
    for name in params:
        if name not in required and name not in optional:
            problems.append((name, f"Unknown parameter {name!r}."))
    for name, kinds in {**required, **optional}.items():
        if name not in params:
            if name in required:
                problems.append((name, "Required."))
            continue
        value = params[name]
        if (
            isinstance(value, bool) and bool not in (kinds if isinstance(kinds, tuple) else (kinds,))
        ) or not isinstance(value, kinds):
            problems.append((name, f"Must be {_type_name(kinds)}."))
    return problems


def _type_name(kinds: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", float: "a number", dict: "an object", list: "a list", bool: "a bool"}
    kinds_tuple = kinds if isinstance(kinds, tuple) else (kinds,)
    if set(kinds_tuple) == {int, float}:
        return "a number"
    return " or ".join(names.get(k, k.__name__) for k in kinds_tuple)
