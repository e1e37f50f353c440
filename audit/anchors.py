"""Signed checkpoints kept outside the database: one JSON Lines file per chain under ``AUDIT_ANCHOR_DIR``.

An anchor line states, signed with ``AUDIT_CHAIN_KEY``: chain ``chain`` had reached entry ``sequence`` (its head)
with hash ``hash``; every entry at or below ``floor`` may legitimately be gone (the retention purge), and the entry
at ``floor`` had hash ``floor_hash`` (what the first remaining entry links to); entries after ``legacy_through``
are keyed (no ``legacy-sha256`` entry may follow). ``sequence`` never goes backwards in a chain's file. The
signature is the HMAC of the canonical JSON of every other field, so a line cannot be edited, and one written
without the key is rejected.

The file only ever grows (``O_APPEND`` under an exclusive ``flock``, fsynced): in production it lives on a volume
the database credentials cannot reach (a mounted volume, or a directory an object-store sync ships off-host).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

from .integrity import canonical_json
from .keys import Keyring, keyring

VERSION = 1
REASONS = ("schedule", "purge")
_CHAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")
_SIGNED_FIELDS = ("v", "chain", "sequence", "hash", "floor", "floor_hash", "legacy_through", "reason", "at", "key_id")


@dataclass
class Anchor:
    """One anchor line. ``trusted`` is set when parsed: its signature verifies under a configured key."""

    chain: str
    sequence: int
    hash: str
    floor: int
    floor_hash: str
    legacy_through: int
    reason: str
    at: str
    key_id: str = ""
    sig: str = ""
    v: int = VERSION
    line_no: int = 0
    trusted: bool = False
    problem: str = field(default="", repr=False)

    def signed_text(self) -> str:
        data = asdict(self)
        return canonical_json({name: data[name] for name in _SIGNED_FIELDS})

    def as_dict(self) -> dict[str, Any]:
        """The line's JSON object (what is written, emitted in ``audit.checkpoint`` and stored with a purge)."""
        data = asdict(self)
        return {name: data[name] for name in (*_SIGNED_FIELDS, "sig")}

    def line(self) -> str:
        return canonical_json(self.as_dict())


def sign(anchor: Anchor, ring: Keyring | None = None) -> Anchor:
    """Fill in ``key_id`` and ``sig`` with the current key; returns ``anchor``."""
    ring = ring or keyring()
    anchor.key_id = ring.current_id  # signed too: set before the text is taken
    anchor.sig = ring.mac(ring.current_id, anchor.signed_text())
    anchor.trusted = True
    return anchor


def parse(text: str, line_no: int = 0, ring: Keyring | None = None) -> Anchor:
    """Parse one line; the result's ``trusted``/``problem`` say whether its signature verifies.

    A line that is not an anchor at all comes back with sequence 0 and the problem set.
    """
    ring = ring or keyring()
    try:
        data = json.loads(text)
        anchor = Anchor(
            chain=str(data["chain"]),
            sequence=int(data["sequence"]),
            hash=str(data["hash"]),
            floor=int(data["floor"]),
            floor_hash=str(data["floor_hash"]),
            legacy_through=int(data["legacy_through"]),
            reason=str(data["reason"]),
            at=str(data["at"]),
            key_id=str(data.get("key_id") or ""),
            sig=str(data.get("sig") or ""),
            v=int(data.get("v", 0)),
            line_no=line_no,
        )
    except (ValueError, KeyError, TypeError):
        return Anchor("", 0, "", 0, "", 0, "", "", line_no=line_no, problem="is not a valid anchor line")
    if not anchor.sig:
        anchor.problem = "is not signed"
    elif anchor.key_id not in ring.keys:
        anchor.problem = f"is signed with key id {anchor.key_id!r}, which is not configured"
    elif not ring.check(anchor.key_id, anchor.signed_text(), anchor.sig):
        anchor.problem = "has a signature that does not verify (forged or edited)"
    else:
        anchor.trusted = True
    return anchor


def path_for(chain: str) -> Path:
    """The anchor file of ``chain`` (chain names are tenant UUIDs or ``global``; anything else is refused)."""
    if not _CHAIN_NAME.match(chain):
        raise ValueError(f"not a chain name: {chain!r}")
    return Path(settings.AUDIT_ANCHOR_DIR) / f"{chain}.jsonl"


def append(anchor: Anchor) -> None:
    """Append ``anchor`` durably to its chain's file (created with its directory when missing).

    Side effects: takes an exclusive ``flock`` on the file for the write, fsyncs it. ``OSError`` propagates: a
    purge must not delete anything that could not be anchored.
    """
    path = path_for(anchor.chain)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, (anchor.line() + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def read(chain: str, ring: Keyring | None = None) -> list[Anchor]:
    """Every line of ``chain``'s anchor file, in order, each checked (an empty list when there is no file)."""
    ring = ring or keyring()
    try:
        text = path_for(chain).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [parse(line, n, ring) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]


def last_trusted(chain: str) -> Anchor | None:
    """The newest line of ``chain`` whose signature verifies (None when none does)."""
    return next((a for a in reversed(read(chain)) if a.trusted), None)


def known_chains() -> set[str]:
    """Chains that have an anchor file: verified even when the database no longer knows them at all."""
    directory = Path(settings.AUDIT_ANCHOR_DIR)
    if not directory.is_dir():
        return set()
    return {p.stem for p in directory.glob("*.jsonl") if _CHAIN_NAME.match(p.stem)}
