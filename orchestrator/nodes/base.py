"""What a node type's descriptor is made of, and the helpers every type's validator shares (pure: no ORM).

A node type is one ``NodeKind`` (built in ``orchestrator/nodes/<type>.py``, registered in
``orchestrator/nodes/__init__.py``): its own fields in a definition, how they are validated into the stored
``config``, which nodes it names as branches, which outputs it reads, and which branches it did not take.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orchestrator.lib.tools import ActionChecker, as_checker


class Errors:
    """The problems found in a definition so far: ``[{"field": path, "message": text}]``."""

    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, path: str, message: str) -> None:
        self.items.append({"field": path, "message": message})

    def __bool__(self) -> bool:
        return bool(self.items)


def is_number(value: Any) -> bool:
    """A finite int or float (a bool is not a number here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def json_size(value: Any) -> int:
    """Bytes of ``value`` as compact JSON (the size limits are on what is stored)."""
    return len(json.dumps(value, separators=(",", ":"), default=str).encode("utf-8"))


def unknown_fields(errors: Errors, path: str, obj: Mapping[str, Any], allowed: Iterable[str], what: str) -> None:
    """One problem per key of ``obj`` that is not in ``allowed`` (a typo must not be silently ignored)."""
    allowed_set = set(allowed)
    for name in obj:
        if name not in allowed_set:
            prefix = f"{path}." if path else ""
            errors.add(
                f"{prefix}{name}", f"Unknown field {name!r} for {what}; allowed: {', '.join(sorted(allowed_set))}."
            )


class RunChecker:
    """The executors' action catalogues (an ``ActionChecker``) with the run's ``"executor"`` as the default of its
    TASK nodes (issue 19)."""

    def __init__(self, checker: ActionChecker, executor: Any) -> None:
        self.checker = checker
        self.executor = executor

    def problems(self, tool: Any, params: dict[str, Any], executor: Any) -> list[tuple[str, str]]:
        return self.checker.problems(tool, params, self.executor if executor is None else executor)


@dataclass
class Check:
    """What a type's validator gets for one node: where it is (``path`` = ``nodes[3]``), the keys of the whole
    definition (to check references), the registered tools' params validators, and the problem list to add to."""

    errors: Errors
    path: str
    key: Any  # as written (a node with an invalid key is reported by its own check)
    key_index: Mapping[str, int]
    tool_validators: RunChecker = field(default_factory=lambda: RunChecker(as_checker({}), None))

    def ref(self, value: Any, where: str) -> None:
        """``value`` (at field path ``where``) must be the key of another node of the definition."""
        if not isinstance(value, str) or value not in self.key_index:
            self.errors.add(where, f"Unknown node key {value!r}.")
        elif value == self.key:
            self.errors.add(where, "A node cannot refer to itself.")


def no_branches(config: Mapping[str, Any]) -> list[str]:
    return []


def reads_nothing(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    return []


def takes_every_branch(config: Mapping[str, Any], output: Any) -> set[str]:
    return set()


@dataclass(frozen=True)
class Claimed:
    """What a control node's ``claim`` sees: the node as the scheduler claimed it (READY, or WAITING with its timer
    due), the outputs of the COMPLETED nodes its type ``reads`` (key → output), and the tick's time."""

    status: str
    config: Mapping[str, Any]
    not_before: datetime | None
    outputs: Mapping[str, Any]
    now: datetime


@dataclass(frozen=True)
class Announce:
    """An event the scheduler emits when it applies a claim's outcome (only if the node moved): ``type`` from
    ``orchestrator.events.EVENT_TYPES``, ``data`` besides the ``run_id`` and ``node_key`` it adds."""

    type: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Finish:
    """The node COMPLETES now with ``output`` (its type's ``not_taken`` decides the branches skipped)."""

    output: Any
    announce: Announce | None = None


@dataclass(frozen=True)
class Fail:
    """The node FAILS for good with ``error`` (the run follows its ``on_failure``)."""

    error: str
    announce: Announce | None = None


@dataclass(frozen=True)
class WaitUntil:
    """The node goes WAITING until ``due`` (a timer in the database); it is claimed again then."""

    due: datetime
    announce: Announce | None = None


ClaimOutcome = Finish | Fail | WaitUntil


@dataclass(frozen=True)
class FieldDoc:
    """How one of a type's definition fields is documented in the API schema (the type's ``validate`` is what
    judges it). ``json``: ``object``, ``array``, ``string``, ``number``, ``boolean`` or ``key`` (a node key);
    ``items``: an array's item kind (``object`` or ``key``); ``choices``: allowed strings; ``maximum``: a number's
    upper bound; ``nullable``: null is allowed."""

    json: str
    help: str
    items: str | None = None
    choices: tuple[str, ...] = ()
    maximum: float | None = None
    nullable: bool = False


@dataclass(frozen=True)
class NodeKind:
    """One node type's descriptor.

    - ``fields``: the definition fields of this type (besides ``key``, ``type``, ``name``, ``depends_on``,
      ``on_failure``); any other field is a 400.
    - ``validate(check, raw, config)``: adds every problem of ``raw`` to ``check.errors`` and fills ``config``
      (what is stored on the node) with the normalised fields.
    - ``branch_targets(config)``: nodes this node names as branches; they implicitly depend on it.
    - ``reads(config)``: ``(field path below the node, node key)`` of each output it reads at run time; each key
      must be an ancestor (so its output exists when this node runs).
    - ``not_taken(config, output)``: once COMPLETED with ``output``, the branch targets it did not take (SKIPPED).
    - ``claim(claimed)``: what the scheduler does when it claims one (pure: it returns a ``Finish``, ``Fail`` or
      ``WaitUntil`` that the scheduler applies). None: the node runs an action on an executor (TASK: approvals
      gate, workspace, attempt).
    - ``example``: a minimal valid node of this type (without ``key`` and ``type``), for the descriptor tests.
    - ``docs``: a ``FieldDoc`` per field in ``fields``: the API schema's node definition is built from them.
    """

    name: str
    fields: frozenset[str]
    validate: Callable[[Check, dict[str, Any], dict[str, Any]], None]
    example: Mapping[str, Any]
    claim: Callable[[Claimed], ClaimOutcome] | None = None
    branch_targets: Callable[[Mapping[str, Any]], list[str]] = no_branches
    reads: Callable[[Mapping[str, Any]], list[tuple[str, str]]] = reads_nothing
    not_taken: Callable[[Mapping[str, Any], Any], set[str]] = takes_every_branch
    docs: Mapping[str, FieldDoc] = field(default_factory=dict)
