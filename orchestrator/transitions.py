"""The run, node and attempt state machines as literal tables (SPEC §3.3), and the compare-and-set filters built
from them.

Every status change of the engine is a conditional ``UPDATE … WHERE status IN move.sources`` that sets
``move.target`` and treats zero rows as "someone else won"; the move comes from these tables and nowhere else, so a
transition cannot change in code without changing here. (The one exception is a manual retry, which re-plans a
FAILED run's nodes under the run's row lock with ``graph.plan_retry``.) Pure data on the models' statuses, on the
ground floor so that approvals (which park a node for its approval) use the same table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from orchestrator.models import NodeRunStatus as A
from orchestrator.models import NodeStatus as N
from orchestrator.models import RunStatus as R


@dataclass(frozen=True)
class Move:
    """From any of ``sources`` to ``target``."""

    sources: tuple[str, ...]
    target: str

    @property
    def source(self) -> str:
        """The single source of a move written as ``status = %s`` in hand-written SQL."""
        if len(self.sources) != 1:
            raise ValueError(f"the move to {self.target} has {len(self.sources)} sources")
        return self.sources[0]

    def where(self) -> dict[str, Any]:
        """The ORM filter of the compare-and-set."""
        return {"status": self.sources[0]} if len(self.sources) == 1 else {"status__in": list(self.sources)}


class RunAction(StrEnum):
    START = "start"
    COMPLETE = "complete"
    FAIL = "fail"
    CANCEL = "cancel"
    RETRY = "retry"  # a FAILED run goes back to RUNNING when one of its FAILED nodes is retried (SPEC §3.4)


class NodeAction(StrEnum):
    UNBLOCK = "unblock"  # its dependencies completed (or the run started and it has none)
    DISPATCH = "dispatch"  # a TASK claimed: its attempt is created
    HOLD_FOR_APPROVAL = "hold_for_approval"  # the approvals gate parks a TASK on its request
    APPROVE = "approve"  # its request was approved: dispatchable again
    REJECT_AND_SKIP = "reject_and_skip"  # rejected, and the node says ``"on_reject": "skip"``
    FAIL_APPROVAL = "fail_approval"  # rejected or expired
    START_TIMER = "start_timer"  # a WAIT not yet due
    FINISH_CONTROL = "finish_control"  # a DECISION, PARALLEL or due WAIT completes without an attempt
    # Failed when claimed: a DECISION without a branch, a workspace that failed, an INPUT past its due time.
    FAIL_CLAIM = "fail_claim"
    SUBMIT_INPUT = "submit_input"  # a person submitted the values an INPUT waits for
    COMPLETE = "complete"  # its attempt completed
    BACK_OFF = "back_off"  # its attempt failed with attempts left: READY again after the backoff
    FAIL_ATTEMPT = "fail_attempt"  # its attempt failed for good
    SKIP = "skip"  # a dependency did not complete, or a DECISION did not take its branch
    CANCEL = "cancel"  # the run was cancelled or failed
    RETRY = "retry"  # manual retry of a FAILED node
    REPLAN = "replan"  # nodes cancelled or skipped by that failure are resolved again


class AttemptAction(StrEnum):
    COMPLETE = "complete"
    FAIL = "fail"
    CANCEL = "cancel"


ACTIVE: tuple[str, ...] = (N.PENDING, N.READY, N.RUNNING, N.WAITING_APPROVAL, N.WAITING)
TERMINAL: tuple[str, ...] = (N.COMPLETED, N.FAILED, N.SKIPPED, N.CANCELLED)

RUN: dict[RunAction, Move] = {
    RunAction.START: Move((R.PENDING,), R.RUNNING),
    RunAction.COMPLETE: Move((R.RUNNING,), R.COMPLETED),
    RunAction.FAIL: Move((R.RUNNING,), R.FAILED),
    RunAction.CANCEL: Move((R.PENDING, R.RUNNING), R.CANCELLED),
    RunAction.RETRY: Move((R.FAILED,), R.RUNNING),
}

NODE: dict[NodeAction, Move] = {
    NodeAction.UNBLOCK: Move((N.PENDING,), N.READY),
    NodeAction.DISPATCH: Move((N.READY,), N.RUNNING),
    NodeAction.HOLD_FOR_APPROVAL: Move((N.READY, N.WAITING_APPROVAL), N.WAITING_APPROVAL),
    NodeAction.APPROVE: Move((N.WAITING_APPROVAL,), N.READY),
    NodeAction.REJECT_AND_SKIP: Move((N.WAITING_APPROVAL,), N.SKIPPED),
    NodeAction.FAIL_APPROVAL: Move((N.WAITING_APPROVAL,), N.FAILED),
    NodeAction.START_TIMER: Move((N.READY,), N.WAITING),
    NodeAction.FINISH_CONTROL: Move((N.READY, N.WAITING), N.COMPLETED),
    NodeAction.FAIL_CLAIM: Move((N.READY, N.WAITING), N.FAILED),
    NodeAction.SUBMIT_INPUT: Move((N.WAITING,), N.COMPLETED),
    NodeAction.COMPLETE: Move((N.RUNNING,), N.COMPLETED),
    NodeAction.BACK_OFF: Move((N.RUNNING,), N.READY),
    NodeAction.FAIL_ATTEMPT: Move((N.RUNNING,), N.FAILED),
    NodeAction.SKIP: Move((N.PENDING,), N.SKIPPED),
    NodeAction.CANCEL: Move(ACTIVE, N.CANCELLED),
    NodeAction.RETRY: Move((N.FAILED,), N.READY),
    NodeAction.REPLAN: Move((N.SKIPPED, N.CANCELLED), N.PENDING),
}

ATTEMPT: dict[AttemptAction, Move] = {
    AttemptAction.COMPLETE: Move((A.RUNNING,), A.COMPLETED),
    AttemptAction.FAIL: Move((A.RUNNING,), A.FAILED),
    AttemptAction.CANCEL: Move((A.RUNNING,), A.CANCELLED),
}


def allowed_pairs(table: Mapping[Any, Move]) -> set[tuple[str, str]]:
    """Every ``(from, to)`` status pair some action of ``table`` performs."""
    return {(source, move.target) for move in table.values() for source in move.sources if source != move.target}
