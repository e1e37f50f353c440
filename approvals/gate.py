"""The contract between the workflow scheduler and approvals (SPEC §6).

The scheduler calls these functions; the approvals issue implements them. Until then every action proceeds
without approval (there is no risk policy yet), which is the documented behaviour of this stub.

Engine side of the contract (implemented in ``orchestrator.services``):
``apply_approval_decision(*, node_id, outcome, reason)`` with ``outcome`` in ``"approved" | "rejected" |
"expired" | "withdrawn"``: approved → the node goes WAITING_APPROVAL → READY and the scheduler dispatches it;
rejected → FAILED with the reason (SKIPPED when the node says ``"on_reject": "skip"``); expired → FAILED with
error code ``approval_expired``; the run then follows SPEC §3.3. Called inside the approvals transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrator.models import WorkflowNode


@dataclass(frozen=True)
class GateResult:
    """What the scheduler does with a TASK node about to be dispatched.

    ``proceed=False``: the gate has moved the node to WAITING_APPROVAL (creating or reusing the request) in the
    caller's transaction; the scheduler must not dispatch. ``proceed=True``: dispatch; when ``approval_id`` is set
    the attempt executes that approved action and must call ``claim_execution`` right before running the tool.
    """

    proceed: bool
    approval_id: str | None = None
    action_hash: str | None = None


def check_before_dispatch(*, node: WorkflowNode) -> GateResult:
    """Decide whether ``node`` (a TASK, row locked by the scheduler's transaction) may be dispatched now."""
    return GateResult(proceed=True)


def claim_execution(*, approval_id: str, node_run_id: str, action: dict[str, Any]) -> bool:
    """Claim the single execution of an approved action right before the executor runs it.

    True exactly once per approved action; False when it already ran (or is running), or when ``action`` no
    longer hashes to the approved action hash: the caller must then not run the tool.
    """
    return True


def record_execution_result(
    *, approval_id: str, node_run_id: str, succeeded: bool, output: Any = None, error: str = ""
) -> None:
    """Record the outcome of a claimed execution (approval EXECUTED, idempotency record COMPLETED/FAILED)."""


def withdraw_for_run(*, run_id: Any) -> int:
    """Withdraw the run's pending approval requests (run cancelled). Called inside the cancel transaction."""
    return 0
