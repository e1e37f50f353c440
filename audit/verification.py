"""The verifier (SPEC §7.2): recompute each chain and hold it to the signed anchors kept outside the database.

For each chain it checks, naming the first bad sequence and why:

* the anchor file: every line signed with a configured key (an unsigned, edited or forged line fails; a line
  signed with a retired key is skipped once a later line is signed with a configured one), and the anchored
  sequence never going backwards;
* the checkpoint rows: each signed (a forged row cannot excuse a deletion), unless at or below the signed floor;
* truncation: no entry missing above the anchored floor (the last legitimate purge), at the start, in the middle
  or at the end (the chain head and the newest anchor both remember how far the chain reached);
* every entry walked: contiguous sequence, ``prev_hash`` linking, its HMAC under the key its ``key_id`` names
  (so an entry rewritten and the chain recomputed without the key fails), no ``legacy-sha256`` entry after the
  anchored legacy prefix, and the hash every anchor signed for its sequence.

By default the walk starts at the newest trusted anchor (older entries are vouched for by its signed hash);
``full=True`` walks everything that is left. When the quick walk fails at the anchored entry itself it re-walks
in full, so the report names the first rewritten entry rather than the anchor that exposed it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Max, Min

from . import anchors
from .integrity import ENTRY_FIELDS, GENESIS_HASH, canonical_entry
from .keys import LEGACY_KEY_ID, Keyring, UnknownKeyError, keyring
from .models import GLOBAL_CHAIN, AuditChainHead, AuditCheckpoint, AuditLog, chain_for


@dataclass
class ChainReport:
    """The outcome of verifying one chain. ``first_bad_sequence`` is None when the chain is intact."""

    chain: str
    tenant_id: str | None
    full: bool = False
    verified: int = 0
    first_bad_sequence: int | None = None
    error: str = ""
    checkpoint_sequence: int | None = None
    anchor_sequence: int | None = None
    start_sequence: int | None = None
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
            "full": self.full,
            "verified": self.verified,
            "first_bad_sequence": self.first_bad_sequence,
            "error": self.error,
            "checkpoint_sequence": self.checkpoint_sequence,
            "anchor_sequence": self.anchor_sequence,
            "start_sequence": self.start_sequence,
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


@dataclass
class _Trust:
    """What the signed evidence says about a chain: the floor, the legacy prefix, hashes per sequence."""

    newest: anchors.Anchor | None = None
    floor: int = 0
    legacy_through: int | None = None  # None: no anchor yet, legacy entries are taken as they are
    hashes: dict[int, str] = field(default_factory=dict)


def _read_anchors(report: ChainReport, ring: Keyring) -> _Trust | None:
    """Check the anchor file; the trusted evidence, or None after failing ``report``."""
    trust = _Trust()
    try:
        lines = anchors.read(report.chain, ring)
    except OSError as exc:  # the check cannot be made: a failure, not an error page
        report.fail(0, f"the anchor store cannot be read ({exc.strerror}); sequence 0 stands for no entry")
        return None
    last_trusted = max((n for n, a in enumerate(lines) if a.trusted), default=-1)
    for n, anchor in enumerate(lines):
        previous = trust.newest
        if not anchor.trusted and n < last_trusted and anchor.key_id and anchor.key_id not in ring.keys:
            continue  # signed with a retired key and superseded by a line signed with a current one
        if not anchor.trusted or anchor.chain != report.chain:
            where = anchor.sequence or (previous.sequence + 1 if previous else 1)
            problem = anchor.problem or f"names chain {anchor.chain!r}"
            report.fail(where, f"anchor line {anchor.line_no} {problem}")
            return None
        if previous is not None and anchor.sequence < previous.sequence:
            report.fail(
                anchor.sequence + 1,
                f"chain head went backwards: anchor line {anchor.line_no} signs #{anchor.sequence} after "
                f"#{previous.sequence} was anchored",
            )
            return None
        if trust.hashes.get(anchor.sequence, anchor.hash) != anchor.hash:
            report.fail(anchor.sequence, f"anchor line {anchor.line_no} disagrees with an earlier anchor's hash")
            return None
        trust.newest, trust.floor = anchor, max(trust.floor, anchor.floor)
        trust.legacy_through = anchor.legacy_through
        trust.hashes[anchor.sequence] = anchor.hash
        if anchor.floor and anchor.floor_hash:
            trust.hashes.setdefault(anchor.floor, anchor.floor_hash)
    return trust


def _read_checkpoints(report: ChainReport, trust: _Trust, ring: Keyring) -> bool:
    """Fold signed checkpoint rows into ``trust``; fail ``report`` (False) on a forged one above the floor."""
    has_keyed = AuditLog.objects.filter(chain=report.chain).exclude(key_id=LEGACY_KEY_ID).exists
    for checkpoint in AuditCheckpoint.objects.filter(chain=report.chain).order_by("sequence"):
        anchor = anchors.parse(checkpoint.anchor, ring=ring) if checkpoint.anchor else None
        signed = (
            anchor is not None
            and anchor.trusted
            and (anchor.chain, anchor.floor, anchor.floor_hash)
            == (checkpoint.chain, checkpoint.sequence, checkpoint.hash)
        )
        if signed:
            trust.floor = max(trust.floor, checkpoint.sequence)
            trust.hashes.setdefault(checkpoint.sequence, checkpoint.hash)
        elif checkpoint.sequence <= trust.floor:
            pass  # a purge from before signed checkpoints, covered by a signed floor since
        elif trust.newest is None and not checkpoint.anchor and not has_keyed():
            trust.floor = checkpoint.sequence  # a legacy chain never anchored yet: as good as it ever was
        else:
            report.fail(
                trust.floor + 1,
                f"checkpoint #{checkpoint.sequence} is not signed by a configured key (forged): it cannot "
                f"excuse removing entries {trust.floor + 1}..{checkpoint.sequence}",
            )
            return False
        report.checkpoint_sequence = checkpoint.sequence
    return True


def _entries(chain: str, start: int) -> Iterator[dict[str, Any]]:
    rows = AuditLog.objects.filter(chain=chain, sequence__gte=start).order_by("sequence").values_list(*ENTRY_FIELDS)
    for row in rows.iterator(chunk_size=5000):
        yield dict(zip(ENTRY_FIELDS, row, strict=True))


def _walk(report: ChainReport, trust: _Trust, start: int, ring: Keyring) -> str | None:
    """Recompute entries from ``start`` on; the last hash, or None after failing ``report``."""
    expected = start
    prev = GENESIS_HASH if start == 1 else trust.hashes.get(start - 1)
    keyed_seen = False
    for entry in _entries(report.chain, start):
        sequence, key_id = entry["sequence"], entry["key_id"]
        if sequence != expected:
            report.fail(expected, f"entry #{expected} is missing (found #{sequence} next)")
            return None
        if prev is not None and entry["prev_hash"] != prev:
            report.fail(sequence, "prev_hash does not match the previous entry's hash")
            return None
        if key_id == LEGACY_KEY_ID:
            if keyed_seen or (trust.legacy_through is not None and sequence > trust.legacy_through):
                report.fail(sequence, "entry is chained with legacy-sha256 where the chain is keyed (a rewrite)")
                return None
        else:
            keyed_seen = True
        try:
            recomputed = ring.mac(key_id, entry["prev_hash"] + canonical_entry(entry))
        except UnknownKeyError:
            report.fail(sequence, f"entry is keyed with {key_id!r}, which is not configured (a previous key?)")
            return None
        if recomputed != entry["hash"]:
            report.fail(sequence, "hash does not match the entry's content under its key (rewritten)")
            return None
        if trust.hashes.get(sequence, entry["hash"]) != entry["hash"]:
            report.fail(sequence, f"entry #{sequence} does not match its signed checkpoint (rewritten)")
            return None
        prev, expected = entry["hash"], expected + 1
        report.verified += 1
    report.last_sequence = expected - 1
    return prev if prev is not None else ""


def verify_chain(chain: str, *, full: bool = False, ring: Keyring | None = None) -> ChainReport:
    """Verify one chain against its anchors; see the module docstring for what is checked."""
    ring = ring or keyring()
    report = ChainReport(chain=chain, tenant_id=None if chain == GLOBAL_CHAIN else chain, full=full)
    trust = _read_anchors(report, ring)
    if trust is None or not _read_checkpoints(report, trust, ring):
        return report
    newest, floor = trust.newest, trust.floor
    report.anchor_sequence = newest.sequence if newest else None
    bounds = AuditLog.objects.filter(chain=chain).aggregate(lo=Min("sequence"), hi=Max("sequence"))
    lo, hi = bounds["lo"], bounds["hi"]
    head = AuditChainHead.objects.filter(chain=chain).first()
    head_sequence = head.last_sequence if head else 0
    if newest is not None and head_sequence < newest.sequence:
        return report.fail(
            head_sequence + 1,
            f"chain head went backwards: the database head is #{head_sequence} but #{newest.sequence} was anchored",
        )
    if lo is None:
        if head_sequence > floor:
            return report.fail(floor + 1, f"entries {floor + 1}..{head_sequence} are missing (the chain is empty)")
        report.last_sequence = head_sequence
        return report
    if lo > floor + 1:
        return report.fail(floor + 1, f"entries {floor + 1}..{lo - 1} are missing (purged only through #{floor})")
    if newest is not None and newest.sequence > hi:
        return report.fail(hi + 1, f"entries {hi + 1}..{newest.sequence} are missing (#{newest.sequence} anchored)")
    start = lo if full or newest is None else max(lo, newest.sequence)
    report.start_sequence = start
    last_hash = _walk(report, trust, start, ring)
    if last_hash is None:
        if not full and report.first_bad_sequence == start and start > lo:
            return verify_chain(chain, full=True, ring=ring)  # name the first rewritten entry, not the anchor
        return report
    last = report.last_sequence
    if head is not None:
        if head.last_sequence > last:
            return report.fail(last + 1, f"entries {last + 1}..{head.last_sequence} are missing from the end")
        if head.last_sequence < last:
            return report.fail(head.last_sequence + 1, "entries past the chain head were added outside the log")
        if head.last_hash != last_hash:
            return report.fail(last, "the last entry's hash does not match the chain head")
    return report


def chains_of(tenant_ids: Iterable[Any] | None) -> list[str]:
    """Chains to verify: those of ``tenant_ids``, or every chain known when None: from heads, entries and anchor
    files (so a chain wiped from the database entirely is still checked against its anchors)."""
    if tenant_ids is not None:
        return sorted(chain_for(t) for t in tenant_ids)
    heads = set(AuditChainHead.objects.values_list("chain", flat=True))
    entries = set(AuditLog.objects.order_by().values_list("chain", flat=True).distinct())
    return sorted(heads | entries | anchors.known_chains())


def verify_chains(tenant_ids: Iterable[Any] | None = None, *, full: bool = False) -> VerificationReport:
    """Verify the chains of ``tenant_ids`` (all chains when None), from the newest anchor or in ``full``."""
    ring = keyring()
    return VerificationReport(chains=[verify_chain(chain, full=full, ring=ring) for chain in chains_of(tenant_ids)])
