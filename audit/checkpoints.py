"""Signed checkpoints of the chain heads: on a schedule and before every retention purge batch.

A checkpoint is an anchor line (``audit.anchors``) appended to the anchor store and emitted as an
``audit.checkpoint`` event, so webhook subscribers of the tenant keep their own signed copy too.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from orchestrator import events

from . import anchors
from .integrity import format_timestamp
from .keys import LEGACY_KEY_ID
from .models import GLOBAL_CHAIN, AuditChainHead, AuditLog

logger = logging.getLogger(__name__)

CHECKPOINT_EVENT = "audit.checkpoint"


def _first_anchor_bounds(chain: str, head_sequence: int) -> tuple[int, int]:
    """``(floor, legacy_through)`` for a chain anchored for the first time (e.g. right after the upgrade).

    Entries already gone below the first remaining one were removed before anchors existed (legacy purges), and
    the legacy entries present are those written before keyed chains: both are taken as they are now.
    """
    entries = AuditLog.objects.filter(chain=chain)
    lowest = entries.aggregate(lo=Min("sequence"))["lo"]
    floor = (lowest - 1) if lowest is not None else head_sequence
    legacy = entries.filter(key_id=LEGACY_KEY_ID).aggregate(hi=Max("sequence"))["hi"]
    return floor, legacy or 0


def anchor_chain(chain: str, *, sequence: int, entry_hash: str, reason: str) -> anchors.Anchor:
    """Sign "``chain`` had ``sequence`` with ``entry_hash``", append it to the anchor store, emit the event.

    Preconditions: inside a transaction holding ``chain``'s head lock (so anchors of one chain are written in
    order); ``reason`` is ``purge`` when the caller is about to delete every entry up to ``sequence``.
    Side effects: one fsynced line in the anchor file (``OSError`` propagates), one ``audit.checkpoint`` event
    (an audit entry appended to the same chain, plus webhook outbox rows for the tenant's chains).
    """
    previous = anchors.last_trusted(chain)
    if previous is not None:
        floor, legacy_through = previous.floor, previous.legacy_through
    else:
        floor, legacy_through = _first_anchor_bounds(chain, sequence)
    if reason == "purge":
        floor = max(floor, sequence)
    anchor = anchors.sign(
        anchors.Anchor(
            chain=chain,
            sequence=sequence,
            hash=entry_hash,
            floor=floor,
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
        anchor_chain(chain, sequence=head.last_sequence, entry_hash=head.last_hash, reason="schedule")
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
