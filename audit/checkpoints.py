"""Signed checkpoints of the chain heads: on a schedule and before every retention purge batch.

A checkpoint is an anchor line (``audit.anchors``) appended to the anchor store and emitted as an
``audit.checkpoint`` event, so webhook subscribers of the tenant keep their own signed copy too.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from orchestrator import events

from . import anchors
from .integrity import format_timestamp
from .keys import LEGACY_KEY_ID
from .models import GLOBAL_CHAIN, AuditChainHead, AuditLog

logger = logging.getLogger(__name__)

CHECKPOINT_EVENT = "audit.checkpoint"


def _first_anchor_bounds(chain: str, head_sequence: int, head_hash: str) -> tuple[int, str, int]:
    """``(floor, floor_hash, legacy_through)`` for a chain anchored for the first time (e.g. after the upgrade).

    Entries already gone below the first remaining one were removed before anchors existed (legacy purges), and
    the legacy entries present are those written before keyed chains: both are taken as they are now.
    """
    entries = AuditLog.objects.filter(chain=chain)
    lowest = entries.order_by("sequence").values_list("sequence", "prev_hash").first()
    floor, floor_hash = (lowest[0] - 1, lowest[1]) if lowest else (head_sequence, head_hash)
    legacy = entries.filter(key_id=LEGACY_KEY_ID).aggregate(hi=Max("sequence"))["hi"]
    return floor, floor_hash if floor else "", legacy or 0


def anchor_chain(
    head: AuditChainHead, *, reason: str = "schedule", purged: tuple[int, str] | None = None
) -> anchors.Anchor:
    """Sign "``head.chain`` reached ``head``", append it to the anchor store, emit the ``audit.checkpoint`` event.

    Preconditions: inside a transaction holding the chain's head lock (``head`` is that locked row), so a chain's
    anchors are written in order and never go backwards. ``purged`` is ``(sequence, hash)`` of the last entry
    the caller (the retention purge) is about to delete: it becomes the signed floor.
    Side effects: one fsynced line in the anchor file (``OSError`` propagates), one ``audit.checkpoint`` event
    (an audit entry appended to the same chain, plus webhook outbox rows for the tenant's subscribers).
    """
    chain = head.chain
    previous = anchors.last_trusted(chain)
    if previous is not None:
        floor, floor_hash, legacy_through = previous.floor, previous.floor_hash, previous.legacy_through
    else:
        floor, floor_hash, legacy_through = _first_anchor_bounds(chain, head.last_sequence, head.last_hash)
    if purged is not None and purged[0] > floor:
        floor, floor_hash = purged
    anchor = anchors.sign(
        anchors.Anchor(
            chain=chain,
            sequence=head.last_sequence,
            hash=head.last_hash,
            floor=floor,
            floor_hash=floor_hash,
            legacy_through=legacy_through,
            reason=reason,
            at=format_timestamp(timezone.now()),
        )
    )
    anchors.append(anchor)
    events.emit(
        CHECKPOINT_EVENT,
        tenant_id=None if chain == GLOBAL_CHAIN else chain,
        resource_type="audit_chain",
        resource_id=chain,
        data=anchor.as_dict(),
    )
    return anchor


def _checkpoint_one(chain: str) -> bool:
    """Anchor ``chain``'s head when it moved since its last anchor; True when a line was written."""
    with transaction.atomic():
        head = AuditChainHead.objects.select_for_update().get(chain=chain)
        previous = anchors.last_trusted(chain)
        if head.last_sequence == 0:
            return False
        if previous is not None:
            if head.last_sequence < previous.sequence:
                # Never sign a head that went backwards: the verifier reports it; a new anchor would hide it.
                logger.error("audit chain %s: head #%s behind anchor #%s", chain, head.last_sequence, previous.sequence)
                return False
            if head.last_sequence == previous.sequence:
                return False
            # The only entry since the last anchor is that anchor's own checkpoint event: nothing new to sign.
            newest = AuditLog.objects.filter(chain=chain, sequence=head.last_sequence).values_list("action", flat=True)
            if head.last_sequence == previous.sequence + 1 and newest.first() == CHECKPOINT_EVENT:
                return False
        anchor_chain(head)
        return True


def checkpoint_chains() -> int:
    """Anchor the head of every chain that moved since its last anchor; returns how many were anchored.

    Each chain is its own short transaction. A chain that cannot be anchored (its head went backwards) is logged
    and skipped; ``OSError`` from the anchor store propagates (the task fails loudly and beat retries next run).
    """
    written = 0
    for chain in AuditChainHead.objects.order_by("chain").values_list("chain", flat=True):
        written += _checkpoint_one(chain)
    return written
