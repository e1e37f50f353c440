"""The workflow engine's rules, in pure Python (no ORM): states, DAG validation, decisions, retries.

Everything here is a function of its arguments, so it is tested exhaustively without a database (and with
Hypothesis on random DAGs). ``orchestrator.runs`` and ``orchestrator.scheduler`` apply these rules to the
database with set-based statements whose compare-and-set filters come from ``orchestrator.transitions``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orchestrator.lib.tools import ActionChecker, ParamsValidator, as_checker
from orchestrator.transitions import ACTIVE, TERMINAL

# --- States (SPEC §3.3; the transitions are the tables in ``orchestrator.transitions``) ------------------------

NODE_TERMINAL = frozenset(TERMINAL)
NODE_ACTIVE = frozenset(ACTIVE)


# --- Definition validation (SPEC §3.1) ----------------------------------------------------------------------

KEY_RE = re.compile(r"^[a-z0-9_-]{1,64}$")
MAX_NODES = 1000
MAX_PARAMS_BYTES = 64 * 1024
MAX_METADATA_BYTES = 64 * 1024
MAX_RETRY_ATTEMPTS = 25
MAX_TIMEOUT_SECONDS = 7 * 24 * 3600
MAX_WAIT_SECONDS = 366 * 24 * 3600
OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "contains", "exists", "truthy")
NODE_TYPES = ("TASK", "DECISION", "PARALLEL", "WAIT")

TOP_LEVEL_FIELDS = frozenset(
    {"name", "description", "workspace_id", "metadata", "start", "nodes", "tenant_id", "executor"}
)
COMMON_NODE_FIELDS = frozenset({"key", "type", "name", "depends_on", "on_failure"})
TYPE_FIELDS: dict[str, frozenset[str]] = {
    "TASK": frozenset({"action", "retry", "timeout_seconds", "requires_approval", "on_reject", "executor"}),
    "DECISION": frozenset({"conditions", "default"}),
    "PARALLEL": frozenset({"branches"}),
    "WAIT": frozenset({"wait"}),
}
RETRY_FIELDS = frozenset({"max_attempts", "backoff_seconds", "max_backoff_seconds"})
DEFAULT_RETRY = {"max_attempts": 1, "backoff_seconds": 1.0, "max_backoff_seconds": 300.0}

# A tool's params validator returns ``[(sub_path, message)]``; sub_path is relative to ``params`` ("" = params).


@dataclass
class NodeSpec:
    """A validated node: ``depends_on`` is the effective dependency list (declared + implied edges)."""

    key: str
    type: str
    name: str
    depends_on: list[str]
    config: dict[str, Any]
    successors: list[str] = field(default_factory=list)

    @property
    def continue_on_failure(self) -> bool:
        return self.config.get("on_failure") == "continue"


@dataclass
class Definition:
    name: str
    description: str
    metadata: dict[str, Any]
    workspace_id: str | None
    start: bool
    nodes: list[NodeSpec]


class DefinitionError(Exception):
    """The definition is invalid; ``errors`` is ``[{"field": path, "message": text}]`` (all problems found)."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]))


class _Errors:
    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, path: str, message: str) -> None:
        self.items.append({"field": path, "message": message})

    def __bool__(self) -> bool:
        return bool(self.items)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _json_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), default=str).encode("utf-8"))


def _unknown_fields(errors: _Errors, path: str, obj: Mapping[str, Any], allowed: Iterable[str], what: str) -> None:
    allowed_set = set(allowed)
    for name in obj:
        if name not in allowed_set:
            prefix = f"{path}." if path else ""
            errors.add(
                f"{prefix}{name}", f"Unknown field {name!r} for {what}; allowed: {', '.join(sorted(allowed_set))}."
            )


