"""The run graph's rules, in pure Python (no ORM): cycles, ancestors, resolving PENDING nodes, a run's outcome,
and the plan of a manual retry (SPEC §3.3).

Everything here is a function of its arguments, so it is tested exhaustively without a database (and with
Hypothesis on random DAGs); ``orchestrator.progress`` applies the same rules with set-based statements.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestrator import nodes as node_types
from orchestrator.transitions import ACTIVE, TERMINAL

NODE_TERMINAL = frozenset(TERMINAL)
NODE_ACTIVE = frozenset(ACTIVE)


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
    """Targets of COMPLETED nodes (decisions) that the node did not choose."""
    out: set[str] = set()
    for state in nodes.values():
        if state.status == "COMPLETED":
            out |= node_types.not_taken(state.type, state.config, state.output)
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
