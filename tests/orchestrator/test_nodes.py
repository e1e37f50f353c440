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


def test_input_claims_wait_for_the_due_time_then_expire_or_take_the_default() -> None:
    kind = REGISTRY["INPUT"]
    assert kind.claim is not None
    config = {"form": {}, "prompt": "Ok?", "assignees": {"groups": ["ops"]}, "due_in_minutes": 30}
    waiting = kind.claim(claimed(config))
    assert isinstance(waiting, WaitUntil) and waiting.due == NOW + timedelta(minutes=30)
    assert waiting.announce is not None and waiting.announce.type == "input.requested"
    assert waiting.announce.data["groups"] == ["ops"]
    due = NOW + timedelta(minutes=30)
    expired = kind.claim(claimed(config, status="WAITING", not_before=due))
    assert isinstance(expired, Fail) and expired.error.startswith("input_expired")
    assert expired.announce is not None and expired.announce.data["outcome"] == "failed"
    defaulted = kind.claim(claimed({**config, "default": {"ok": True}}, status="WAITING", not_before=due))
    assert isinstance(defaulted, Finish) and defaulted.output == {"ok": True}
    assert defaulted.announce is not None and defaulted.announce.data["outcome"] == "default"


def test_input_values_are_checked_field_by_field() -> None:
    from orchestrator.nodes.human_input import value_errors

    form = {
        "type": "object",
        "properties": {"n": {"type": "integer", "maximum": 5}, "note": {"type": "string", "minLength": 1}},
        "required": ["n"],
    }
    assert value_errors(form, {"n": 3}) == []
    assert value_errors(form, {"n": 3.5}) == [("values.n", "Enter a whole number.")]
    assert value_errors(form, {"n": 9, "note": ""}) == [("values.n", "At most 5."), ("values.note", "Required.")]
    assert value_errors(form, {"x": 1}) == [
        ("values.n", "Required."),
        ("values.x", "Unknown field; the form has: n, note."),
    ]
