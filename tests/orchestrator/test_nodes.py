"""The node-type descriptors (``orchestrator/nodes/``): every registered type is complete, and the pure claims."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from orchestrator import definitions
from orchestrator.lib import tools as registry
from orchestrator.nodes import REGISTRY
from orchestrator.nodes.base import Claimed, Fail, Finish, WaitUntil

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def claimed(config: dict[str, Any], **extra: Any) -> Claimed:
    return Claimed(**{"status": "READY", "config": config, "not_before": None, "outputs": {}, "now": NOW, **extra})


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_registered_type_has_a_complete_descriptor(name: str) -> None:
    kind = REGISTRY[name]
    module = sys.modules[kind.validate.__module__]
    assert kind.name == name
    assert module.__doc__, "the type's module says what the type does"
    assert module.KIND is kind, "one descriptor per module, named KIND"
    assert kind.fields, "a type has fields of its own"
    assert not kind.fields & definitions.COMMON_NODE_FIELDS
    assert set(kind.example) <= kind.fields
    assert set(kind.docs) == kind.fields, "every field of the type is documented (the API schema is built from it)"
    for hook in (kind.validate, kind.branch_targets, kind.reads, kind.not_taken):
        assert callable(hook)
    # Its example is valid in a definition (it may name the node "a" as a branch).
    body = {
        "name": "descriptor",
        "nodes": [
            {"key": "a", "type": "TASK", "action": {"tool": "noop", "params": {}}},
            {"key": "n", "type": name, **kind.example},
        ],
    }
    spec = {s.key: s for s in definitions.validate_definition(body, tool_validators=registry.validators()).nodes}["n"]
    assert set(kind.branch_targets(spec.config)) <= {"a"}
    if kind.claim is None:
        assert "action" in spec.config, "a type without a claim runs an action on an executor"
    else:
        assert isinstance(kind.claim(claimed(spec.config)), Finish | Fail | WaitUntil)


def test_wait_claims_start_a_timer_then_finish() -> None:
    wait = REGISTRY["WAIT"]
    assert wait.claim is not None
    assert wait.claim(claimed({"wait": {"seconds": 60}})) == WaitUntil(NOW + timedelta(seconds=60))
    assert wait.claim(claimed({"wait": {"seconds": 0}})) == Finish({"waited_until": NOW.isoformat()})
    due = NOW + timedelta(seconds=60)
    assert wait.claim(claimed({"wait": {"seconds": 60}}, status="WAITING", not_before=due)) == Finish(
        {"waited_until": due.isoformat()}
    )
    past = "2020-01-01T00:00:00+00:00"
    assert wait.claim(claimed({"wait": {"until": past}})) == Finish({"waited_until": past})


def test_decision_claims_read_the_outputs_it_names() -> None:
    decision = REGISTRY["DECISION"]
    assert decision.claim is not None
    config = {"conditions": [{"when": {"path": "fetch.output.n", "op": "gt", "value": 1}, "then": "big"}]}
    assert decision.reads(config) == [("conditions[0].when.path", "fetch")]
    assert decision.claim(claimed(config, outputs={"fetch": {"n": 2}})) == Finish({"branch": "big", "matched": 0})
    outcome = decision.claim(claimed(config, outputs={"fetch": {"n": 0}}))
    assert isinstance(outcome, Fail) and "No condition matched" in outcome.error
    assert decision.not_taken({**config, "default": "small"}, {"branch": "big"}) == {"small"}


def test_parallel_claims_finish_with_their_branches() -> None:
    parallel = REGISTRY["PARALLEL"]
    assert parallel.claim is not None
    assert parallel.claim(claimed({"branches": ["a", "b"]})) == Finish({"branches": ["a", "b"]})
    assert parallel.not_taken({"branches": ["a", "b"]}, {"branches": ["a", "b"]}) == set()
