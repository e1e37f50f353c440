"""The hash chain: canonical JSON of an entry, its hash, and the verifier (SPEC §7.2).

``hash = SHA-256(prev_hash ‖ canonical JSON)`` where ‖ is plain concatenation of the 64-hex ``prev_hash`` and the
UTF-8 canonical JSON; the first entry of a chain has ``prev_hash = GENESIS_HASH`` (64 zeros). The canonical JSON
holds every field of the entry except the two hashes and the derived ``chain``: keys sorted, no whitespace,
non-ASCII kept as UTF-8, ids as strings, ``created_at`` as a microsecond UTC ISO string
(``2026-01-02T03:04:05.678901Z``). Everything in it must read back from the database exactly as it was written,
so ``normalize_json`` is applied to JSON values *before* they are stored (see its docstring).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from .models import GLOBAL_CHAIN, AuditChainHead, AuditCheckpoint, AuditLog, chain_for

GENESIS_HASH = "0" * 64

# The fields, in the order the verifier and the exporters read them. ``hash`` comes last.
ENTRY_FIELDS: tuple[str, ...] = (
    "id",
    "sequence",
    "created_at",
    "tenant_id",
    "event_id",
    "action",
    "actor_type",
    "actor_id",
    "actor_display",
    "ip",
    "user_agent",
    "request_id",
    "resource_type",
    "resource_id",
    "before",
    "after",
    "reason",
    "metadata",
    "prev_hash",
    "hash",
)


def format_timestamp(value: datetime) -> str:
    """Microsecond UTC ISO 8601 with ``Z``: the exact text PostgreSQL and SQLite give back for what we stored."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def clean_text(value: Any, max_length: int | None = None) -> str:
    """A string the database stores verbatim: no NUL (PostgreSQL rejects it), no lone surrogates, cut to size."""
    text = "" if value is None else str(value)
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text[:max_length] if max_length is not None else text


def _normalize_number(value: float) -> int | float:
    if not math.isfinite(value):
        raise ValueError("audit JSON cannot hold NaN or infinity")
    # jsonb stores numbers as decimals: 1e16 comes back as 10000000000000000 (an int), so integral floats are
    # stored as the integer their shortest decimal spells. Non-integral floats round-trip through repr exactly.
    if value.is_integer():
        return int(Decimal(repr(value)))
    return value


def normalize_json(value: Any) -> Any:
    """Turn ``value`` into plain JSON that reads back from jsonb (and SQLite) unchanged.

    Dates, UUIDs and Decimals become strings (Django's JSON encoder), tuples become lists, keys become strings,
    integral floats become ints, text is cleaned with ``clean_text``. NaN and infinity raise ``ValueError``.
    """
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return _normalize_number(value)
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(k): normalize_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalize_json(v) for v in value]
    return normalize_json(json.loads(json.dumps(value, cls=DjangoJSONEncoder)))


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8. ``value`` must already be normalized (``normalize_json``): entries are
    normalized when written, and what the database gives back is then identical, so reads skip that step."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical_entry(fields: dict[str, Any]) -> str:
    """The canonical JSON of one entry, from its field values (as stored, or as parsed back from an export)."""
    created_at = fields["created_at"]
    doc = {
        "id": str(fields["id"]),
        "sequence": int(fields["sequence"]),
        "created_at": created_at if isinstance(created_at, str) else format_timestamp(created_at),
        "tenant_id": str(fields["tenant_id"]) if fields["tenant_id"] not in (None, "") else None,
        "event_id": str(fields["event_id"]),
        "action": fields["action"],
        "actor": {"type": fields["actor_type"], "id": fields["actor_id"], "display": fields["actor_display"]},
        "ip": fields["ip"] or None,
        "user_agent": fields["user_agent"],
        "request_id": fields["request_id"],
        "resource_type": fields["resource_type"],
        "resource_id": fields["resource_id"],
        "before": fields["before"],
        "after": fields["after"],
        "reason": fields["reason"],
        "metadata": fields["metadata"],
    }
    return canonical_json(doc)


def compute_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_entry(fields)).encode("utf-8")).hexdigest()


# --- Verification --------------------------------------------------------------------------------------------