def parse_timestamp(value: Any) -> datetime | None:
    """An ISO 8601 timestamp with a timezone (``Z`` accepted), or None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def validate_definition(
    body: Any,
    *,
    tool_validators: Mapping[str, ParamsValidator] | ActionChecker,
) -> Definition:
    """Validate a workflow definition (SPEC §3.1) and return it normalised; raise ``DefinitionError``.

    Every problem found is reported with its field path (``nodes[2].depends_on[0]``), not just the first.
    ``tool_validators`` maps each registered tool name to its params validator, or is an ``ActionChecker`` (the
    executors' action catalogues: which executor runs a TASK, ``"executor"`` on the node or the run, decides which
    actions and params are valid).
    """
    errors = _Errors()
    if not isinstance(body, dict):
        raise DefinitionError([{"field": "non_field_errors", "message": "Expected a JSON object."}])
    _unknown_fields(errors, "", body, TOP_LEVEL_FIELDS, "a workflow")

    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        errors.add("name", "Required: a non-empty string.")
    elif len(name) > 200:
        errors.add("name", "At most 200 characters.")
    description = body.get("description", "")
    if description is None:
        description = ""
    if not isinstance(description, str):
        errors.add("description", "Must be a string.")
    elif len(description) > 10_000:
        errors.add("description", "At most 10000 characters.")
    metadata = body.get("metadata", {})
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        errors.add("metadata", "Must be a JSON object.")
    elif _json_size(metadata) > MAX_METADATA_BYTES:
        errors.add("metadata", f"At most {MAX_METADATA_BYTES} bytes of JSON.")
    workspace_id = body.get("workspace_id")
    if workspace_id is not None and not isinstance(workspace_id, str):
        errors.add("workspace_id", "Must be a string id or null.")
    start = body.get("start", False)
    if not isinstance(start, bool):
        errors.add("start", "Must be a boolean.")

    raw_nodes = body.get("nodes")
    if not isinstance(raw_nodes, list):
        errors.add("nodes", "Required: a list of nodes.")
        raise DefinitionError(errors.items)
    if not raw_nodes:
        errors.add("nodes", "A workflow needs at least one node.")
        raise DefinitionError(errors.items)
    if len(raw_nodes) > MAX_NODES:
        errors.add("nodes", f"At most {MAX_NODES} nodes (got {len(raw_nodes)}).")
        raise DefinitionError(errors.items)

    # Pass 1: keys, so references can be checked against the full set.
    key_index: dict[str, int] = {}
    for i, raw in enumerate(raw_nodes):
        path = f"nodes[{i}]"
        if not isinstance(raw, dict):
            errors.add(path, "Each node must be a JSON object.")
            continue
        key = raw.get("key")
        if not isinstance(key, str) or not KEY_RE.match(key):
            errors.add(f"{path}.key", "Required: 1-64 characters from a-z, 0-9, '_' and '-'.")
            continue
        if key in key_index:
            errors.add(f"{path}.key", f"Duplicate key {key!r} (first used by nodes[{key_index[key]}]).")
            continue
        key_index[key] = i

    specs: list[NodeSpec] = []
    for i, raw in enumerate(raw_nodes):
        if not isinstance(raw, dict):
            continue
        spec = _validate_node(errors, i, raw, key_index, _RunExecutor(as_checker(tool_validators), body))
        if spec is not None:
            specs.append(spec)
    if errors:
        raise DefinitionError(errors.items)

    # Implied edges: PARALLEL branches and DECISION targets run after the node that names them.
    by_key = {spec.key: spec for spec in specs}
    for spec in specs:
        for target in branch_targets(spec.type, spec.config):
            target_spec = by_key[target]
            if spec.key not in target_spec.depends_on:
                target_spec.depends_on.append(spec.key)
    cycle = find_cycle({spec.key: spec.depends_on for spec in specs})
    if cycle:
        first = cycle[0]
        errors.add(
            f"nodes[{key_index[first]}].depends_on",
            "The graph has a cycle: " + " → ".join([*cycle, first]) + ".",
        )
        raise DefinitionError(errors.items)
    # DECISION paths must read the output of a node that is guaranteed to have finished: an ancestor.
    deps = {spec.key: spec.depends_on for spec in specs}
    for spec in specs:
        if spec.type != "DECISION":
            continue
        ancestors = ancestors_of(spec.key, deps)
        for j, condition in enumerate(spec.config["conditions"]):
            source = condition["when"]["path"].split(".", 1)[0]
            if source not in ancestors:
                errors.add(
                    f"nodes[{key_index[spec.key]}].conditions[{j}].when.path",
                    f"{source!r} is not upstream of {spec.key!r}: add it to depends_on so its output exists.",
                )
    if errors:
        raise DefinitionError(errors.items)
    for spec in specs:
        for dep in spec.depends_on:
            by_key[dep].successors.append(spec.key)
    return Definition(
        name=str(name).strip(),
        description=description,
        metadata=metadata,
        workspace_id=workspace_id,
        start=bool(start),
        nodes=specs,
    )


class _RunExecutor:
    """The checker with the run's ``"executor"`` as the default of its nodes."""

    def __init__(self, checker: ActionChecker, body: Mapping[str, Any]) -> None:
        self.checker = checker
        self.executor = body.get("executor")

    def problems(self, tool: Any, params: dict[str, Any], executor: Any) -> list[tuple[str, str]]:
        return self.checker.problems(tool, params, self.executor if executor is None else executor)


