"""Writes to the audit log: appending entries (only ``events.emit`` calls ``record_event``) and the retention purge.

Nothing else writes here. Entries are never updated; the purge is the only deletion. It first anchors a signed
checkpoint outside the database (``audit.checkpoints``), records it as an ``AuditCheckpoint`` row, and only then
deletes; on PostgreSQL the triggers (migration 0006) refuse any DELETE not covered by such a row.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from orchestrator import metrics
from orchestrator.lib import context, units

from . import checkpoints
from .integrity import GENESIS_HASH, canonical_entry, clean_text, normalize_json
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


def record_event(record: Recorded) -> AuditLog:
    """Append one entry for ``record.event`` (with its actor, resource, before/after, reason and metadata) to its
    tenant's chain and return it.

    Precondition: called inside the transaction of the change it records (``events.emit`` does this), so the
    entry commits or rolls back with it. The request context (request id, client address, user agent) is taken
    from ``orchestrator.lib.context``; in workers the actor is ``system`` and the request id the task id.
    Side effects: locks the chain head until the caller's transaction ends (so emit events last in a
    transaction), writes one entry, advances the head, bumps ``audit_logs_total{action}``. JSON values are
    normalized (``integrity.normalize_json``); NaN or infinity in them raises ``ValueError``.
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
    chain = chain_for(event.tenant_id)
    entry = AuditLog(chain=chain, **fields)
    with transaction.atomic(savepoint=False):
        # Everything above is computed before the lock, so it is held for three short statements.
        head = _lock_chain_head(chain)
        entry.sequence = head.last_sequence + 1
        entry.prev_hash = head.last_hash or GENESIS_HASH
        ring = keyring()
        entry.key_id = ring.current_id
        canonical = canonical_entry({"id": entry.id, "sequence": entry.sequence, **fields})
        entry.hash = ring.mac(entry.key_id, entry.prev_hash + canonical)
        entry.save(force_insert=True)
        AuditChainHead.objects.filter(chain=chain).update(last_sequence=entry.sequence, last_hash=entry.hash)
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
