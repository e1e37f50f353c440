"""Claiming READY TASK nodes: their attempts (node runs) are created here, by a scheduler tick or, for the
successors a completion just made READY, inside that completion's transaction.

``create_attempts`` moves the claimed nodes READY → RUNNING and inserts one attempt each with a dispatch lease (the
executor must start it before ``NODE_DISPATCH_TIMEOUT_SECONDS``); the executor messages are sent on commit, so a
worker never sees an attempt that was rolled back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from approvals.policy import ActionAssessment, assess_node_action, policy_for_tenant
from orchestrator import nodes as node_types
from orchestrator import statements, wakeups
from orchestrator.lib import units
from orchestrator.lib.waiting import run_changed
from orchestrator.models import WorkflowNode

SUCCESSORS_JOB = "claims.successors"


def assess_for_transaction_claim(
    *,
    node_type: str,
    config: Any,
    policy: dict[str, Any],
    tenant_id: Any,
    run_id: Any,
    node_key: str,
    workspace_id: Any,
) -> ActionAssessment | None:
    """What a transaction that already holds a READY node's row may claim itself, without a tick: a plain TASK
    (control nodes are the tick's) of a run without a workspace (its lock and provisioning are the tick's), while
    the scheduler is on. Returns the policy's assessment of the action (the gate's own classification), or None
    when only a tick may claim the node. No side effects, no queries."""
    if not settings.SCHEDULER_ENABLED or workspace_id is not None:
        return None
    kind = node_types.REGISTRY.get(node_type)
    if kind is None or kind.claim is not None:
        return None
    return assess_node_action(policy, tenant_id=tenant_id, run_id=run_id, node_key=node_key, config=config)


def claim_ready_successors(*, rows: list[dict[str, Any]], run: dict[str, Any], run_id: uuid.UUID, now: datetime) -> int:
    """Claim, inside the completing transaction, the successors it just made READY (``rows``: the ``NodeRef``
    columns; the rows are locked by that transaction, so nobody else can claim them meanwhile). Only plain TASKs
    are claimed here: low risk by the tenant's policy, in a run without a workspace. Returns how many were left for
    a tick (control nodes, approvals, workspaces, or all of them when ``SCHEDULER_ENABLED`` is false).

    In a worker continuing in-process (``offer_prestart``), the first claimed attempt is created already started
    by that worker (owner, lease, timeout): it runs next without a start statement (``take_prestarted``)."""
    if not settings.SCHEDULER_ENABLED or run.get("workspace_id") is not None:
        return len(rows)  # the fast path of the rule below: no successor of this run is claimed here
    policy = policy_for_tenant(run.get("risk_policy"))
    claims: list[Claim] = []
    for row in rows:
        config: dict[str, Any] = row["config"] if isinstance(row.get("config"), dict) else {}
        assessment = assess_for_transaction_claim(
            node_type=str(row.get("type")),
            config=config,
            policy=policy,
            tenant_id=run.get("tenant_id"),
            run_id=run_id,
            node_key=row.get("key", ""),
            workspace_id=run.get("workspace_id"),
        )
        if assessment is None or assessment.requires_approval:  # a control node, or the gate's to ask
            continue
        claims.append(Claim(node=WorkflowNode(id=row["id"], config=config), attempt_id=uuid.uuid4(), row=row))
    if not claims:
        return len(rows)
    owner = wakeups.take_prestart_owner()  # one per completion
    if owner:
        claims[0].owner = owner
    # In a savepoint (``Guard.batch``): a successor the database refuses stays READY for a tick, which isolates
    # and, if it keeps failing, quarantines it; the completion itself commits.
    guard = units.Guard(SUCCESSORS_JOB)
    created = guard.batch(
        claims,
        lambda c: units.Unit(
            key=f"node:{c.node.pk}",
            ids={
                "tenant": run.get("tenant_id"),
                "run": run_id,
                "node": c.node.pk,
                "node_key": (c.row or {}).get("key"),
            },
        ),
        lambda cs: create_attempts(list(cs), now),
    )
    if owner and created and created[0] is claims[0]:
        first = claims[0]
        wakeups.keep_prestarted(str(first.attempt_id), _prestarted_row(first, run_id, now))
    if created:
        wakeups.dispatch_on_commit([str(c.attempt_id) for c in created])
    return len(rows) - len(created)


def attempt_timeout_at(config: dict[str, Any], now: datetime) -> datetime | None:
    timeout = config.get("timeout_seconds")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout:
        return None
    return now + timedelta(seconds=float(timeout))


def _prestart_lease(config: dict[str, Any], now: datetime) -> datetime:
    lease = now + timedelta(seconds=settings.NODE_LEASE_SECONDS)
    timeout_at = attempt_timeout_at(config, now)
    return min(lease, timeout_at) if timeout_at is not None else lease


def _prestarted_row(claim: Claim, run_id: uuid.UUID, now: datetime) -> dict[str, Any]:
    """What ``runner`` reads when it starts an attempt, for one created already started (same keys)."""
    row = claim.row or {}
    config = claim.node.config
    attempts = int(row.get("attempts") or 0) + 1
    return {
        "input": config.get("action") or {},
        "attempt": attempts,
        "approval_id": "",
        "fencing_token": None,
        "timeout_at": attempt_timeout_at(config, now),
        "run__workspace_id": None,
        "node__id": claim.node.pk,
        "node__run_id": run_id,
        "node__key": row.get("key", ""),
        "node__type": row.get("type", "TASK"),
        "node__successors": row.get("successors") or [],
        "node__config": config,
        "node__continue_on_failure": bool(row.get("continue_on_failure")),
        "node__attempts": attempts,
        "node__retry_base": int(row.get("retry_base") or 0),
    }


@dataclass
class Claim:
    """A READY TASK node this tick dispatches: its new attempt's id, approval and workspace fencing token."""

    node: WorkflowNode
    attempt_id: uuid.UUID
    approval_id: str = ""
    fencing_token: int | None = None
    owner: str = ""  # set: the attempt is created already started by this worker (in-process continuation)
    row: dict[str, Any] | None = None


