"""Server-side drawing of a run's DAG as accessible SVG (console run page).

Pure function of the nodes (key, type, status, dependencies): longest-path layering from the roots, one
barycentre pass to reduce crossings, boxes coloured by status *and* labelled with it (colour is never the only
signal), edges as curves with arrowheads. No JavaScript and no library needed to view it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

NODE_WIDTH = 168
NODE_HEIGHT = 52
LAYER_GAP = 64
ROW_GAP = 20
MARGIN = 16

# Fill, stroke and text colours per status; contrast ≥ 4.5:1 for the text on its fill.
STATUS_COLOURS: dict[str, tuple[str, str, str]] = {
    "PENDING": ("#f1f3f5", "#868e96", "#212529"),
    "READY": ("#e7f5ff", "#1c7ed6", "#0b3d66"),
    "RUNNING": ("#d0ebff", "#1864ab", "#0b3d66"),
    "WAITING_APPROVAL": ("#fff3bf", "#e67700", "#5c3c00"),
    "WAITING": ("#f3f0ff", "#7048e8", "#36206e"),
    "COMPLETED": ("#d3f9d8", "#2b8a3e", "#14401d"),
    "FAILED": ("#ffe3e3", "#c92a2a", "#6b1111"),
    "SKIPPED": ("#f8f9fa", "#adb5bd", "#495057"),
    "CANCELLED": ("#e9ecef", "#495057", "#212529"),
}


@dataclass(frozen=True)
class DagNode:
    key: str
    type: str
    status: str
    depends_on: Sequence[str] = ()
    name: str = ""


def layer_nodes(nodes: Sequence[DagNode]) -> list[list[DagNode]]:
    """Group nodes into layers by longest path from a root; unknown dependencies are ignored."""
    by_key = {node.key: node for node in nodes}
    depth: dict[str, int] = {}

    def visit(key: str, trail: frozenset[str]) -> int:
        if key in depth:
            return depth[key]
        parents = [p for p in by_key[key].depends_on if p in by_key and p not in trail]
        value = 0 if not parents else 1 + max(visit(p, trail | {key}) for p in parents)
        depth[key] = value
        return value

    for node in nodes:
        visit(node.key, frozenset())
    layers: list[list[DagNode]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for node in nodes:
        layers[depth[node.key]].append(node)
    # One barycentre pass: order each layer by the mean position of its parents in the layer above.
    for index in range(1, len(layers)):
        above = {node.key: pos for pos, node in enumerate(layers[index - 1])}

        def barycentre(node: DagNode, above: dict[str, int] = above) -> float:
            positions = [above[p] for p in node.depends_on if p in above]
            return sum(positions) / len(positions) if positions else float(len(above))

        layers[index].sort(key=barycentre)
    return layers


def render_dag_svg(nodes: Sequence[DagNode], *, link_prefix: str = "#node-", highlight: str | None = None) -> str:
    """Return an ``<svg>`` element drawing ``nodes`` top to bottom; each box links to ``link_prefix + key``.

    ``highlight`` names one node to outline (the node an approval is about), marked ``aria-current``.
    """
    if not nodes:
        return '<svg role="img" aria-label="Empty workflow" width="0" height="0"></svg>'
    layers = layer_nodes(nodes)
    widest = max(len(layer) for layer in layers)
    width = 2 * MARGIN + widest * NODE_WIDTH + (widest - 1) * ROW_GAP
    height = 2 * MARGIN + len(layers) * NODE_HEIGHT + (len(layers) - 1) * LAYER_GAP
    position: dict[str, tuple[float, float]] = {}
    for layer_index, layer in enumerate(layers):
        layer_width = len(layer) * NODE_WIDTH + (len(layer) - 1) * ROW_GAP
        x0 = (width - layer_width) / 2
        top = float(MARGIN + layer_index * (NODE_HEIGHT + LAYER_GAP))
        for row, node in enumerate(layer):
            position[node.key] = (x0 + row * (NODE_WIDTH + ROW_GAP), top)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="dag" role="group" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" aria-labelledby="dag-title">',
        f'<title id="dag-title">Workflow graph with {len(nodes)} nodes</title>',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#495057"/></marker></defs>',
    ]
    for node in nodes:
        for parent in node.depends_on:
            if parent not in position:
                continue
            px, py = position[parent]
            cx, cy = position[node.key]
            x1, y1 = px + NODE_WIDTH / 2, py + NODE_HEIGHT
            x2, y2 = cx + NODE_WIDTH / 2, cy
            mid = (y1 + y2) / 2
            parts.append(
                f'<path class="edge" d="M {x1:.1f} {y1:.1f} C {x1:.1f} {mid:.1f}, {x2:.1f} {mid:.1f}, {x2:.1f} '
                f'{y2 - 2:.1f}" fill="none" stroke="#495057" stroke-width="1.5" marker-end="url(#arrow)"/>'
            )
    for node in nodes:
        x, y = position[node.key]
        fill, stroke, text = STATUS_COLOURS.get(node.status, STATUS_COLOURS["PENDING"])
        label = escape(node.key if len(node.key) <= 20 else node.key[:19] + "…")
        status = escape(node.status.replace("_", " ").lower())
        title = escape(f"{node.key} ({node.type}): {node.status}" + (f" — {node.name}" if node.name else ""))
        current = node.key == highlight
        css, aria, halo = "dag-node", "", ""
        if current:
            title += " (this approval)"
            css, aria = "dag-node current", ' aria-current="true"'
            halo = (
                f'<rect x="{x - 5:.1f}" y="{y - 5:.1f}" width="{NODE_WIDTH + 10}" height="{NODE_HEIGHT + 10}" '
                'rx="11" fill="none" stroke="#1f2328" stroke-width="2" stroke-dasharray="5 3"/>'
            )
        parts.append(
            f'<a href="{escape(link_prefix + node.key)}" class="{css}" data-key="{escape(node.key)}" '
            f'data-status="{escape(node.status)}"{aria}><title>{title}</title>{halo}'
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{NODE_WIDTH}" height="{NODE_HEIGHT}" rx="8" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="2"/>'
            f'<text x="{x + NODE_WIDTH / 2:.1f}" y="{y + 21:.1f}" text-anchor="middle" font-size="14" '
            f'font-weight="600" fill="{text}">{label}</text>'
            f'<text x="{x + NODE_WIDTH / 2:.1f}" y="{y + 39:.1f}" text-anchor="middle" font-size="12" '
            f'fill="{text}">{escape(node.type.lower())} · {status}</text></a>'
        )
    parts.append("</svg>")
    return "".join(parts)
