"""The pure engine (no database): transition maps, definition validation, decisions, retries, graph resolution."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator import definitions, graph, retries, transitions
from orchestrator.lib import tools as registry
from orchestrator.models import NodeRunStatus, NodeStatus, RunStatus
from orchestrator.nodes import decision

TOOLS = registry.validators()


def validate(body: dict[str, Any]) -> definitions.Definition:
    return definitions.validate_definition(body, tool_validators=TOOLS)


def errors_of(body: Any) -> dict[str, str]:
    with pytest.raises(definitions.DefinitionError) as info:
        definitions.validate_definition(body, tool_validators=TOOLS)
    return {e["field"]: e["message"] for e in info.value.errors}


def noop(key: str, **extra: Any) -> dict[str, Any]:
    return {"key": key, "type": "TASK", "action": {"tool": "noop", "params": {}}, **extra}


# --- Transition tables (the moves the compare-and-set filters are built from) ---------------------------------


@pytest.mark.parametrize(
    ("table", "statuses"),
    [
        (transitions.RUN, RunStatus.values),
        (transitions.NODE, NodeStatus.values),
        (transitions.ATTEMPT, NodeRunStatus.values),
    ],
)
def test_transition_tables_name_only_model_statuses(table, statuses) -> None:
    for move in table.values():
        assert set(move.sources) | {move.target} <= set(statuses)


RUN_ALLOWED = {
    ("PENDING", "RUNNING"),
    ("PENDING", "CANCELLED"),
    ("RUNNING", "COMPLETED"),
    ("RUNNING", "FAILED"),
    ("RUNNING", "CANCELLED"),
    ("FAILED", "RUNNING"),
}


@pytest.mark.parametrize(("current", "target"), list(itertools.product(RunStatus.values, repeat=2)))
def test_every_run_transition_pair(current: str, target: str) -> None:
    assert ((current, target) in transitions.allowed_pairs(transitions.RUN)) == ((current, target) in RUN_ALLOWED)


NODE_ALLOWED = {
    ("PENDING", "READY"),
    ("PENDING", "SKIPPED"),
    ("PENDING", "CANCELLED"),
    ("READY", "RUNNING"),
    ("READY", "WAITING_APPROVAL"),
    ("READY", "WAITING"),
    ("READY", "COMPLETED"),
    ("READY", "FAILED"),
    ("READY", "CANCELLED"),
    ("RUNNING", "COMPLETED"),
    ("RUNNING", "FAILED"),
    ("RUNNING", "READY"),
    ("RUNNING", "CANCELLED"),
    ("WAITING_APPROVAL", "READY"),
    ("WAITING_APPROVAL", "FAILED"),
    ("WAITING_APPROVAL", "SKIPPED"),
    ("WAITING_APPROVAL", "CANCELLED"),
    ("WAITING", "COMPLETED"),
    ("WAITING", "FAILED"),  # an INPUT past its due time without a default
    ("WAITING", "CANCELLED"),
    ("FAILED", "READY"),
    ("SKIPPED", "PENDING"),
    ("CANCELLED", "PENDING"),
}


@pytest.mark.parametrize(("current", "target"), list(itertools.product(NodeStatus.values, repeat=2)))
def test_every_node_transition_pair(current: str, target: str) -> None:
    assert ((current, target) in transitions.allowed_pairs(transitions.NODE)) == ((current, target) in NODE_ALLOWED)


@pytest.mark.parametrize(("current", "target"), list(itertools.product(NodeRunStatus.values, repeat=2)))
def test_every_node_run_transition_pair(current: str, target: str) -> None:
    expected = current == "RUNNING" and target in ("COMPLETED", "FAILED", "CANCELLED")
    assert ((current, target) in transitions.allowed_pairs(transitions.ATTEMPT)) == expected


def test_moves_give_the_compare_and_set_filter() -> None:
    cancel = transitions.RUN[transitions.RunAction.CANCEL]
    assert cancel.where() == {"status__in": ["PENDING", "RUNNING"]} and cancel.target == "CANCELLED"
    assert transitions.NODE[transitions.NodeAction.START_TIMER].where() == {"status": "READY"}
    assert set(NodeStatus.values) == graph.NODE_TERMINAL | graph.NODE_ACTIVE
    with pytest.raises(ValueError):
        _ = cancel.source  # two sources: no single ``status = %s``


# --- Validation -------------------------------------------------------------------------------------------------


def test_valid_definition_is_normalised_with_implied_edges_and_successors() -> None:
    spec = validate(
        {
            "name": " x ",
            "nodes": [
                noop("a"),
                {"key": "p", "type": "PARALLEL", "depends_on": ["a"], "branches": ["b", "c"]},
                noop("b"),
                noop("c"),
                noop("j", depends_on=["b", "c"]),
            ],
        }
    )
    nodes = {n.key: n for n in spec.nodes}
    assert spec.name == "x"
    assert nodes["b"].depends_on == ["p"]
    assert nodes["p"].successors == ["b", "c"]
    assert nodes["a"].config["retry"] == retries.DEFAULT_RETRY
    assert definitions.initial_pending(spec.nodes) == {"a": 0, "p": 1, "b": 1, "c": 1, "j": 2}


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        ([], "non_field_errors", "JSON object"),
        ({"name": "x"}, "nodes", "Required"),
        ({"name": "x", "nodes": []}, "nodes", "at least one"),
        ({"nodes": [noop("a")]}, "name", "Required"),
        ({"name": "x", "nodes": [noop("a")], "colour": "red"}, "colour", "Unknown field"),
        ({"name": "x", "nodes": [noop("a")], "start": "yes"}, "start", "boolean"),
        ({"name": "x", "nodes": [noop("a")], "metadata": []}, "metadata", "object"),
        ({"name": "x", "nodes": [noop("A B")]}, "nodes[0].key", "a-z"),
        ({"name": "x", "nodes": [noop("a"), noop("a")]}, "nodes[1].key", "Duplicate key 'a'"),
        ({"name": "x", "nodes": [noop("a", depends_on=["zz"])]}, "nodes[0].depends_on[0]", "Unknown node key"),
        ({"name": "x", "nodes": [noop("a", depends_on=["a"])]}, "nodes[0].depends_on[0]", "itself"),
        ({"name": "x", "nodes": [noop("a"), noop("b", depends_on=["a", "a"])]}, "nodes[1].depends_on[1]", "twice"),
        ({"name": "x", "nodes": [{"key": "a", "type": "JOB"}]}, "nodes[0].type", "one of"),
        ({"name": "x", "nodes": [noop("a", branches=["a"])]}, "nodes[0].branches", "Unknown field"),
        ({"name": "x", "nodes": [{"key": "a", "type": "TASK"}]}, "nodes[0].action", "Required"),
        (
            {"name": "x", "nodes": [{"key": "a", "type": "TASK", "action": {"tool": "rm"}}]},
            "nodes[0].action.tool",
            "Unknown tool",
        ),
        (
            {"name": "x", "nodes": [{"key": "a", "type": "TASK", "action": {"tool": "sleep", "params": {}}}]},
            "nodes[0].action.params.seconds",
            "Required",
        ),
        (
            {"name": "x", "nodes": [{"key": "a", "type": "TASK", "action": {"tool": "noop", "params": [1]}}]},
            "nodes[0].action.params",
            "object",
        ),
        (
            {"name": "x", "nodes": [{"key": "a", "type": "TASK", "action": {"tool": "noop", "x": 1}}]},
            "nodes[0].action.x",
            "Unknown field",
        ),
        (
            {
                "name": "x",
                "nodes": [{"key": "a", "type": "TASK", "action": {"tool": "echo", "params": {"b": "x" * 70000}}}],
            },
            "nodes[0].action.params",
            "65536 bytes",
        ),
        ({"name": "x", "nodes": [noop("a", retry={"max_attempts": 0})]}, "nodes[0].retry.max_attempts", "between"),
        ({"name": "x", "nodes": [noop("a", retry={"tries": 2})]}, "nodes[0].retry.tries", "Unknown field"),
        ({"name": "x", "nodes": [noop("a", timeout_seconds=-1)]}, "nodes[0].timeout_seconds", "between"),
        ({"name": "x", "nodes": [noop("a", on_failure="ignore")]}, "nodes[0].on_failure", "continue"),
        ({"name": "x", "nodes": [{"key": "w", "type": "WAIT"}]}, "nodes[0].wait", "seconds"),
        ({"name": "x", "nodes": [{"key": "w", "type": "WAIT", "wait": {"seconds": -5}}]}, "nodes[0].wait.seconds", "0"),
        (
            {"name": "x", "nodes": [{"key": "w", "type": "WAIT", "wait": {"until": "tomorrow"}}]},
            "nodes[0].wait.until",
            "ISO 8601",
        ),
        ({"name": "x", "nodes": [{"key": "p", "type": "PARALLEL", "branches": []}]}, "nodes[0].branches", "non-empty"),
        (
            {"name": "x", "nodes": [{"key": "p", "type": "PARALLEL", "branches": ["nope"]}]},
            "nodes[0].branches[0]",
            "Unknown node key",
        ),
        ({"name": "x", "nodes": [{"key": "d", "type": "DECISION"}]}, "nodes[0].conditions", "conditions, a default"),
        (
            {
                "name": "x",
                "nodes": [
                    noop("a"),
                    noop("b"),
                    {
                        "key": "d",
                        "type": "DECISION",
                        "depends_on": ["a"],
                        "conditions": [{"when": {"path": "a.output.n", "op": "between", "value": 1}, "then": "b"}],
                    },
                ],
            },
            "nodes[2].conditions[0].when.op",
            "One of",
        ),
        (
            {
                "name": "x",
                "nodes": [
                    noop("a"),
                    noop("b"),
                    {
                        "key": "d",
                        "type": "DECISION",
                        "depends_on": ["a"],
                        "conditions": [{"when": {"path": "a.n", "op": "eq", "value": 1}, "then": "b"}],
                    },
                ],
            },
            "nodes[2].conditions[0].when.path",
            "<node key>.output",
        ),
        (
            {
                "name": "x",
                "nodes": [
                    noop("a"),
                    noop("b"),
                    {
                        "key": "d",
                        "type": "DECISION",
                        "depends_on": ["a"],
                        "conditions": [{"when": {"path": "a.output.n", "op": "in", "value": 1}, "then": "b"}],
                    },
                ],
            },
            "nodes[2].conditions[0].when.value",
            "list",
        ),
        (
            {
                "name": "x",
                "nodes": [
                    noop("a"),
                    noop("b"),
                    {
                        "key": "d",
                        "type": "DECISION",
                        "conditions": [{"when": {"path": "a.output.n", "op": "eq", "value": 1}, "then": "b"}],
                    },
                ],
            },
            "nodes[2].conditions[0].when.path",
            "not upstream",
        ),
        (
            {
                "name": "x",
                "nodes": [
                    noop("a"),
                    {
                        "key": "d",
                        "type": "DECISION",
                        "depends_on": ["a"],
                        "conditions": [{"when": {"path": "a.output.n", "op": "eq", "value": 1}, "then": "ghost"}],
                    },
                ],
            },
            "nodes[1].conditions[0].then",
            "Unknown node key",
        ),
    ],
)
def test_each_validation_error_names_its_field(body: Any, field: str, fragment: str) -> None:
    found = errors_of(body)
    assert field in found, found
    assert fragment.lower() in found[field].lower(), found[field]


def test_too_many_nodes_is_refused() -> None:
    found = errors_of({"name": "x", "nodes": [noop(f"n{i}") for i in range(definitions.MAX_NODES + 1)]})
    assert "At most 1000 nodes" in found["nodes"]


def test_a_thousand_nodes_are_accepted() -> None:
    assert len(validate({"name": "x", "nodes": [noop(f"n{i}") for i in range(definitions.MAX_NODES)]}).nodes) == 1000


def test_cycle_is_named_in_dependency_order() -> None:
    found = errors_of(
        {"name": "x", "nodes": [noop("a", depends_on=["c"]), noop("b", depends_on=["a"]), noop("c", depends_on=["b"])]}
    )
    message = found["nodes[0].depends_on"]
    assert "cycle" in message
    assert "a → c → b → a" in message


def test_cycle_through_an_implied_branch_edge_is_found() -> None:
    found = errors_of(
        {"name": "x", "nodes": [{"key": "p", "type": "PARALLEL", "branches": ["b"], "depends_on": ["b"]}, noop("b")]}
    )
    assert any("cycle" in message for message in found.values())


def test_all_problems_are_reported_at_once() -> None:
    found = errors_of({"name": "", "nodes": [noop("a", depends_on=["x"]), {"key": "b", "type": "TASK"}]})
    assert {"name", "nodes[0].depends_on[0]", "nodes[1].action"} <= set(found)


@given(st.dictionaries(st.text(max_size=5), st.recursive(st.none() | st.integers() | st.text(), st.lists)))
def test_validation_never_crashes_on_junk(body: dict[str, Any]) -> None:
    try:
        definitions.validate_definition(body, tool_validators=TOOLS)
    except definitions.DefinitionError as exc:
        assert exc.errors


@given(
    st.lists(
        st.one_of(st.none(), st.integers(), st.text(), st.dictionaries(st.text(max_size=8), st.text())), max_size=4
    )
)
def test_validation_never_crashes_on_junk_nodes(nodes: list[Any]) -> None:
    try:
        definitions.validate_definition({"name": "x", "nodes": nodes}, tool_validators=TOOLS)
    except definitions.DefinitionError as exc:
        assert exc.errors


# --- Decisions --------------------------------------------------------------------------------------------------

OUTPUTS = {"fetch": {"count": 3, "items": [{"id": "x"}], "name": "invoice", "tags": ["a", "b"], "zero": 0}}


@pytest.mark.parametrize(
    ("path", "op", "value", "expected"),
    [
        ("fetch.output.count", "eq", 3, True),
        ("fetch.output.count", "ne", 3, False),
        ("fetch.output.count", "gt", 0, True),
        ("fetch.output.count", "gte", 3, True),
        ("fetch.output.count", "lt", 3, False),
        ("fetch.output.count", "lte", 3, True),
        ("fetch.output.count", "gt", "2", False),  # type mismatch is false, not an error
        ("fetch.output.name", "gt", "apple", True),
        ("fetch.output.count", "in", [1, 2, 3], True),
        ("fetch.output.tags", "contains", "b", True),
        ("fetch.output.name", "contains", "voice", True),
        ("fetch.output.count", "contains", 3, False),
        ("fetch.output.items.0.id", "eq", "x", True),
        ("fetch.output.items.5.id", "exists", None, False),
        ("fetch.output.missing", "exists", False, True),
        ("fetch.output.missing", "eq", None, False),
        ("fetch.output.missing", "ne", 1, True),
        ("fetch.output.zero", "truthy", None, False),
        ("fetch.output.zero", "truthy", False, True),
        ("fetch.output.count", "truthy", None, True),
        ("other.output.count", "exists", None, False),
    ],
)
def test_decision_operators(path: str, op: str, value: Any, expected: bool) -> None:
    when: dict[str, Any] = {"path": path, "op": op}
    if value is not None:
        when["value"] = value
    assert decision.evaluate_condition(when, OUTPUTS) is expected


def test_first_matching_condition_wins_then_default_then_error() -> None:
    config = {
        "conditions": [
            {"when": {"path": "fetch.output.count", "op": "gt", "value": 10}, "then": "big"},
            {"when": {"path": "fetch.output.count", "op": "gt", "value": 0}, "then": "some"},
            {"when": {"path": "fetch.output.count", "op": "gt", "value": 1}, "then": "also"},
        ],
        "default": "none",
    }
    assert decision.evaluate_decision(config, OUTPUTS) == decision.DecisionResult("some", 1)
    assert decision.evaluate_decision(config, {"fetch": {"count": 0}}).output() == {
        "branch": "none",
        "matched": "default",
    }
    result = decision.evaluate_decision({**config, "default": None}, {"fetch": {"count": 0}})
    assert result.branch is None
    assert "no default" in result.error


# --- Retries ----------------------------------------------------------------------------------------------------


def test_backoff_is_exponential_capped_with_bounded_jitter() -> None:
    retry = {"max_attempts": 10, "backoff_seconds": 2, "max_backoff_seconds": 20}
    assert [retries.retry_delay(n, retry, lambda: 1.0) for n in range(1, 6)] == [2, 4, 8, 16, 20]
    assert [retries.retry_delay(n, retry, lambda: 0.0) for n in range(1, 4)] == [1, 2, 4]
    assert retries.attempts_left(9, retry) and not retries.attempts_left(10, retry)


# --- Graph resolution -------------------------------------------------------------------------------------------


def state(node_type: str, deps: list[str], status: str, **kw: Any) -> graph.NodeState:
    return graph.NodeState(type=node_type, depends_on=deps, status=status, **kw)


def test_resolve_readies_and_cascades_skips() -> None:
    nodes = {
        "a": state("TASK", [], "COMPLETED"),
        "b": state("TASK", [], "FAILED"),
        "c": state("TASK", ["a"], "PENDING"),
        "d": state("TASK", ["a", "b"], "PENDING"),
        "e": state("TASK", ["d"], "PENDING"),
        "f": state("TASK", ["c"], "PENDING"),
    }
    assert graph.resolve(nodes) == {"c": "READY", "d": "SKIPPED", "e": "SKIPPED"}


def test_resolve_skips_branches_a_decision_did_not_take() -> None:
    config = {"conditions": [{"when": {"path": "a.output.x", "op": "exists"}, "then": "yes"}], "default": "no"}
    nodes = {
        "d": state("DECISION", [], "COMPLETED", config=config, output={"branch": "yes"}),
        "yes": state("TASK", ["d"], "PENDING"),
        "no": state("TASK", ["d"], "PENDING"),
        "after_no": state("TASK", ["no"], "PENDING"),
    }
    assert graph.resolve(nodes) == {"yes": "READY", "no": "SKIPPED", "after_no": "SKIPPED"}


def test_run_outcome_rules() -> None:
    assert graph.run_outcome({"a": "COMPLETED", "b": "SKIPPED"}) == "COMPLETED"
    assert graph.run_outcome({"a": "FAILED", "b": "RUNNING"}) == "FAILED"
    assert graph.run_outcome({"a": "FAILED", "b": "COMPLETED"}, continue_on_failure=["a"]) == "COMPLETED"
    assert graph.run_outcome({"a": "COMPLETED", "b": "READY"}) is None


def test_plan_retry_revives_what_the_failure_cancelled_or_skipped() -> None:
    config = {"conditions": [], "default": "taken"}
    nodes = {
        "a": state("TASK", [], "COMPLETED"),
        "x": state("TASK", ["a"], "FAILED"),
        "after_x": state("TASK", ["x"], "SKIPPED"),
        "other": state("TASK", ["a"], "CANCELLED"),
        "d": state("DECISION", [], "COMPLETED", config={**config, "conditions": []}, output={"branch": "taken"}),
        "taken": state("TASK", ["d"], "COMPLETED"),
    }
    nodes["d"].config = {
        "conditions": [{"when": {"path": "a.output.q", "op": "exists"}, "then": "nt"}],
        "default": "taken",
    }
    nodes["nt"] = state("TASK", ["d"], "SKIPPED")
    assert graph.plan_retry(nodes, "x") == {"x": "READY", "after_x": "PENDING", "other": "READY"}
    with pytest.raises(ValueError):
        graph.plan_retry(nodes, "a")


# --- Property: random DAGs with random outcomes (pure simulation) -----------------------------------------------


@st.composite
def dags(draw: Any) -> dict[str, Any]:
    size = draw(st.integers(min_value=1, max_value=9))
    keys = [f"n{i}" for i in range(size)]
    deps = {k: sorted(draw(st.sets(st.sampled_from(keys[:i]), max_size=3))) if i else [] for i, k in enumerate(keys)}
    fails = {k: draw(st.booleans()) and draw(st.booleans()) for k in keys}
    cont = {k: draw(st.booleans()) for k in keys}
    return {"keys": keys, "deps": deps, "fails": fails, "continue": cont, "order": draw(st.randoms())}


@settings(max_examples=300, deadline=None)
@given(dags())
def test_random_dags_always_settle_in_the_right_state(dag: dict[str, Any]) -> None:
    nodes = {k: graph.NodeState(type="TASK", depends_on=dag["deps"][k], status="PENDING") for k in dag["keys"]}
    tolerated = [k for k in dag["keys"] if dag["continue"][k]]
    finished: list[str] = []
    run_status = "RUNNING"
    for key, status in graph.resolve(nodes).items():
        nodes[key].status = status
    while run_status == "RUNNING":
        ready = [k for k, n in nodes.items() if n.status == "READY"]
        if not ready:
            break
        key = dag["order"].choice(ready)
        assert all(nodes[d].status == "COMPLETED" for d in nodes[key].depends_on)
        nodes[key].status = "FAILED" if dag["fails"][key] else "COMPLETED"
        finished.append(key)
        for k, status in graph.resolve(nodes).items():
            nodes[k].status = status
        outcome = graph.run_outcome({k: n.status for k, n in nodes.items()}, tolerated)
        if outcome == "FAILED":
            run_status = "FAILED"
            for n in nodes.values():
                if n.status in graph.NODE_ACTIVE:
                    n.status = "CANCELLED"
        elif outcome == "COMPLETED":
            run_status = "COMPLETED"
    assert all(n.status in graph.NODE_TERMINAL for n in nodes.values())
    hard_failure = any(dag["fails"][k] and not dag["continue"][k] for k in finished)
    assert run_status == ("FAILED" if hard_failure else "COMPLETED")
