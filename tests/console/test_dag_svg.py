"""The DAG drawing: layers follow dependencies, every node is drawn once with its status, input is escaped."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from orchestrator.dag_svg import DagNode, layer_nodes, render_dag_svg


def test_layers_follow_longest_path() -> None:
    nodes = [
        DagNode("a", "TASK", "COMPLETED"),
        DagNode("b", "TASK", "RUNNING", ["a"]),
        DagNode("c", "TASK", "PENDING", ["a", "b"]),
    ]
    assert [[n.key for n in layer] for layer in layer_nodes(nodes)] == [["a"], ["b"], ["c"]]


def test_svg_draws_each_node_with_status_and_is_valid_xml() -> None:
    nodes = [
        DagNode("fetch", "TASK", "COMPLETED"),
        DagNode("check", "DECISION", "COMPLETED", ["fetch"]),
        DagNode("send", "TASK", "WAITING_APPROVAL", ["check"]),
        DagNode("skip", "TASK", "SKIPPED", ["check"]),
    ]
    svg = render_dag_svg(nodes)
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    assert sorted(re.findall(r'data-key="([^"]+)"', svg)) == ["check", "fetch", "send", "skip"]
    assert 'data-status="WAITING_APPROVAL"' in svg and "waiting approval" in svg
    assert svg.count('class="edge"') == 3


def test_untrusted_names_are_escaped() -> None:
    svg = render_dag_svg([DagNode("x", "TASK", "PENDING", name='<script>alert("x")</script>')])
    assert "<script>" not in svg
    ET.fromstring(svg)


@given(st.lists(st.integers(min_value=0, max_value=20), min_size=1, max_size=25))
def test_any_dag_renders_every_node_once(parents: list[int]) -> None:
    nodes = [DagNode(f"n{i}", "TASK", "PENDING", [f"n{p % i}"] if i else []) for i, p in enumerate(parents)]
    svg = render_dag_svg(nodes)
    ET.fromstring(svg)
    assert len(re.findall(r'class="dag-node"', svg)) == len(nodes)