def _validate_node(
    errors: _Errors,
    i: int,
    raw: dict[str, Any],
    key_index: Mapping[str, int],
    tool_validators: _RunExecutor,
) -> NodeSpec | None:
    path = f"nodes[{i}]"
    before = len(errors.items)
    key = raw.get("key")
    node_type = raw.get("type")
    if node_type not in NODE_TYPES:
        errors.add(f"{path}.type", f"Required: one of {', '.join(NODE_TYPES)}.")
        return None
    _unknown_fields(errors, path, raw, COMMON_NODE_FIELDS | TYPE_FIELDS[node_type], f"a {node_type} node")

    def ref(value: Any, where: str) -> None:
        if not isinstance(value, str) or value not in key_index:
            errors.add(where, f"Unknown node key {value!r}.")
        elif value == key:
            errors.add(where, "A node cannot refer to itself.")

    name = raw.get("name", "")
    if name is None:
        name = ""
    if not isinstance(name, str) or len(name) > 200:
        errors.add(f"{path}.name", "Must be a string of at most 200 characters.")
    depends_on = raw.get("depends_on", [])
    if depends_on is None:
        depends_on = []
    if not isinstance(depends_on, list):
        errors.add(f"{path}.depends_on", "Must be a list of node keys.")
        depends_on = []
    seen: set[str] = set()
    for j, dep in enumerate(depends_on):
        ref(dep, f"{path}.depends_on[{j}]")
        if isinstance(dep, str) and dep in seen:
            errors.add(f"{path}.depends_on[{j}]", f"{dep!r} is listed twice.")
        seen.add(dep if isinstance(dep, str) else "")
    config: dict[str, Any] = {}
    on_failure = raw.get("on_failure", "fail")
    if on_failure not in ("fail", "continue"):
        errors.add(f"{path}.on_failure", "One of 'fail' (default) or 'continue'.")
    config["on_failure"] = on_failure

    if node_type == "TASK":
        _validate_task(errors, path, raw, config, tool_validators)
    elif node_type == "DECISION":
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
            _unknown_fields(errors, cpath, condition, ("when", "then"), "a condition")
            when = condition.get("when")
            if not isinstance(when, dict):
                errors.add(f"{cpath}.when", 'Required: {"path", "op", "value"}.')
            else:
                _unknown_fields(errors, f"{cpath}.when", when, ("path", "op", "value"), "a condition")
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
            ref(condition.get("then"), f"{cpath}.then")
            clean.append({"when": when, "then": condition.get("then")})
        default = raw.get("default")
        if default is not None:
            ref(default, f"{path}.default")
        if not conditions and default is None:
            errors.add(f"{path}.conditions", "A DECISION needs conditions, a default, or both.")
        config["conditions"] = clean
        config["default"] = default
    elif node_type == "PARALLEL":
        branches = raw.get("branches")
        if not isinstance(branches, list) or not branches:
            errors.add(f"{path}.branches", "Required: a non-empty list of node keys.")
            branches = []
        for j, branch in enumerate(branches):
            ref(branch, f"{path}.branches[{j}]")
        if len({b for b in branches if isinstance(b, str)}) != len(branches):
            errors.add(f"{path}.branches", "Each branch may be listed once.")
        config["branches"] = branches
    elif node_type == "WAIT":
        wait = raw.get("wait")
        if not isinstance(wait, dict) or len(wait) != 1 or not ({"seconds", "until"} & set(wait)):
            errors.add(f"{path}.wait", 'Required: {"seconds": n} or {"until": "<ISO 8601 timestamp>"}.')
        elif "seconds" in wait:
            seconds = wait["seconds"]
            if not _is_number(seconds) or not 0 <= seconds <= MAX_WAIT_SECONDS:
                errors.add(f"{path}.wait.seconds", f"A number of seconds between 0 and {MAX_WAIT_SECONDS}.")
            config["wait"] = {"seconds": seconds}
        else:
            until = parse_timestamp(wait["until"])
            if until is None:
                errors.add(f"{path}.wait.until", "An ISO 8601 timestamp with a timezone, e.g. 2030-01-01T00:00:00Z.")
            else:
                config["wait"] = {"until": until.isoformat()}
    if len(errors.items) != before:
        return None
    return NodeSpec(key=str(key), type=node_type, name=name, depends_on=[str(d) for d in depends_on], config=config)


