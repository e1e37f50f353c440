"""Reads scoped to the caller. Every queryset an interface hands out passes through one of these."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from approvals.policy import assess_node_action, policy_for_tenant
from orchestrator.lib import rawsql
from orchestrator.lib.auth import Caller
from orchestrator.lib.errors import NotFoundError
from orchestrator.lib.ids import parse_uuid
from orchestrator.models import (
    ApiKey,
    NodeStatus,
    NodeType,
    Role,
    Scope,
    Tenant,
    WorkflowNode,
    WorkflowNodeRun,
    WorkflowRun,
)


def api_keys_for(caller: Caller) -> QuerySet[ApiKey]:
    """Keys of the tenants where the caller is an operator, and the person's own personal keys (keys never see
    keys)."""
    if caller.kind != "user":
        return ApiKey.objects.none()
    tenants = [t for t, role in caller.roles_by_tenant.items() if role == Role.OPERATOR]
    mine = Q(owner_user_id=caller.user.pk, tenant_id__in=caller.tenant_ids())
    return ApiKey.objects.filter(Q(tenant_id__in=tenants) | mine).select_related("tenant", "service_account")


def tenant_for_write(tenant_id: Any) -> Tenant:
    """The tenant a caller writes to (already chosen by ``Caller.tenant_for_write``, so it exists), read by SQL
    built once: the create path's first statement, where the ORM's ``get`` cost more than the round trip."""
    found = rawsql.fetch(
        Tenant,
        rawsql.select_sql(Tenant, f"{rawsql.column(Tenant, 'id')} = %s"),
        [rawsql.db_value(Tenant, "id", tenant_id)],
    )
    if not found:
        raise Tenant.DoesNotExist(f"No tenant {tenant_id}.")
    return found[0]  # type: ignore[no-any-return]


def runs_for(caller: Caller) -> QuerySet[WorkflowRun]:
    """Runs of the tenants where the caller may read workflows, with the workspace joined."""
    return WorkflowRun.objects.filter(tenant_id__in=caller.readable_tenants(Scope.WORKFLOWS)).select_related(
        "workspace"
    )


def run_detail_for(caller: Caller) -> QuerySet[WorkflowRun]:
    """Like ``runs_for``, with the nodes prefetched in definition order (one query for all of them)."""
    return runs_for(caller).prefetch_related(
        Prefetch("nodes", queryset=WorkflowNode.objects.order_by("position", "key"))
    )


def _run_pk(run_id: Any) -> uuid.UUID:
    """The run id as a UUID; a malformed one is a 404 like an unknown one (ids are not validated inputs)."""
    pk = parse_uuid(run_id)
    if pk is None:
        raise NotFoundError("No such workflow run.")
    return pk


def get_run_for(caller: Caller, run_id: Any) -> WorkflowRun:
    """The caller's run ``run_id``; another tenant's (or a malformed id) is a 404."""
    try:
        return runs_for(caller).get(pk=_run_pk(run_id))
    except WorkflowRun.DoesNotExist as exc:
        raise NotFoundError("No such workflow run.") from exc


_RAW_POLICY = "_raw_tenant_risk_policy"


def get_run_detail_for(caller: Caller, run_id: Any) -> WorkflowRun:
    """``get_run_for`` with its nodes in definition order attached (as ``run_detail_for`` would prefetch them),
    and the tenant's risk policy as ``run.tenant_risk_policy`` (read by ``annotate_approval_facts``).

    The hottest read of the API (agents poll their runs), so it is two statements with SQL built once per process
    (``orchestrator.lib.rawsql``) instead of an ORM ``get`` + ``prefetch_related`` + the policy's own query. The
    workspace, when the run has one, is loaded on first access.
    """
    tenants = caller.readable_tenants(Scope.WORKFLOWS)
    pk = _run_pk(run_id)
    if not tenants:
        raise NotFoundError("No such workflow run.")
    tenant_in = f"{rawsql.column(WorkflowRun, 'tenant')} IN ({rawsql.in_list(len(tenants))})"
    where = f"{rawsql.column(WorkflowRun, 'id')} = %s AND {tenant_in}"
    params = [rawsql.db_value(WorkflowRun, "id", pk), *(rawsql.db_value(WorkflowRun, "tenant", t) for t in tenants)]
    # The tenant's risk policy comes along in the same statement (``annotate_approval_facts`` needs it).
    policy = rawsql.related_value_sql(WorkflowRun, "risk_policy", Tenant, by="tenant")
    found = rawsql.fetch(WorkflowRun, rawsql.select_sql(WorkflowRun, where, extra=policy), params, extra=_RAW_POLICY)
    if not found:
        raise NotFoundError("No such workflow run.")
    run = found[0]
    run.tenant_risk_policy = rawsql.convert_value(Tenant, "risk_policy", getattr(run, _RAW_POLICY))  # type: ignore[attr-defined]
    definition_order = f"{rawsql.column(WorkflowNode, 'position')}, {rawsql.column(WorkflowNode, 'key')}"
    node_sql = rawsql.select_sql(WorkflowNode, f"{rawsql.column(WorkflowNode, 'run')} = %s", order_by=definition_order)
    nodes = rawsql.fetch(WorkflowNode, node_sql, [rawsql.db_value(WorkflowNode, "run", pk)])
    for node in nodes:
        node.run = run  # the reverse side is known; no query if a caller follows it
    # What ``prefetch_related("nodes")`` leaves behind, so ``run.nodes.all()`` reads these without a query.
    cached = run.nodes.all()
    cached._result_cache = nodes
    cached._prefetch_done = True  # type: ignore[attr-defined]
    run._prefetched_objects_cache = {"nodes": cached}  # type: ignore[attr-defined]
    return run


def get_node_for(caller: Caller, run_id: Any, key: str) -> WorkflowNode:
    """One node of the caller's run with its attempts prefetched; 404 when either is unknown."""
    run = get_run_for(caller, run_id)
    node = (
        WorkflowNode.objects.filter(run=run, key=key)
        .prefetch_related(Prefetch("node_runs", queryset=WorkflowNodeRun.objects.order_by("attempt")))
        .first()
    )
    if node is None:
        raise NotFoundError(f"No node {key!r} in this run.")
    return node


