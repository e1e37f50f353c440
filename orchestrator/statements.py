"""The statements that differ on PostgreSQL and SQLite, one function each (issue 14).

Each is a ``Statement``: one signature, a ``portable`` variant (the ORM, correct on any database: on SQLite writers
are serialised, so reading and then updating is exclusive) and, where PostgreSQL does the same work in fewer round
trips, a ``postgresql`` variant (``RETURNING``, data-modifying CTEs). Calling the statement picks the variant for
the connection; ``tests/orchestrator/test_statements.py`` runs both variants on the same scenario. Only our table
names and fixed SQL are interpolated into the raw statements; every value is a parameter.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, ParamSpec, TypeVar

from django.conf import settings
from django.db import connection, models
from django.db.models import F
from django.db.models.functions import Coalesce

from orchestrator.models import NodeRunStatus, Tenant, WorkflowNode, WorkflowNodeRun, WorkflowRun
from orchestrator.transitions import ATTEMPT, NODE, AttemptAction, Move, NodeAction

P = ParamSpec("P")
R = TypeVar("R")

# The columns of a node the completion paths need (``progress.NodeRef``); the start statement reads them too.
NODE_FIELDS = ("id", "run_id", "key", "type", "successors", "config", "continue_on_failure", "attempts", "retry_base")


class Statement(Generic[P, R]):
    """One statement with one signature: ``portable`` everywhere, ``postgresql`` (when given) on PostgreSQL."""

    def __init__(self, portable: Callable[P, R] | None, postgresql: Callable[P, R] | None = None) -> None:
        self.portable = portable
        self.postgresql = postgresql

    def specialised(self) -> bool:
        """Whether the database-specific variant runs on the current connection."""
        return connection.vendor == "postgresql" and self.postgresql is not None

    def variant(self) -> Callable[P, R] | None:
        """The variant for the current connection (None: this database has none)."""
        return self.postgresql if self.specialised() else self.portable

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        variant = self.variant()
        if variant is None:
            raise NotImplementedError(f"no variant of this statement for {connection.vendor}")
        return variant(*args, **kwargs)


# --- Finishing an attempt (complete / fail / reap) ------------------------------------------------------------


def _finish_attempt_changes(move: Move, now: datetime, output: Any, error: str) -> dict[str, Any]:
    changes: dict[str, Any] = {"status": move.target, "finished_at": now, "lease_expires_at": None}
    if move.target == NodeRunStatus.COMPLETED:
        changes["output"] = output
    else:
        changes["error"] = error
    return changes


def _finish_attempt_portable(
    node_run_id: Any,
    move: Move,
    now: datetime,
    *,
    output: Any = None,
    error: str = "",
    owner: str | None,
    expired_before: datetime | None,
) -> tuple[Any, int | None] | None:
    attempt = WorkflowNodeRun.objects.filter(pk=node_run_id, **move.where())
    if owner is not None:
        attempt = attempt.filter(lease_owner=owner)
    if expired_before is not None:
        attempt = attempt.filter(lease_expires_at__lt=expired_before)
    found = list(attempt.values_list("node_id", "fencing_token")[:1])
    if not found or not attempt.update(**_finish_attempt_changes(move, now, output, error)):
        return None
    return found[0][0], found[0][1]


def _finish_attempt_returning(
    node_run_id: Any,
    move: Move,
    now: datetime,
    *,
    output: Any = None,
    error: str = "",
    owner: str | None,
    expired_before: datetime | None,
) -> tuple[Any, int | None] | None:
    # The compare-and-set and the read of what the attempt held, in one round trip.
    changes = _finish_attempt_changes(move, now, output, error)
    table = WorkflowNodeRun._meta.db_table
    sets = ", ".join(f'"{name}" = %s' for name in changes)
    where = ['"id" = %s', '"status" = %s']
    params: list[Any] = []
    for name, value in changes.items():
        model_field = WorkflowNodeRun._meta.get_field(name)
        assert isinstance(model_field, models.Field)
        params.append(model_field.get_db_prep_save(value, connection))
    params += [node_run_id, move.source]
    if owner is not None:
        where.append('"lease_owner" = %s')
        params.append(owner)
    if expired_before is not None:
        where.append('"lease_expires_at" < %s')
        params.append(expired_before)
    sql = f'UPDATE "{table}" SET {sets} WHERE {" AND ".join(where)} RETURNING "node_id", "fencing_token"'  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return (row[0], row[1]) if row else None


finish_attempt = Statement(_finish_attempt_portable, _finish_attempt_returning)
"""``finish_attempt(node_run_id, move, now, *, output, error, owner, expired_before)``: the attempt's ``move``
(compare-and-set, optionally on the lease owner and on a lease expired before ``expired_before``), setting the
output (COMPLETED) or the error. Returns ``(node_id, fencing_token)``, or None when it was not in the move's
source status (or not ``owner``'s, or its lease was renewed)."""


# --- Completing an attempt, its node and its successors in one statement --------------------------------------


@dataclass(frozen=True)
class Completed:
    """What the one-statement completion did (PostgreSQL)."""

    node_id: Any  # None when the node had already left RUNNING
    run_id: Any
    node_type: str
    fencing_token: int | None
    still_pending: int  # successors that were PENDING (advanced or not): the run cannot be over
    ready: int  # successors made READY
    ready_rows: list[dict[str, Any]]  # their id, type, config and the other ``NodeRef`` columns
    run_info: dict[str, Any]  # workspace_id and the tenant's risk_policy (when some became READY)


def _complete_in_one_statement_pg(node_run_id: Any, output: Any, owner: str | None, now: datetime) -> Completed | None:
    """PostgreSQL: attempt → COMPLETED, node → COMPLETED, successors' pending count decremented (READY at zero),
    as one statement. Returns None when the attempt was not RUNNING (or not ``owner``'s), else ``(node_id,
    run_id, node_type, fencing_token, successors_still_pending, successors_made_ready)`` with ``node_id`` None
    when the node had already left RUNNING. Concurrent predecessors of a join queue on the join's row lock and
    re-evaluate it (READ COMMITTED), so the count stays exact."""
    attempt_table = WorkflowNodeRun._meta.db_table
    node_table = WorkflowNode._meta.db_table
    run_table = WorkflowRun._meta.db_table
    tenant_table = Tenant._meta.db_table
    output_json = json.dumps(output)
    owner_clause = 'AND "lease_owner" = %s ' if owner is not None else ""
    # Only our table names and a fixed clause are interpolated; every value is a parameter.
    sql = (
        f'WITH a AS (UPDATE "{attempt_table}" SET "status" = %s, "output" = %s::jsonb, "finished_at" = %s, '  # noqa: S608
        f'"lease_expires_at" = NULL WHERE "id" = %s AND "status" = %s {owner_clause}'
        f'RETURNING "node_id", "fencing_token"), '
        f'n AS (UPDATE "{node_table}" x SET "status" = %s, "output" = %s::jsonb, "error" = \'\', "finished_at" = %s, '
        f'"updated_at" = %s FROM a WHERE x."id" = a."node_id" AND x."status" = %s '
        f'RETURNING x."id", x."run_id", x."type", x."successors"), '
        f's AS (UPDATE "{node_table}" y SET "pending_dependencies" = y."pending_dependencies" - 1, '
        f'"status" = CASE WHEN y."pending_dependencies" <= 1 THEN %s ELSE y."status" END, "updated_at" = %s '
        f'FROM n, jsonb_array_elements_text(n."successors") AS succ(key) '
        f'WHERE y."run_id" = n."run_id" AND y."key" = succ.key AND y."status" = %s '
        f'RETURNING y."id", y."type", y."status", y."config", y."key", y."successors", y."continue_on_failure", '
        f'y."attempts", y."retry_base") '
        f'SELECT n."id", n."run_id", n."type", a."fencing_token", '
        f'(SELECT count(*) FROM s), (SELECT count(*) FROM s WHERE s."status" = %s), '
        # The successors this made READY, and what claiming them needs: the worker claims them in this transaction.
        f"(SELECT json_agg(json_build_object('id', s.\"id\", 'type', s.\"type\", 'config', s.\"config\", "
        f"'key', s.\"key\", 'successors', s.\"successors\", 'continue_on_failure', s.\"continue_on_failure\", "
        f"'attempts', s.\"attempts\", 'retry_base', s.\"retry_base\")) "
        f'FROM s WHERE s."status" = %s), '
        f"(SELECT json_build_object('workspace_id', r.\"workspace_id\", 'tenant_id', r.\"tenant_id\", "
        f"'risk_policy', t.\"risk_policy\") "
        f'FROM "{run_table}" r JOIN "{tenant_table}" t ON t."id" = r."tenant_id" '
        f'WHERE r."id" = n."run_id" AND EXISTS (SELECT 1 FROM s WHERE s."status" = %s)) '
        f"FROM a LEFT JOIN n ON true"
    )
    attempt, node, unblock = ATTEMPT[AttemptAction.COMPLETE], NODE[NodeAction.COMPLETE], NODE[NodeAction.UNBLOCK]
    params: list[Any] = [attempt.target, output_json, now, node_run_id, attempt.source]
    if owner is not None:
        params.append(owner)
    params += [node.target, output_json, now, now, node.source]
    params += [unblock.target, now, unblock.source]
    params += [unblock.target, unblock.target, unblock.target]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    ready_rows, run_info = (json.loads(v) if isinstance(v, str) else v for v in row[6:8])
    return Completed(
        node_id=row[0],
        run_id=row[1],
        node_type=row[2],
        fencing_token=row[3],
        still_pending=int(row[4] or 0),
        ready=int(row[5] or 0),
        ready_rows=ready_rows or [],
        run_info=run_info or {},
    )


complete_attempt: Statement[[Any, Any, str | None, datetime], Completed | None] = Statement(
    None, _complete_in_one_statement_pg
)
"""``complete_attempt(node_run_id, output, owner, now)``: PostgreSQL only (there is no portable variant: elsewhere
``completion.complete_node_run`` takes the general path, one statement per step); check ``specialised()``."""


# --- Starting attempts (an executor takes them) ---------------------------------------------------------------

ATTEMPT_FIELDS = ("status", "lease_owner", "input", "attempt", "approval_id", "fencing_token", "timeout_at")


def _start_attempts_pg(node_run_ids: list[str], owner: str, remote: bool, now: Any) -> dict[str, dict[str, Any]]:
    """PostgreSQL: the start compare-and-set (RUNNING, no owner yet → ours, with a lease and the timeout from the
    node's config) and the read of everything the attempts need, in one statement for any number of attempts.
    Returns the rows of the attempts taken, by id (the others were not ours to take)."""
    attempt_table = WorkflowNodeRun._meta.db_table
    node_table = WorkflowNode._meta.db_table
    run_table = WorkflowRun._meta.db_table
    timeout_at = (
        "CASE WHEN jsonb_typeof(n.\"config\"->'timeout_seconds') = 'number' "
        "THEN %(now)s + make_interval(secs => (n.\"config\"->>'timeout_seconds')::float8) END"
    )
    lease = timeout_at if remote else f"LEAST(%(lease)s, {timeout_at})"
    node_columns = ", ".join(f'n."{name}" AS "node__{name}"' for name in NODE_FIELDS if name != "run_id")
    # Only our table names and fixed SQL are interpolated; every value is a parameter.
    sql = (
        f'UPDATE "{attempt_table}" a SET "lease_owner" = %(owner)s, "timeout_at" = {timeout_at}, '  # noqa: S608
        f'"lease_expires_at" = {lease}, "started_at" = %(now)s, '
        f'"external_task_id" = CASE WHEN %(remote)s THEN a."id"::text ELSE \'\' END, '
        f'"last_polled_at" = CASE WHEN %(remote)s THEN %(now)s::timestamptz END '
        f'FROM "{node_table}" n JOIN "{run_table}" r ON r."id" = n."run_id" '
        f'WHERE a."id" = ANY(%(ids)s::uuid[]) AND n."id" = a."node_id" AND a."status" = %(running)s '
        f"AND a.\"lease_owner\" = '' "
        f'RETURNING a."id"::text AS "id", a."input", a."attempt", a."approval_id", a."fencing_token", a."timeout_at", '
        f'r."workspace_id" AS "run__workspace_id", n."run_id" AS "node__run_id", {node_columns}'
    )
    params = {
        "owner": owner,
        "now": now,
        "lease": now + timedelta(seconds=settings.NODE_LEASE_SECONDS),
        "remote": remote,
        "ids": [str(i) for i in node_run_ids],
        "running": NodeRunStatus.RUNNING.value,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        rows = [dict(zip(names, found, strict=True)) for found in cursor.fetchall()]
    for row in rows:
        for name in ("input", "node__config", "node__successors"):
            if isinstance(row[name], str):
                row[name] = json.loads(row[name])
    return {row["id"]: row for row in rows}


def _start_attempts_portable(node_run_ids: list[str], owner: str, remote: bool, now: Any) -> dict[str, dict[str, Any]]:
    taken: dict[str, dict[str, Any]] = {}
    for node_run_id in node_run_ids:
        values = (
            WorkflowNodeRun.objects.filter(pk=node_run_id, status=NodeRunStatus.RUNNING, lease_owner="")
            .values(*ATTEMPT_FIELDS, "run__workspace_id", *(f"node__{name}" for name in NODE_FIELDS))
            .first()
        )
        if values is None:
            continue
        timeout = values["node__config"].get("timeout_seconds")
        timeout_at = now + timedelta(seconds=float(timeout)) if timeout else None
        if remote:
            lease_until = timeout_at
        else:
            lease_until = now + timedelta(seconds=settings.NODE_LEASE_SECONDS)
            if timeout_at is not None:
                lease_until = min(lease_until, timeout_at)
        started = WorkflowNodeRun.objects.filter(pk=node_run_id, status=NodeRunStatus.RUNNING, lease_owner="").update(
            lease_owner=owner,
            lease_expires_at=lease_until,
            timeout_at=timeout_at,
            started_at=now,
            external_task_id=str(node_run_id) if remote else "",
            last_polled_at=now if remote else None,
        )
        if started:
            values["timeout_at"] = timeout_at
            values["id"] = str(node_run_id)
            taken[str(node_run_id)] = values
    return taken


start_attempts = Statement(_start_attempts_portable, _start_attempts_pg)
"""``start_attempts(node_run_ids, owner, remote, now)``: the start compare-and-set of each attempt (RUNNING with no
owner yet → ``owner``'s, with a lease and the timeout from its node's config; a ``remote`` one is the task
controller's). Returns the rows of the attempts taken, by id (``ATTEMPT_FIELDS``, ``run__workspace_id`` and the
node's ``node__*`` columns); the others were not ours to take."""


# --- Creating attempts for claimed nodes ----------------------------------------------------------------------


@dataclass(frozen=True)
class NewAttempt:
    """One attempt to create for a claimed READY node (``attempts``: the node's count before this one)."""

    node_id: Any
    run_id: Any
    attempts: int
    attempt_id: Any
    input: dict[str, Any]
    approval_id: str
    fencing_token: int | None
    owner: str  # set: created already started by this worker, with ``lease`` and ``timeout_at``
    lease: datetime
    timeout_at: datetime | None


def _create_attempts_portable(attempts: Sequence[NewAttempt], now: datetime) -> None:
    dispatch = NODE[NodeAction.DISPATCH]
    WorkflowNode.objects.filter(pk__in=[a.node_id for a in attempts], **dispatch.where()).update(
        status=dispatch.target,
        attempts=F("attempts") + 1,
        not_before=None,
        started_at=Coalesce(F("started_at"), now),
        updated_at=now,
    )
    WorkflowNodeRun.objects.bulk_create(
        [
            WorkflowNodeRun(
                id=a.attempt_id,
                node_id=a.node_id,
                run_id=a.run_id,
                attempt=a.attempts + 1,
                status=NodeRunStatus.RUNNING,
                input=a.input,
                lease_owner=a.owner,
                lease_expires_at=a.lease,
                timeout_at=a.timeout_at if a.owner else None,
                approval_id=a.approval_id,
                fencing_token=a.fencing_token,
            )
            for a in attempts
        ]
    )


def _create_attempts_pg(attempts: Sequence[NewAttempt], now: datetime) -> None:
    # One statement: a data-modifying CTE whose INSERT takes the new attempt numbers from the UPDATE's RETURNING.
    dispatch = NODE[NodeAction.DISPATCH]
    node_table = WorkflowNode._meta.db_table
    run_table = WorkflowNodeRun._meta.db_table
    values = ", ".join(
        ["(%s::uuid, %s::uuid, %s::jsonb, %s, %s::bigint, %s, %s::timestamptz, %s::timestamptz)"] * len(attempts)
    )
    params: list[Any] = []
    for a in attempts:
        params += [a.node_id, a.attempt_id, json.dumps(a.input), a.approval_id, a.fencing_token, a.owner]
        params += [a.lease, a.timeout_at]
    params += [dispatch.target, now, now, dispatch.source, NodeRunStatus.RUNNING.value, now]
    # A pre-started attempt (``owner`` set) carries its lease and timeout; a dispatched one gets them when a
    # worker starts it.
    sql = (
        "WITH c(node_id, attempt_id, input, approval_id, fencing_token, owner, lease, timeout_at) "  # noqa: S608
        f"AS (VALUES {values}), "
        f'u AS (UPDATE "{node_table}" n SET "status" = %s, "attempts" = n."attempts" + 1, '
        f'"not_before" = NULL, "started_at" = COALESCE(n."started_at", %s), "updated_at" = %s '
        f'FROM c WHERE n."id" = c.node_id AND n."status" = %s '
        f'RETURNING n."id", n."run_id", n."attempts", c.attempt_id, c.input, c.approval_id, c.fencing_token, '
        f"c.owner, c.lease, c.timeout_at) "
        f'INSERT INTO "{run_table}" ("id", "node_id", "run_id", "attempt", "status", "input", "output", "error", '
        f'"lease_owner", "lease_expires_at", "fencing_token", "timeout_at", "approval_id", "external_task_id", '
        f'"last_polled_at", "started_at", "finished_at") '
        f"SELECT u.attempt_id, u.id, u.run_id, u.attempts, %s, u.input, NULL, '', u.owner, u.lease, "
        f"u.fencing_token, CASE WHEN u.owner <> '' THEN u.timeout_at END, u.approval_id, '', NULL, %s, NULL FROM u"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


create_attempts = Statement(_create_attempts_portable, _create_attempts_pg)
"""``create_attempts(attempts, now)``: the claimed nodes READY → RUNNING (attempt count + 1) and one RUNNING attempt
each, with ``lease`` (a dispatch lease, or the started lease of an attempt created already started by
``owner``, which also gets its ``timeout_at``). Precondition: the nodes' rows are locked by this transaction."""