def _validate_task(
    errors: _Errors,
    path: str,
    raw: dict[str, Any],
    config: dict[str, Any],
    tool_validators: _RunExecutor,
) -> None:
    action = raw.get("action")
    if not isinstance(action, dict):
        errors.add(f"{path}.action", 'Required: {"tool": "<name>", "params": {…}}.')
    else:
        _unknown_fields(errors, f"{path}.action", action, ("tool", "params"), "an action")
        tool = action.get("tool")
        params = action.get("params", {})
        if params is None:
            params = {}
        executor = raw.get("executor")
        if not isinstance(params, dict):
            params_ok = False
            errors.add(f"{path}.action.params", "Must be a JSON object.")
        elif _json_size(params) > MAX_PARAMS_BYTES:
            params_ok = False
            errors.add(f"{path}.action.params", f"At most {MAX_PARAMS_BYTES} bytes of JSON.")
        else:
            params_ok = True
        # The catalogue of the executor that will run the action judges the tool and (when sane) its params.
        for where, message in tool_validators.problems(tool, params if params_ok else {}, executor):
            if where == "executor":
                errors.add(f"{path}.executor" if executor is not None else "executor", message)
            elif where == "tool":
                errors.add(f"{path}.action.tool", message)
            elif params_ok:
                errors.add(f"{path}.action.{where}", message)
        chosen = executor if executor is not None else tool_validators.executor
        if chosen is not None:
            config["executor"] = chosen
        config["action"] = {"tool": tool, "params": params}
    retry = raw.get("retry")
    merged = dict(DEFAULT_RETRY)
    if retry is not None:
        if not isinstance(retry, dict):
            errors.add(f"{path}.retry", 'Must be {"max_attempts", "backoff_seconds", "max_backoff_seconds"}.')
        else:
            _unknown_fields(errors, f"{path}.retry", retry, RETRY_FIELDS, "retry")
            attempts = retry.get("max_attempts", 1)
            if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= MAX_RETRY_ATTEMPTS:
                errors.add(f"{path}.retry.max_attempts", f"An integer between 1 and {MAX_RETRY_ATTEMPTS}.")
            for name, upper in (("backoff_seconds", 3600), ("max_backoff_seconds", 86400)):
                value = retry.get(name, DEFAULT_RETRY[name])
                if not _is_number(value) or not 0 <= value <= upper:
                    errors.add(f"{path}.retry.{name}", f"A number of seconds between 0 and {upper}.")
            merged.update({k: v for k, v in retry.items() if k in RETRY_FIELDS})
    config["retry"] = merged
    timeout = raw.get("timeout_seconds")
    if timeout is not None and (not _is_number(timeout) or not 0 < timeout <= MAX_TIMEOUT_SECONDS):
        errors.add(f"{path}.timeout_seconds", f"A number of seconds between 0 (exclusive) and {MAX_TIMEOUT_SECONDS}.")
    config["timeout_seconds"] = timeout
    requires_approval = raw.get("requires_approval", False)
    if not isinstance(requires_approval, bool):
        errors.add(f"{path}.requires_approval", "Must be a boolean.")
    config["requires_approval"] = requires_approval
    on_reject = raw.get("on_reject", "fail")
    if on_reject not in ("fail", "skip"):
        errors.add(f"{path}.on_reject", "One of 'fail' (default) or 'skip'.")
    config["on_reject"] = on_reject