def annotate_approval_facts(run: WorkflowRun, nodes: Iterable[WorkflowNode]) -> None:
    """Set ``requires_approval`` and ``risk_level`` on each node: what the approvals policy decided for it.

    A TASK that waits for approval, or ran with an approved request, required approval; one that already ran
    without one did not; any other TASK (not reached yet, or rejected) is classified now by its tenant's effective
    policy, exactly as the scheduler will (``approvals.policy.assess_node_action``). Control nodes never need
    approval and carry no risk level. Side effect: at most one query (the tenant's policy), none when every node
    is decided already or the run was read with its tenant's policy (``run.tenant_risk_policy``, set by
    ``get_run_detail_for``). Precondition: ``nodes`` belong to ``run``.
    """
    nodes = list(nodes)
    policy: dict[str, Any] | None = None
    for node in nodes:
        if node.type != NodeType.TASK:
            node.requires_approval, node.risk_level = False, None  # type: ignore[attr-defined]
            continue
        if policy is None:
            if hasattr(run, "tenant_risk_policy"):
                tenant_policy = run.tenant_risk_policy
            else:
                tenant_policy = Tenant.objects.filter(pk=run.tenant_id).values_list("risk_policy", flat=True).first()
            policy = policy_for_tenant(tenant_policy)
        assessment = assess_node_action(
            policy, tenant_id=run.tenant_id, run_id=run.pk, node_key=node.key, config=node.config
        )
        if node.approval_id or node.status == NodeStatus.WAITING_APPROVAL:
            required = True
        elif node.attempts > 0:
            required = False
        else:
            required = assessment.requires_approval
        node.requires_approval = required  # type: ignore[attr-defined]
        node.risk_level = assessment.risk.level  # type: ignore[attr-defined]


# --- INPUT nodes (issue 19) --------------------------------------------------------------------------------------


def input_tenants(caller: Caller) -> list[Any]:
    """Tenants where the caller may reach a run's INPUT node: those whose workflows it reads, and those where it
    decides (a reviewer's key fills forms without the ``workflows`` scope)."""
    tenants = caller.readable_tenants(Scope.WORKFLOWS)
    return tenants + [t for t in caller.tenants_with_scope(Scope.APPROVALS_DECIDE) if t not in tenants]


def get_input_node_for(caller: Caller, run_id: Any, key: str) -> WorkflowNode:
    """The node ``key`` of the caller's run ``run_id`` (any type: the service says 409 when it takes no input),
    with its run; another tenant's run, a malformed id or an unknown key is a 404."""
    node = (
        WorkflowNode.objects.filter(run_id=_run_pk(run_id), run__tenant_id__in=input_tenants(caller), key=key)
        .select_related("run", "run__tenant")
        .first()
    )
    if node is None:
        raise NotFoundError(f"No node {key!r} in this run.")
    return node


def waiting_inputs_for(caller: Caller) -> QuerySet[WorkflowNode]:
    """INPUT nodes waiting for values in the tenants where the caller decides, soonest due first (who among them
    may submit each is ``orchestrator.inputs.refusal``)."""
    return (
        WorkflowNode.objects.filter(
            type=NodeType.INPUT,
            status=NodeStatus.WAITING,
            run__tenant_id__in=caller.tenants_with_scope(Scope.APPROVALS_DECIDE),
        )
        .select_related("run", "run__tenant")
        .order_by("not_before", "run_id", "key")
    )
