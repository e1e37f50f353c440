"""Engine side of the scheduler/approvals contract (see ``approvals/gate.py``).

Approvals call ``apply_approval_decision`` inside their own transaction when a request tied to a workflow node
is decided, expires or is withdrawn.
"""

from __future__ import annotations

from typing import Any, Literal

Outcome = Literal["approved", "rejected", "expired", "withdrawn"]


def apply_approval_decision(*, node_id: Any, outcome: Outcome, reason: str = "") -> None:
    """Move a WAITING_APPROVAL node on after its approval is decided.

    approved → READY (the scheduler dispatches it, and the gate then answers ``proceed`` with the approval id);
    rejected → FAILED with ``reason`` (SKIPPED when the node's config says ``"on_reject": "skip"``);
    expired → FAILED with error code ``approval_expired``; withdrawn → nothing (the run is being cancelled).
    Then the run follows SPEC §3.3 (successors, completion, failure). Precondition: called inside a transaction.
    A node that is no longer WAITING_APPROVAL (cancelled meanwhile) is left alone: the transitions are
    compare-and-set. Raises ``NotFoundError`` for an unknown node and ``ValueError`` for an unknown outcome.
    """
    from orchestrator import runs

    runs.apply_approval_outcome(node_id=node_id, outcome=outcome, reason=reason)
