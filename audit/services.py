"""Writes to the audit log: appending entries (only ``events.emit`` calls ``record_event``) and the retention purge.

An event's entry is built when it is emitted and linked into its chain in the transaction's pre-commit step
(``append_entries``, through ``orchestrator.lib.precommit``): the chain head is locked there, not at the first
event, so the writers of a tenant queue for one statement and a commit rather than for the rest of each other's
transactions (issue 22; figures in bench/README.md, reasoning in docs/decisions.md).

Nothing else writes here. Entries are never updated; the purge is the only deletion. It first anchors a signed
checkpoint outside the database (``audit.checkpoints``), records it as an ``AuditCheckpoint`` row, and only then
deletes; on PostgreSQL the triggers (migration 0006) refuse any DELETE not covered by such a row.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models.sql import InsertQuery
from django.utils import timezone

from orchestrator import metrics
from orchestrator.lib import context, precommit, units

from . import checkpoints
from .integrity import ENTRY_FIELDS, GENESIS_HASH, canonical_entry, clean_text, normalize_json
from .keys import keyring
from .models import AuditChainHead, AuditCheckpoint, AuditLog, chain_for

if TYPE_CHECKING:
    from orchestrator.events import Recorded


def _clean_ip(value: str | None) -> str | None:
    """The address as PostgreSQL's ``inet`` prints it back (compressed IPv6), or None when it is not one."""
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def _worker_request_id() -> str:
    """In a Celery worker there is no HTTP request: the task id is the best correlation id there is."""
    from celery import current_task

    request = getattr(current_task, "request", None) if current_task else None
    task_id = getattr(request, "id", None)
    return f"task:{task_id}"[:64] if task_id else ""


def _lock_chain_head(chain: str) -> AuditChainHead:
    """Lock the chain's head row (creating it for the first entry); held until the transaction ends.

    One row lock per chain is all the serialization writers need: the next sequence and hash come from the head,
    so two writers can never both extend the same tip. On SQLite ``FOR UPDATE`` is a no-op and the database's
    single writer (IMMEDIATE transactions) serializes appends.
    """
    head = AuditChainHead.objects.select_for_update().filter(chain=chain).first()
    if head is None:
        AuditChainHead.objects.bulk_create([AuditChainHead(chain=chain)], ignore_conflicts=True)
        head = AuditChainHead.objects.select_for_update().get(chain=chain)
    return head


PRECOMMIT_KIND = "audit.entries"


def append_entries(entries: Sequence[AuditLog]) -> None:
    """Link ``entries`` (built by ``record_event``, not saved yet) into their chains and insert them.

    Precondition: inside the transaction that recorded them, as its last step (the pre-commit step of
    ``orchestrator.lib.precommit`` calls this right before COMMIT). Per chain, in sorted chain order (so two
    transactions touching the same chains always lock their heads in the same order and cannot deadlock): lock the
    head, number the chain's entries on from it in the order they were recorded, chain each one's HMAC onto the
    previous, insert them in one statement, advance the head. The head stays locked until the commit, so a chain's
    order is its commit order. Side effects: fills in each entry's ``sequence``, ``prev_hash``, ``key_id`` and
    ``hash`` (the objects ``record_event`` returned).
    """
    by_chain: dict[str, list[AuditLog]] = {}
    for entry in entries:
        by_chain.setdefault(entry.chain, []).append(entry)
    ring = keyring()
    for chain in sorted(by_chain):
        head = _lock_chain_head(chain)
        sequence, prev_hash = head.last_sequence, head.last_hash or GENESIS_HASH
        for entry in by_chain[chain]:
            sequence += 1
            entry.sequence, entry.prev_hash, entry.key_id = sequence, prev_hash, ring.current_id
            fields = {name: getattr(entry, name) for name in ENTRY_FIELDS}
            entry.hash = prev_hash = ring.mac(entry.key_id, entry.prev_hash + canonical_entry(fields))
        _insert_and_advance(chain, by_chain[chain], sequence, prev_hash)


