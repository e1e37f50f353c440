"""Workflow definition validation (SPEC §3.1), in pure Python (no ORM).

The common node fields (``key``, ``type``, ``name``, ``depends_on``, ``on_failure``) and the graph (references,
implied edges, cycles, what each node reads being upstream) are checked here; each type's own fields by its
descriptor in ``orchestrator/nodes/``. Every problem is reported with its field path, not just the first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestrator import nodes as node_types
from orchestrator.graph import ancestors_of, find_cycle
from orchestrator.lib.tools import ActionChecker, ParamsValidator, as_checker
from orchestrator.nodes.base import Check, Errors, RunChecker, json_size, unknown_fields

KEY_RE = re.compile(r"^[a-z0-9_-]{1,64}$")
MAX_NODES = 1000
MAX_METADATA_BYTES = 64 * 1024
TOP_LEVEL_FIELDS = frozenset(
    {"name", "description", "workspace_id", "metadata", "start", "nodes", "tenant_id", "executor"}
)
COMMON_NODE_FIELDS = frozenset({"key", "type", "name", "depends_on", "on_failure"})

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
    errors = Errors()
    if not isinstance(body, dict):
        raise DefinitionError([{"field": "non_field_errors", "message": "Expected a JSON object."}])
    unknown_fields(errors, "", body, TOP_LEVEL_FIELDS, "a workflow")

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
    elif json_size(metadata) > MAX_METADATA_BYTES:
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
        spec = _validate_node(errors, i, raw, key_index, RunChecker(as_checker(tool_validators), body.get("executor")))
        if spec is not None:
            specs.append(spec)
    if errors:
        raise DefinitionError(errors.items)

    # Implied edges: PARALLEL branches and DECISION targets run after the node that names them.
    by_key = {spec.key: spec for spec in specs}
    for spec in specs:
        for target in node_types.branch_targets(spec.type, spec.config):
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
    # A node that reads outputs (a DECISION's paths) must read nodes guaranteed to have finished: ancestors.
    deps = {spec.key: spec.depends_on for spec in specs}
    for spec in specs:
        reads = node_types.kind_of(spec.type).reads(spec.config)
        if not reads:
            continue
        ancestors = ancestors_of(spec.key, deps)
        for where, source in reads:
            if source not in ancestors:
                errors.add(
                    f"nodes[{key_index[spec.key]}].{where}",
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


def _validate_node(
    errors: Errors,
    i: int,
    raw: dict[str, Any],
    key_index: Mapping[str, int],
    tool_validators: RunChecker,
) -> NodeSpec | None:
    """The common fields here, the type's own fields by its descriptor; None when the node has a problem."""
    path = f"nodes[{i}]"
    before = len(errors.items)
    key = raw.get("key")
    node_type = raw.get("type")
    if not isinstance(node_type, str) or node_type not in node_types.REGISTRY:
        errors.add(f"{path}.type", f"Required: one of {', '.join(node_types.NODE_TYPES)}.")
        return None
    kind = node_types.kind_of(node_type)
    unknown_fields(errors, path, raw, COMMON_NODE_FIELDS | kind.fields, f"a {node_type} node")
    check = Check(errors=errors, path=path, key=key, key_index=key_index, tool_validators=tool_validators)

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
        check.ref(dep, f"{path}.depends_on[{j}]")
        if isinstance(dep, str) and dep in seen:
            errors.add(f"{path}.depends_on[{j}]", f"{dep!r} is listed twice.")
        seen.add(dep if isinstance(dep, str) else "")
    config: dict[str, Any] = {}
    on_failure = raw.get("on_failure", "fail")
    if on_failure not in ("fail", "continue"):
        errors.add(f"{path}.on_failure", "One of 'fail' (default) or 'continue'.")
    config["on_failure"] = on_failure
    kind.validate(check, raw, config)
    if len(errors.items) != before:
        return None
    return NodeSpec(key=str(key), type=node_type, name=name, depends_on=[str(d) for d in depends_on], config=config)


def initial_pending(specs: Sequence[NodeSpec]) -> dict[str, int]:
    """Each node's starting ``pending_dependencies``: how many nodes it waits for."""
    return {spec.key: len(spec.depends_on) for spec in specs}