def _valid_path(path: str, keys: Mapping[str, int]) -> bool:
    parts = path.split(".")
    return len(parts) >= 2 and parts[0] in keys and parts[1] == "output" and all(parts)


def branch_targets(node_type: str, config: Mapping[str, Any]) -> list[str]:
    """Nodes this node names as branches: PARALLEL ``branches``, DECISION ``then`` targets and ``default``."""
    if node_type == "PARALLEL":
        return list(config.get("branches", []))
    if node_type == "DECISION":
        targets = [c["then"] for c in config.get("conditions", [])]
        if config.get("default"):
            targets.append(config["default"])
        return list(dict.fromkeys(targets))
    return []


def find_cycle(deps: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A cycle as a list of keys in dependency order (``[a, b]`` means a → b → a), or None when acyclic."""
    white, grey, black = 0, 1, 2
    color = dict.fromkeys(deps, white)
    for root in deps:
        if color[root] != white:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        trail: list[str] = [root]
        color[root] = grey
        while stack:
            node, index = stack[-1]
            children = deps.get(node, ())
            if index < len(children):
                stack[-1] = (node, index + 1)
                child = children[index]
                if color.get(child) == grey:
                    # The trail from ``child`` to ``node`` is the cycle (each depends on the next).
                    return trail[trail.index(child) :]
                if color.get(child) == white:
                    color[child] = grey
                    stack.append((child, 0))
                    trail.append(child)
            else:
                color[node] = black
                stack.pop()
                trail.pop()
    return None


def ancestors_of(key: str, deps: Mapping[str, Sequence[str]]) -> set[str]:
    seen: set[str] = set()
    frontier = list(deps.get(key, ()))
    while frontier:
        current = frontier.pop()
        if current not in seen:
            seen.add(current)
            frontier.extend(deps.get(current, ()))
    return seen


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
    comparable = (_is_number(actual) and _is_number(expected)) or (
        isinstance(actual, str) and isinstance(expected, str)
    )
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


def decision_sources(config: Mapping[str, Any]) -> list[str]:
    """Keys whose outputs a DECISION reads."""
    return sorted({c["when"]["path"].split(".", 1)[0] for c in config.get("conditions", [])})


# --- Retries (SPEC §3.5) ------------------------------------------------------------------------------------


def retry_delay(attempt: int, retry: Mapping[str, Any], rand: Callable[[], float]) -> float:
    """Seconds to wait before attempt ``attempt + 1``: exponential backoff capped at ``max_backoff_seconds``,
    with "equal jitter" (half fixed, half random) so retries of many nodes spread out but never fire early."""
    base = float(retry.get("backoff_seconds", DEFAULT_RETRY["backoff_seconds"]))
    cap = float(retry.get("max_backoff_seconds", DEFAULT_RETRY["max_backoff_seconds"]))
    delay = min(cap, base * (2 ** max(0, attempt - 1)))
    return delay / 2 + rand() * delay / 2


def attempts_left(attempts_in_series: int, retry: Mapping[str, Any]) -> bool:
    return attempts_in_series < int(retry.get("max_attempts", 1))


# --- Graph state (SPEC §3.3) --------------------------------------------------------------------------------


@dataclass
class NodeState:
    """What the resolver needs to know about one node."""

    type: str
    depends_on: list[str]
    status: str
    config: dict[str, Any] = field(default_factory=dict)
    output: Any = None


def _not_taken(nodes: Mapping[str, NodeState]) -> set[str]:
    """Targets of COMPLETED decisions that the decision did not choose."""
    out: set[str] = set()
    for state in nodes.values():
        if state.type == "DECISION" and state.status == "COMPLETED":
            chosen = (state.output or {}).get("branch")
            out.update(t for t in branch_targets("DECISION", state.config) if t != chosen)
    return out


def resolve(nodes: Mapping[str, NodeState]) -> dict[str, str]:
    """New statuses for PENDING nodes given everyone's state: READY when every dependency COMPLETED, SKIPPED
    when a dependency ended otherwise (FAILED, SKIPPED, CANCELLED) or a decision did not take this branch.
    Skipping cascades (the result is a fixpoint)."""
    status = {key: state.status for key, state in nodes.items()}
    not_taken = _not_taken(nodes)
    changed: dict[str, str] = {}
    progress = True
    while progress:
        progress = False
        for key, state in nodes.items():
            if status[key] != "PENDING":
                continue
            dep_status = [status[d] for d in state.depends_on]
            if key in not_taken or any(s in NODE_TERMINAL and s != "COMPLETED" for s in dep_status):
                status[key] = changed[key] = "SKIPPED"
                progress = True
            elif all(s == "COMPLETED" for s in dep_status):
                status[key] = changed[key] = "READY"
                progress = True
    return changed


def run_outcome(statuses: Mapping[str, str], continue_on_failure: Iterable[str] = ()) -> str | None:
    """COMPLETED when every node is terminal and none FAILED for good; FAILED as soon as one did; else None."""
    tolerated = set(continue_on_failure)
    if any(status == "FAILED" and key not in tolerated for key, status in statuses.items()):
        return "FAILED"
    if all(status in NODE_TERMINAL for status in statuses.values()):
        return "COMPLETED"
    return None


def initial_pending(specs: Sequence[NodeSpec]) -> dict[str, int]:
    return {spec.key: len(spec.depends_on) for spec in specs}


def plan_retry(nodes: Mapping[str, NodeState], key: str) -> dict[str, str]:
    """Statuses after a manual retry of the FAILED node ``key``: it becomes READY; nodes CANCELLED by the run's
    failure and nodes SKIPPED because of it return to PENDING and are re-resolved (a branch a decision did not
    take stays SKIPPED). Returns only the nodes whose status changes."""
    if nodes[key].status != "FAILED":
        raise ValueError(f"{key} is not FAILED")
    not_taken = _not_taken(nodes)
    trial = {k: NodeState(s.type, s.depends_on, s.status, s.config, s.output) for k, s in nodes.items()}
    trial[key].status = "READY"
    for k, state in trial.items():
        if state.status == "CANCELLED" or (state.status == "SKIPPED" and k not in not_taken):
            state.status = "PENDING"
    changed = resolve(trial)
    final = {k: changed.get(k, s.status) for k, s in trial.items()}
    return {k: status for k, status in final.items() if status != nodes[k].status}