def create_attempts(claims: list[Claim], now: datetime) -> None:
    """READY → RUNNING for the claimed nodes and one attempt each, with a dispatch lease (the executor must start
    it before ``NODE_DISPATCH_TIMEOUT_SECONDS``), through ``statements.create_attempts``."""
    lease = now + timedelta(seconds=settings.NODE_DISPATCH_TIMEOUT_SECONDS)
    # The nodes start (READY → RUNNING): their runs' waiters are woken on commit. A successor claimed inside its
    # predecessor's completion has no ``run_id`` here; that completion announced the run already.
    for run_id in {c.node.run_id for c in claims if c.node.run_id is not None}:
        run_changed(run_id)
    statements.create_attempts(
        [
            statements.NewAttempt(
                node_id=c.node.pk,
                run_id=c.node.run_id,
                attempts=c.node.attempts,
                attempt_id=c.attempt_id,
                input=c.node.config.get("action") or {},
                approval_id=c.approval_id,
                fencing_token=c.fencing_token,
                owner=c.owner,
                lease=_prestart_lease(c.node.config, now) if c.owner else lease,
                timeout_at=attempt_timeout_at(c.node.config, now),
            )
            for c in claims
        ],
        now,
    )


def workspace_lease_seconds(config: dict[str, Any]) -> int:
    """The workspace lease of one attempt: a little longer than its timeout. Local attempts renew it from their
    heartbeat, so without a timeout they start with one node lease; a task-controller attempt has no heartbeat
    here, so without a timeout it gets the maximum (3600 s), released as soon as its result is reported."""
    timeout = config.get("timeout_seconds")
    if not timeout:
        remote = (config.get("executor") or settings.EXECUTOR_BACKEND) == "task_controller"
        timeout = 3600 if remote else settings.NODE_LEASE_SECONDS
    return int(min(3600, float(timeout) + 30))
