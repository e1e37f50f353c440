"""The node types: one descriptor module each (``orchestrator/nodes/<type>.py``), registered here.

To add a type, copy ``wait.py``, give it its fields, validation and behaviour, and add its ``KIND`` to
``REGISTRY`` below (the only line outside its module). Everything else (definition validation, the graph
resolver, the scheduler) asks the registry, never compares a type name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import decision, human_input, parallel, task, wait
from .base import NodeKind

REGISTRY: dict[str, NodeKind] = {
    kind.name: kind for kind in (task.KIND, decision.KIND, parallel.KIND, wait.KIND, human_input.KIND)
}
NODE_TYPES = tuple(REGISTRY)


def kind_of(node_type: str) -> NodeKind:
    """The descriptor of ``node_type``; ``KeyError`` for a type nobody registered."""
    return REGISTRY[node_type]


def branch_targets(node_type: str, config: Mapping[str, Any]) -> list[str]:
    """Nodes this node names as branches (PARALLEL ``branches``, DECISION targets); they run after it."""
    return REGISTRY[node_type].branch_targets(config)


def not_taken(node_type: str, config: Mapping[str, Any], output: Any) -> set[str]:
    """The branch targets a COMPLETED node with ``output`` did not take (they are SKIPPED)."""
    return REGISTRY[node_type].not_taken(config, output)
