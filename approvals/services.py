"""Writes for approvals (SPEC §6): ask, decide, expire, withdraw. The API, the console and the admin call these.

Every state change is a compare-and-set (``UPDATE … WHERE status = …`` under a row lock), emits its event in the
same transaction, and, for requests the scheduler created, tells the engine through ``approvals.outcomes.decided``
(a listener the engine subscribes) inside that transaction. The exactly-once execution guard lives in
``approvals.execution``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q
from django.utils import timezone

from orchestrator import metrics
from orchestrator.lib import context, units, waiting
from orchestrator.lib.auth import Caller
from orchestrator.lib.context import SYSTEM_ACTOR, Actor
from orchestrator.lib.errors import ConflictError, InvalidInput, InvalidStateError, NotFoundError, PermissionDeniedError
from orchestrator.models import (
    NodeRunStatus,
    NodeStatus,
    RunStatus,
    Scope,
    Tenant,
    WorkflowNode,
    WorkflowNodeRun,
    WorkflowRun,
)
from orchestrator.principals import user_principal
from orchestrator.transitions import NODE, NodeAction

from . import authority, delegation, notifications, routing
from .errors import ApprovalExpired, ApprovalNotPending
from .events import count_outcome, emit_approval_event
from .hashing import action_hash
from .models import (
    LIVE_STATUSES,
    ApprovalDecision,
    ApprovalRequest,
    ApprovalSource,
    ApprovalStatus,
    DecisionKind,
    NotificationKind,
)
from .outcomes import ApprovalOutcome, Outcome, decided
from .policy import ActionAssessment, RiskAssessment, assess_node_action, classify, policy_for_tenant
from .preview import render_preview, summarize

logger = logging.getLogger(__name__)

MAX_PARAMS_BYTES = 64 * 1024
MAX_REASON_CHARS = 2000
MAX_TOOL_CHARS = 100


# --- asking ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ApprovalAsk:
    """The answer to "does this action need approval": the request (``created`` tells 201 from 200), or none."""

    assessment: RiskAssessment
    approval: ApprovalRequest | None = None
    created: bool = False


def _json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, default=str).encode("utf-8"))


def _requester_of_run(run: WorkflowRun) -> dict[str, Any]:
    for candidate in (run.started_by, run.created_by):
        if isinstance(candidate, dict) and candidate.get("id"):
            return {
                "type": str(candidate.get("type", "")),
                "id": str(candidate["id"]),
                "display": str(candidate.get("display", "")),
            }
    return SYSTEM_ACTOR.as_dict()


def _create_or_reuse(
    *,
    run: WorkflowRun,
    node: WorkflowNode,
    node_run: WorkflowNodeRun | None,
    source: str,
    tool: str,
    params: Any,
    request_context: dict[str, Any],
    reasoning: str,
    assessment: RiskAssessment,
    digest: str,
    requested_by: dict[str, Any],
    actor: Actor,
    now: datetime,
) -> tuple[ApprovalRequest, bool]:
    """The live request for ``digest`` or a new one (the partial unique index settles concurrent askers)."""
    for _ in range(5):
        existing = ApprovalRequest.objects.filter(
            tenant_id=run.tenant_id, action_hash=digest, status__in=LIVE_STATUSES
        ).first()
        if existing is not None:
            if expire_if_overdue(approval=existing, now=now, notify_engine=False):
                continue
            return existing, False
        route = routing.route_for(tenant_id=run.tenant_id, run=run, tool=tool, level=assessment.level)  # issue 20
        approval = ApprovalRequest(
            tenant_id=run.tenant_id,
            run=run,
            node=node,
            node_run=node_run,
            source=source,
            tool=tool,
            params=params,
            context=request_context,
            reasoning=reasoning,
            summary=summarize(tool, params),
            preview=render_preview(tool, params),
            risk_level=assessment.level,
            risk_reasons=list(assessment.reasons),
            # A rule's quorum can raise the policy's, never lower it (issue 20).
            required_approvals=max(assessment.required_approvers, route.quorum or 1),
            action_hash=digest,
            requested_by=requested_by,
            status=ApprovalStatus.PENDING,
            created_at=now,
            routing_rule=route.rule,
            assigned_groups=route.groups,
            escalation_groups=route.escalation_groups,
            slack_channel=route.slack_channel,
            **route.deadlines(now),
        )
        try:
            with transaction.atomic():
                approval.save(force_insert=True)
                notifications.enqueue(approval, kind=NotificationKind.REQUESTED, now=now)  # issue 20, on commit
        except IntegrityError:
            continue  # a concurrent asker created it first: read theirs
        emit_approval_event("approval.requested", approval, actor=actor, before=None)
        return approval, True
    raise ConflictError("The approval request is changing concurrently; retry.")  # pragma: no cover


def request_action_approval(
    *,
    caller: Caller,
    workflow_id: Any,
    node_key: str,
    tool: str,
    params: Any,
    request_context: dict[str, Any] | None = None,
    reasoning: str = "",
) -> ApprovalAsk:
    """Case (b) of SPEC §6.1: a service about to take an action inside a running node asks whether it may.

    Preconditions: the run belongs to a tenant where ``caller`` holds ``approvals:request`` (404 otherwise), it is
    RUNNING and so is the node (409 ``invalid_state``). Low risk: no request. Otherwise the live request for the
    same action (same hash) or a new PENDING one; asking again after that action ran in the same node run returns
    the executed request. Side effects: ``approval.requested`` when a request is created.
    """
    if not isinstance(tool, str) or not tool.strip() or len(tool) > MAX_TOOL_CHARS:
        raise InvalidInput(f"A tool name of 1 to {MAX_TOOL_CHARS} characters.", field="tool")
    if not isinstance(params, dict):
        raise InvalidInput("params must be an object.", field="params")
    if _json_size(params) > MAX_PARAMS_BYTES:
        raise InvalidInput("params are larger than 64 KiB.", field="params")
    request_context = request_context or {}
    if not isinstance(request_context, dict) or _json_size(request_context) > MAX_PARAMS_BYTES:
        raise InvalidInput("context must be an object of at most 64 KiB.", field="context")
    tenants = caller.tenants_with_scope(Scope.APPROVALS_REQUEST)
    run = WorkflowRun.objects.select_related("tenant").filter(pk=workflow_id, tenant_id__in=tenants).first()
    if run is None:
        raise NotFoundError("No such workflow.")
    node = WorkflowNode.objects.filter(run=run, key=node_key).first()
    if node is None:
        raise InvalidInput(f"The workflow has no node {node_key!r}.", field="node_key")
    if run.status != RunStatus.RUNNING or node.status != NodeStatus.RUNNING:
        raise InvalidStateError(
            f"Actions are approved inside a running node; the run is {run.status} and the node {node.status}."
        )
    assessment = classify(policy_for_tenant(run.tenant.risk_policy), tool=tool, params=params)
    if not assessment.requires_approval:
        return ApprovalAsk(assessment=assessment)
    node_run = WorkflowNodeRun.objects.filter(node=node, status=NodeRunStatus.RUNNING).order_by("-attempt").first()
    digest = action_hash(tenant_id=run.tenant_id, run_id=run.pk, node_key=node.key, tool=tool, params=params)
    now = timezone.now()
    with transaction.atomic():
        executed = ApprovalRequest.objects.filter(
            tenant_id=run.tenant_id, action_hash=digest, status=ApprovalStatus.EXECUTED, node_run=node_run
        ).first()
        if executed is not None:
            return ApprovalAsk(assessment=assessment, approval=executed, created=False)
        approval, created = _create_or_reuse(
            run=run,
            node=node,
            node_run=node_run,
            source=ApprovalSource.SERVICE,
            tool=tool,
            params=params,
            request_context=request_context,
            reasoning=str(reasoning or "")[:10000],
            assessment=assessment,
            digest=digest,
            requested_by=caller.actor.as_dict(),
            actor=caller.actor,
            now=now,
        )
    return ApprovalAsk(assessment=assessment, approval=approval, created=created)


def hold_node_for_approval(
    *, node: WorkflowNode, assessment: ActionAssessment, now: datetime
) -> ApprovalRequest | None:
    """Case (a): park a TASK about to be dispatched in WAITING_APPROVAL with its (new or live) request.

    Precondition: inside the scheduler's transaction, the node row locked. Returns ``None`` (and creates nothing)
    when the node is no longer in a dispatchable state. Side effects: node status (conditional UPDATE);
    ``approval.requested`` when the request is new.
    """
    hold = NODE[NodeAction.HOLD_FOR_APPROVAL]
    updated = WorkflowNode.objects.filter(pk=node.pk, **hold.where()).update(status=hold.target, updated_at=now)
    if not updated:
        logger.warning("node %s left the dispatchable states before its approval gate", node.pk)
        return None
    node.status = hold.target
    waiting.run_changed(node.run_id)
    run = node.run
    approval, _ = _create_or_reuse(
        run=run,
        node=node,
        node_run=None,
        source=ApprovalSource.SCHEDULER,
        tool=str(assessment.tool if assessment.tool is not None else "")[:MAX_TOOL_CHARS],
        params=assessment.params,
        request_context={},
        reasoning="",
        assessment=assessment.risk,
        digest=assessment.digest,
        requested_by=_requester_of_run(run),
        actor=SYSTEM_ACTOR,
        now=now,
    )
    return approval


def assess_node(node: WorkflowNode) -> ActionAssessment:
    """The assessment of a TASK node's action with its tenant's policy read from the database (no writes); the
    scheduler assesses with the policy that came with its claim instead."""
    run = node.run
    tenant_policy = Tenant.objects.filter(pk=run.tenant_id).values_list("risk_policy", flat=True).first()
    return assess_node_action(
        policy_for_tenant(tenant_policy), tenant_id=run.tenant_id, run_id=run.pk, node_key=node.key, config=node.config
    )


# --- expiry ---------------------------------------------------------------------------------------------------------
def is_overdue(approval: ApprovalRequest, now: datetime) -> bool:
    """PENDING past ``expires_at`` or APPROVED past ``valid_until`` (still to be expired)."""
    if approval.status == ApprovalStatus.PENDING:
        return approval.expires_at <= now
    if approval.status == ApprovalStatus.APPROVED:
        return approval.valid_until is not None and approval.valid_until <= now
    return False


def _expire(approval: ApprovalRequest, *, now: datetime, actor: Actor, reason: str, notify_engine: bool = True) -> bool:
    """PENDING|APPROVED → EXPIRED by compare-and-set; event, metrics, and the engine told for a waiting node."""
    before = approval.status
    if before not in LIVE_STATUSES:
        return False
    with transaction.atomic():
        updated = ApprovalRequest.objects.filter(pk=approval.pk, status=before).update(
            status=ApprovalStatus.EXPIRED, expired_at=now, updated_at=now
        )
        if not updated:
            approval.refresh_from_db()
            return False
        approval.status = ApprovalStatus.EXPIRED
        approval.expired_at = now
        emit_approval_event("approval.expired", approval, actor=actor, before=before, reason=reason)
        count_outcome(
            approval,
            ApprovalStatus.EXPIRED,
            latency_from=approval.created_at if before == ApprovalStatus.PENDING else None,
            at=now,
        )
        # Only a PENDING request has a node waiting on it; an approved-but-unused one leaves its node to the
        # scheduler, whose gate then asks for a fresh approval.
        if notify_engine and before == ApprovalStatus.PENDING and approval.source == ApprovalSource.SCHEDULER:
            decided.notify(
                ApprovalOutcome(approval_id=approval.pk, node_id=approval.node_id, outcome="expired", reason=reason)
            )
    return True


def expire_if_overdue(*, approval: ApprovalRequest, now: datetime | None = None, notify_engine: bool = True) -> bool:
    """Expire ``approval`` if its time is up (PENDING past ``expires_at``, APPROVED past ``valid_until``).

    Called on every read and decision so an overdue request is never approvable or executable, even before the
    periodic task runs. Returns whether this call expired it.
    """
    now = now or timezone.now()
    if not is_overdue(approval, now):
        return False
    reason = "approval_expired: not decided in time"
    if approval.status == ApprovalStatus.APPROVED:
        reason = "approval_expired: approved but not executed within the validity window"
    return _expire(approval, now=now, actor=SYSTEM_ACTOR, reason=reason, notify_engine=notify_engine)


def expire_overdue_approvals(
    *, now: datetime | None = None, tenant_ids: list[Any] | None = None, limit: int = 1000
) -> int:
    """Expire every overdue live request (of ``tenant_ids`` when given); returns how many. Safe to run anywhere,
    any number of times at once: rows are locked with SKIP LOCKED and each transition is a compare-and-set."""
    now = now or timezone.now()
    overdue = ApprovalRequest.objects.filter(
        Q(status=ApprovalStatus.PENDING, expires_at__lte=now) | Q(status=ApprovalStatus.APPROVED, valid_until__lte=now)
    )
    if tenant_ids is not None:
        overdue = overdue.filter(tenant_id__in=tenant_ids)
    ids = list(overdue.values_list("pk", flat=True)[:limit])
    expired = 0
    # Each request is a unit (issue 16): its own transaction; one that keeps failing is quarantined EXPIRED.
    guard = units.Guard(EXPIRY_JOB, quarantine=_quarantine_expired)
    for pk in ids:
        with guard.unit(_approval_unit(pk)):
            approval = ApprovalRequest.objects.select_for_update(skip_locked=True, of=("self",)).filter(pk=pk).first()
            if approval is not None and expire_if_overdue(approval=approval, now=now):
                expired += 1
    return expired


EXPIRY_JOB = "approvals.expiry"


def _approval_unit(pk: Any) -> units.Unit:
    def lookup() -> dict[str, Any]:
        row = dict(ApprovalRequest.objects.filter(pk=pk).values("tenant_id", "run_id", "node_id").first() or {})
        return {"tenant": row.get("tenant_id"), "run": row.get("run_id"), "node": row.get("node_id")}

    return units.Unit(key=f"approval:{pk}", ids={"approval": pk}, lookup=lookup)


def _quarantine_expired(unit: units.Unit, ids: Any, reason: str) -> None:
    """A request whose expiry keeps failing ends EXPIRED with ``reason`` (``internal_error: …``), without telling
    the engine (its node, the likely culprit, is the engine's to quarantine); if even the event cannot be written,
    by a bare compare-and-set so the request is at least no longer approvable."""
    approval = ApprovalRequest.objects.select_for_update(of=("self",)).filter(pk=ids["approval"]).first()
    if approval is None:
        return
    try:
        with transaction.atomic():
            _expire(approval, now=timezone.now(), actor=SYSTEM_ACTOR, reason=reason, notify_engine=False)
    except Exception:
        logger.exception("approval %s: expiry event failed; expiring it without one", approval.pk)
        ApprovalRequest.objects.filter(pk=approval.pk, status__in=LIVE_STATUSES).update(
            status=ApprovalStatus.EXPIRED, expired_at=timezone.now(), updated_at=timezone.now()
        )


def expire_approval(*, approval: ApprovalRequest, actor: Actor, reason: str = "") -> ApprovalRequest:
    """Expire a live request now, whatever its deadline (operators, from the admin).

    Raises ``ApprovalNotPending`` unless PENDING or APPROVED. Side effects as for a deadline expiry.
    """
    with transaction.atomic():
        locked = ApprovalRequest.objects.select_for_update(of=("self",)).get(pk=approval.pk)
        if not _expire(locked, now=timezone.now(), actor=actor, reason=reason or "approval_expired: by an operator"):
            raise ApprovalNotPending(f"The request is {locked.status}; only live requests can be expired.")
    return locked


# --- deciding -------------------------------------------------------------------------------------------------------
def _check_can_decide(
    approval: ApprovalRequest, caller: Caller, decision: str, now: datetime
) -> tuple[str, dict[str, str] | None]:
    """Every rule for this decider; returns (step-up method, whom a delegate decides for)."""
    if approval.status == ApprovalStatus.EXPIRED:
        raise ApprovalExpired("This approval request has expired.")
    if approval.status != ApprovalStatus.PENDING:
        raise ApprovalNotPending(f"This approval request is {approval.status}.")
    # --- issue 20: only the routed groups' members or their delegates (approvals.routing) ---
    on_behalf_of = routing.check_assignment(caller=caller, approval=approval, now=now)
    if on_behalf_of is not None:
        delegation.check_stand_in(approval=approval, on_behalf_of=on_behalf_of)
    # --- issue 15: who may decide, separation of duties by principal, step-up (approvals.authority) ---
    policy = policy_for_tenant(approval.tenant.risk_policy)
    return authority.authorize(caller=caller, approval=approval, policy=policy), on_behalf_of


def decide_approval(*, caller: Caller, approval: ApprovalRequest, decision: str, reason: str = "") -> ApprovalRequest:
    """Approve or reject ``approval`` as ``caller`` (API key or person; the console calls this unchanged).

    Preconditions: ``approval`` was fetched through a selector (so it is readable); ``caller`` holds
    ``approvals:decide`` in its tenant (403 otherwise); ``reason`` is required to reject. Rules: 410
    ``approval_expired`` when overdue (the expiry is committed first), 409 ``approval_not_pending`` unless PENDING,
    403 ``self_approval_forbidden`` for the requester, 409 ``already_decided`` for a second vote by the same
    decider, 403 ``not_routed_reviewer`` outside a routed request's groups (issue 20; a delegate's vote records
    ``on_behalf_of``). The decision is recorded; one rejection rejects; the request is APPROVED when
    ``required_approvals`` distinct approvers agreed (then valid for ``APPROVAL_VALIDITY_MINUTES``). Under the row
    lock, so of two concurrent deciders exactly one wins. Side effects: ``approval.approved|rejected`` and the
    engine hook for scheduler requests, in this transaction. Returns the request as decided, with its tenant,
    node, execution and votes (the new one included) loaded, so callers can render it without reading it again.
    """
    if decision not in DecisionKind.values:
        raise InvalidInput("decision must be 'approve' or 'reject'.", field="decision")
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if decision == DecisionKind.REJECT and not reason:
        raise InvalidInput("A rejection needs a reason.", field="reason")
    if len(reason) > MAX_REASON_CHARS:
        raise InvalidInput(f"At most {MAX_REASON_CHARS} characters.", field="reason")
    if not caller.has_scope(Scope.APPROVALS_DECIDE, approval.tenant_id):
        raise PermissionDeniedError("Deciding approvals needs the reviewer role or the 'approvals:decide' scope.")
    now = timezone.now()
    expired = False
    with transaction.atomic():
        # One statement for the request and what the checks and the event read (tenant policy, node key,
        # execution for the answer), one for its votes; nothing below re-reads them (issue 22). Only the request's
        # row is locked; every vote is inserted under that lock, so the votes read after it are all of them.
        locked = (
            ApprovalRequest.objects.select_for_update(of=("self",))
            .select_related("tenant", "node", "execution")
            .prefetch_related(Prefetch("decisions", queryset=ApprovalDecision.objects.order_by("created_at")))
            .get(pk=approval.pk)
        )
        if expire_if_overdue(approval=locked, now=now):
            expired = True
        else:
            step_up, on_behalf_of = _check_can_decide(locked, caller, decision, now)
            principals = set(caller.principals)
            if on_behalf_of is not None:  # the stand-in's vote is also the absent reviewer's (one vote for both)
                principals.add(user_principal(on_behalf_of["id"]))
            ctx = context.current()
            vote = ApprovalDecision.objects.create(
                approval=locked,
                decision=decision,
                decider_type=caller.kind,
                decider_id=caller.id,
                decider_display=caller.display[:200],
                principals=sorted(principals),  # issue 15
                step_up=step_up,  # issue 15
                on_behalf_of=on_behalf_of,  # issue 20
                reason=reason,
                ip=ctx.ip,
                user_agent=ctx.user_agent,
                request_id=ctx.request_id,
                created_at=now,
            )
            _remember_votes(locked, [*locked.decisions.all(), vote])
            # A vote short of the quorum emits no event but changes what the request shows: announce it.
            waiting.changed("approval", locked.pk)
            _apply_vote(locked, vote, caller=caller, now=now)
    if expired:
        raise ApprovalExpired("This approval request has expired.")
    return locked


def _apply_vote(approval: ApprovalRequest, vote: ApprovalDecision, *, caller: Caller, now: datetime) -> None:
    if vote.decision == DecisionKind.REJECT:
        new_status, event_type = ApprovalStatus.REJECTED, "approval.rejected"
        outcome: Outcome = "rejected"
        fields: dict[str, Any] = {}
    else:
        # The votes were read under the row lock and this one added (``_remember_votes``): no COUNT(*).
        approvals = sum(1 for d in approval.decisions.all() if d.decision == DecisionKind.APPROVE)
        if approvals < approval.required_approvals:
            return  # recorded; the quorum is not reached yet
        new_status, event_type = ApprovalStatus.APPROVED, "approval.approved"
        outcome = "approved"
        fields = {"valid_until": now + timedelta(minutes=settings.APPROVAL_VALIDITY_MINUTES)}
    updated = ApprovalRequest.objects.filter(pk=approval.pk, status=ApprovalStatus.PENDING).update(
        status=new_status, decided_at=now, decision_reason=vote.reason, updated_at=now, **fields
    )
    if not updated:  # pragma: no cover - impossible under the row lock; kept as the compare-and-set
        raise ApprovalNotPending("This approval request was decided concurrently.")
    approval.status = new_status
    approval.decided_at = now
    approval.decision_reason = vote.reason
    for name, value in fields.items():
        setattr(approval, name, value)
    count_outcome(approval, new_status, latency_from=approval.created_at, at=now)
    by = caller.display or caller.id
    if vote.on_behalf_of:  # issue 20: "by X on behalf of Y"
        by = f"{by} on behalf of {vote.on_behalf_of.get('display') or vote.on_behalf_of.get('id')}"
    notifications.announce_outcome(approval, by=by)  # issue 20: the Slack message shows the outcome (on commit)
    hook_reason = f"approved by {by}" if outcome == "approved" else f"rejected by {by}: {vote.reason}"
    tell_engine = approval.source == ApprovalSource.SCHEDULER
    if tell_engine and outcome == "approved":
        # The engine hook claims the node (issue 22); it emits no event of its own for an approval, so the
        # approval's event may follow it. A rejection can fail the run, whose events must follow the rejection's:
        # that hook runs after the event (below).
        decided.notify(
            ApprovalOutcome(
                approval_id=approval.pk,
                node_id=approval.node_id,
                outcome=outcome,
                reason=hook_reason,
                action_hash=approval.action_hash,
            )
        )
    emit_approval_event(
        event_type,
        approval,
        actor=caller.actor,
        before=ApprovalStatus.PENDING,
        decision=vote.as_dict(),
        reason=vote.reason,
        approvals=[d.as_dict() for d in approval.decisions.all()],
    )
    if tell_engine and outcome == "rejected":
        decided.notify(
            ApprovalOutcome(approval_id=approval.pk, node_id=approval.node_id, outcome=outcome, reason=hook_reason)
        )


def _remember_votes(approval: ApprovalRequest, votes: list[ApprovalDecision]) -> None:
    """Make ``approval.decisions.all()`` answer ``votes`` (the ones read under the row lock plus the new one, in
    the selector's order) without a query, as ``prefetch_related`` leaves it: the quorum count, the event payload
    and the API's answer read them from here."""
    cached = ApprovalDecision.objects.filter(approval=approval).order_by("created_at")
    cached._result_cache = sorted(votes, key=lambda d: d.created_at)
    # What ``prefetch_related`` itself stores (``django.db.models.query.prefetch_one_level``); the stubs omit these.
    cached._prefetch_done = True  # type: ignore[attr-defined]
    approval._prefetched_objects_cache = {  # type: ignore[attr-defined]
        **getattr(approval, "_prefetched_objects_cache", {}),
        "decisions": cached,
    }


# --- withdrawal -----------------------------------------------------------------------------------------------------
def withdraw_run_approvals(*, run_id: Any) -> int:
    """PENDING → WITHDRAWN for every request of a cancelled run; returns how many.

    Precondition: inside the cancel transaction (the engine tells its own nodes). There is no ``approval.*`` event
    for a withdrawal in SPEC §7; the run's ``workflow.cancelled`` event records it.
    """
    now = timezone.now()
    withdrawn = list(
        ApprovalRequest.objects.filter(run_id=run_id, status=ApprovalStatus.PENDING).values_list("pk", "risk_level")
    )
    if not withdrawn:
        return 0
    count = ApprovalRequest.objects.filter(pk__in=[pk for pk, _ in withdrawn], status=ApprovalStatus.PENDING).update(
        status=ApprovalStatus.WITHDRAWN, updated_at=now
    )
    for pk, _ in withdrawn:  # no event for a withdrawal: its waiters are told here
        waiting.changed("approval", pk)
    levels = [level for _, level in withdrawn]

    def bump() -> None:
        for level in levels[:count]:
            metrics.approvals_total.labels(status=ApprovalStatus.WITHDRAWN, risk_level=level).inc()

    transaction.on_commit(bump)
    return count