@dataclass
class ChainReport:
    """The outcome of verifying one chain. ``first_bad_sequence`` is None when the chain is intact."""

    chain: str
    tenant_id: str | None
    verified: int = 0
    first_bad_sequence: int | None = None
    error: str = ""
    checkpoint_sequence: int | None = None
    last_sequence: int = 0

    @property
    def ok(self) -> bool:
        return self.first_bad_sequence is None

    def fail(self, sequence: int, error: str) -> ChainReport:
        self.first_bad_sequence, self.error = sequence, error
        return self

    def as_dict(self) -> dict[str, Any]:
        return {
            "chain": self.chain,
            "tenant_id": self.tenant_id,
            "ok": self.ok,
            "verified": self.verified,
            "first_bad_sequence": self.first_bad_sequence,
            "error": self.error,
            "checkpoint_sequence": self.checkpoint_sequence,
            "last_sequence": self.last_sequence,
        }


@dataclass
class VerificationReport:
    chains: list[ChainReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.chains)

    def as_dict(self) -> dict[str, Any]:
        first_bad = next((c for c in self.chains if not c.ok), None)
        return {
            "ok": self.ok,
            "verified": sum(c.verified for c in self.chains),
            "first_bad_sequence": first_bad.first_bad_sequence if first_bad else None,
            "first_bad_chain": first_bad.chain if first_bad else None,
            "chains": [c.as_dict() for c in self.chains],
        }


def _entries(chain: str) -> Iterator[dict[str, Any]]:
    rows = AuditLog.objects.filter(chain=chain).order_by("sequence").values_list(*ENTRY_FIELDS)
    for row in rows.iterator(chunk_size=5000):
        yield dict(zip(ENTRY_FIELDS, row, strict=True))


def verify_chain(chain: str) -> ChainReport:
    """Recompute one chain from its latest checkpoint (or genesis) and report the first broken sequence.

    Detects an edited entry (hash mismatch), a removed one (gap in sequence), reordered ones (the hash covers the
    sequence), an inserted one (the next entry's ``prev_hash`` no longer matches) and entries cut off the end
    (the chain head remembers the last sequence and hash).
    """
    tenant_id = None if chain == GLOBAL_CHAIN else chain
    report = ChainReport(chain=chain, tenant_id=tenant_id)
    checkpoint = AuditCheckpoint.objects.filter(chain=chain).order_by("-sequence").first()
    expected, prev = 1, GENESIS_HASH
    if checkpoint is not None:
        report.checkpoint_sequence = checkpoint.sequence
        expected, prev = checkpoint.sequence + 1, checkpoint.hash
    for entry in _entries(chain):
        sequence = entry["sequence"]
        if sequence != expected:
            return report.fail(min(sequence, expected), f"expected sequence {expected}, found {sequence}")
        if entry["prev_hash"] != prev:
            return report.fail(sequence, "prev_hash does not match the previous entry's hash")
        if compute_hash(prev, entry) != entry["hash"]:
            return report.fail(sequence, "hash does not match the entry's content")
        prev, expected = entry["hash"], expected + 1
        report.verified += 1
        report.last_sequence = sequence
    head = AuditChainHead.objects.filter(chain=chain).first()
    last = expected - 1
    if head is not None:
        if head.last_sequence > last:
            return report.fail(expected, f"entries {expected}..{head.last_sequence} are missing from the end")
        if head.last_sequence < last:
            return report.fail(head.last_sequence + 1, "entries past the chain head were added outside the log")
        if head.last_sequence and head.last_hash != prev:
            return report.fail(last, "the last entry's hash does not match the chain head")
    report.last_sequence = last
    return report


def chains_of(tenant_ids: Iterable[Any] | None) -> list[str]:
    """Chains to verify: those of ``tenant_ids``, or every chain known (heads and entries) when None."""
    if tenant_ids is not None:
        return sorted(chain_for(t) for t in tenant_ids)
    heads = set(AuditChainHead.objects.values_list("chain", flat=True))
    entries = set(AuditLog.objects.order_by().values_list("chain", flat=True).distinct())
    return sorted(heads | entries)


def verify_chains(tenant_ids: Iterable[Any] | None = None) -> VerificationReport:
    """Verify the chains of ``tenant_ids`` (all chains when None)."""
    return VerificationReport(chains=[verify_chain(chain) for chain in chains_of(tenant_ids)])
