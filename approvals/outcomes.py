"""How approvals tell the engine that a request a workflow node waits on was decided (SPEC §6).

Approvals stand below the engine and never import it: ``approvals.services`` notifies ``decided`` inside its own
transaction, and the engine subscribes in ``OrchestratorConfig.ready``. The engine's answer (SPEC §3.3):
approved → the node goes WAITING_APPROVAL → READY and is dispatched with this approval's id (by the
scheduler, or at once in the deciding transaction when ``action_hash`` still matches the node's action);
rejected → FAILED with the reason (SKIPPED when the node says ``"on_reject": "skip"``); expired → FAILED with
error code ``approval_expired``; withdrawn → nothing (the run is being cancelled). A node that is no longer
WAITING_APPROVAL is left alone (the engine's transitions are compare-and-set).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from orchestrator.lib.listeners import Listeners

Outcome = Literal["approved", "rejected", "expired", "withdrawn"]


@dataclass(frozen=True)
class ApprovalOutcome:
    """One decided request that a workflow node (``node_id``) waits on."""

    approval_id: uuid.UUID
    node_id: uuid.UUID
    outcome: Outcome
    reason: str = ""
    # For "approved": the approved action's hash. The engine may then dispatch the node in the deciding
    # transaction itself when the node's action still hashes to it (issue 22); without it, it leaves the node
    # READY for the scheduler's gate.
    action_hash: str = ""


decided: Listeners[Callable[[ApprovalOutcome], None]] = Listeners("approval outcomes")


@dataclass(frozen=True)
class FreshApproval:
    """An operator resolved a stuck execution of ``approval_id`` (whose worker died mid-way: nobody knows whether
    the action happened) by asking for a fresh approval of node ``node_id``'s action. Told inside the approvals
    transaction; the engine brings the node back, and the gate asks for a new approval (the old one is EXECUTED)."""

    approval_id: uuid.UUID
    node_id: uuid.UUID
    note: str = ""


fresh_approval_wanted: Listeners[Callable[[FreshApproval], None]] = Listeners("fresh approvals for stuck executions")