def _insert_and_advance(chain: str, entries: list[AuditLog], last_sequence: int, last_hash: str) -> None:
    """Insert ``entries`` and move ``chain``'s head to ``(last_sequence, last_hash)``.

    On PostgreSQL both are one statement (the INSERT as a data-modifying CTE of the head's UPDATE): the head is
    locked for the round trips between the lock and the commit, so each one saved shortens every writer's queue
    (issue 22). The INSERT is Django's own, compiled from the model (same columns and value preparation as
    ``bulk_create``). Elsewhere (SQLite) two ORM statements.
    """
    if connection.vendor != "postgresql":
        AuditLog.objects.bulk_create(entries)
        AuditChainHead.objects.filter(chain=chain).update(last_sequence=last_sequence, last_hash=last_hash)
        return
    query = InsertQuery(AuditLog)
    objs: list[models.Model] = list(entries)
    query.insert_values([f for f in AuditLog._meta.concrete_fields if not f.generated], objs)
    [(insert_sql, insert_params)] = query.get_compiler(connection=connection).as_sql()
    head_table = connection.ops.quote_name(AuditChainHead._meta.db_table)
    sql = (
        f"WITH appended AS ({insert_sql}) "  # noqa: S608 - Django's compiled INSERT and a table name from metadata
        f"UPDATE {head_table} SET last_sequence = %s, last_hash = %s WHERE chain = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, (*insert_params, last_sequence, last_hash, chain))
        if cursor.rowcount != 1:  # the head was locked by this transaction a moment ago: it cannot be gone
            raise RuntimeError(f"audit chain head {chain!r} vanished while appending")
    for entry in entries:
        entry._state.adding, entry._state.db = False, connection.alias


def record_event(record: Recorded) -> AuditLog:
    """Record one entry for ``record.event`` (with its actor, resource, before/after, reason and metadata) in its
    tenant's chain and return it.

    Precondition: called inside the transaction of the change it records (``events.emit`` does this), so the
    entry commits or rolls back with it. The request context (request id, client address, user agent) is taken
    from ``orchestrator.lib.context``; in workers the actor is ``system`` and the request id the task id.
    Side effects: on PostgreSQL the entry is *deferred* to the transaction's pre-commit step
    (``append_entries``, issue 22): the chain head is locked only there, for one statement (INSERT and head
    UPDATE) and the commit, instead of from the first event to the end of the transaction; the returned object gets its
    ``sequence`` and ``hash`` then, and the entry is not in the table before that. A savepoint rolled back drops
    its entries with it. Where nothing runs before a commit (SQLite, or no transaction open) the entry is
    appended at once (head locked until the transaction ends). Bumps ``audit_logs_total{action}``. JSON values
    are normalized (``integrity.normalize_json``); NaN or infinity in them raises ``ValueError`` here, never at
    the commit.
    """
    ctx = context.current()
    event, actor = record.event, record.actor
    fields: dict[str, Any] = {
        "created_at": event.created_at,
        "tenant_id": event.tenant_id,
        "event_id": event.id,
        "action": clean_text(event.type, 64),
        "actor_type": actor.type,
        "actor_id": clean_text(actor.id, 64),
        "actor_display": clean_text(actor.display, 200),
        "ip": _clean_ip(ctx.ip),
        "user_agent": clean_text(ctx.user_agent, 400),
        "request_id": clean_text(ctx.request_id or _worker_request_id(), 64),
        "resource_type": clean_text(record.resource_type, 64),
        "resource_id": clean_text(record.resource_id, 64),
        "before": normalize_json(record.before),
        "after": normalize_json(record.after),
        "reason": clean_text(record.reason),
        "metadata": normalize_json({**(record.metadata or {}), "data": event.data}),
    }
    entry = AuditLog(chain=chain_for(event.tenant_id), **fields)
    if not precommit.defer(PRECOMMIT_KIND, entry):
        with transaction.atomic(savepoint=False):
            append_entries([entry])
    metrics.audit_logs_total.labels(action=event.type).inc()
    return entry


# --- Retention (SPEC §7.3) -------------------------------------------------------------------------------------


def _purge_batch(*, chain: str, cutoff: datetime, batch_size: int) -> int:
    """Remove up to ``batch_size`` of the oldest entries of ``chain`` created before ``cutoff``; returns how many.

    Only a prefix of the chain is removed (up to the first entry that is not yet due), so what remains is still
    a contiguous chain. Before the delete the last removed sequence and hash are anchored (signed, appended to
    the anchor store, emitted as ``audit.checkpoint``) and recorded as a checkpoint row: nothing is deleted that
    is not at or below an anchored checkpoint (an anchor store that cannot be written aborts the batch).
    """
    with transaction.atomic():
        head = _lock_chain_head(chain)  # one purge per chain at a time; appends to this chain wait for the batch
        entries = AuditLog.objects.filter(chain=chain)
        first = entries.order_by("sequence").values_list("sequence", flat=True).first()
        if first is None:
            return 0
        window = entries.filter(sequence__lt=first + batch_size)
        first_kept = window.filter(created_at__gte=cutoff).order_by("sequence").values_list("sequence", flat=True)
        upto = first_kept.first()
        last_due = (upto - 1) if upto is not None else first + batch_size - 1
        last = entries.filter(sequence__lte=last_due).order_by("-sequence").values_list("sequence", "hash").first()
        if last is None:
            return 0
        doomed = entries.filter(sequence__lte=last[0])
        anchor = checkpoints.anchor_chain(head, reason="purge", purged=(last[0], last[1]))
        AuditCheckpoint.objects.create(
            chain=chain, sequence=last[0], hash=last[1], removed=doomed.count(), cutoff=cutoff, anchor=anchor.line()
        )
        removed, _ = doomed.delete()
        return removed


def purge_expired_entries(*, now: datetime | None = None, batch_size: int = 5000) -> int:
    """Delete entries older than ``AUDIT_LOG_RETENTION_DAYS`` (0 keeps everything); returns how many went.

    Each batch is its own transaction: anchored checkpoint first, then the delete, so ``audit_verify`` keeps
    passing. Each batch appends one ``audit.checkpoint`` entry to its chain (never due in the same run).
    """
    days = settings.AUDIT_LOG_RETENTION_DAYS
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    total = 0
    # Each chain (a tenant's, or the global one) is a unit (issue 16): an error is counted and logged and the other
    # chains are still purged. No quarantine: the log is append-only, so the chain is left as it is and retried at
    # the next run (its batches already purged stay purged; each batch is its own savepoint).
    guard = units.Guard(RETENTION_JOB)
    for chain in AuditChainHead.objects.order_by("chain").values_list("chain", flat=True):
        with guard.unit(units.Unit(key=f"chain:{chain}", ids={"chain": chain}), sql=False):
            while True:
                removed = _purge_batch(chain=chain, cutoff=cutoff, batch_size=batch_size)
                total += removed
                if removed < batch_size:
                    break
    return total


RETENTION_JOB = "audit.retention"
