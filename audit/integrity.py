"""The hash chain: canonical JSON of an entry and its keyed hash (SPEC §7.2). The verifier is ``audit.verification``.

``hash = HMAC-SHA256(key[key_id], prev_hash ‖ canonical JSON)`` where ‖ is plain concatenation of the 64-hex
``prev_hash`` and the UTF-8 canonical JSON; entries written before keyed chains carry ``key_id = legacy-sha256``
and ``hash = SHA-256(prev_hash ‖ canonical JSON)`` (``audit.keys``). The first entry of a chain has
``prev_hash = GENESIS_HASH`` (64 zeros). The canonical JSON holds every field of the entry except the two hashes,
the key id (the key is bound by the MAC itself) and the derived ``chain``: keys sorted, no whitespace,
non-ASCII kept as UTF-8, ids as strings, ``created_at`` as a microsecond UTC ISO string
(``2026-01-02T03:04:05.678901Z``). Everything in it must read back from the database exactly as it was written,
so ``normalize_json`` is applied to JSON values *before* they are stored (see its docstring).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from .keys import LEGACY_KEY_ID, keyring

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
    "key_id",
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
    """The hash of an entry chained onto ``prev_hash``, under the key its ``key_id`` names (legacy when absent).

    Raises ``audit.keys.UnknownKeyError`` when that key is not configured.
    """
    key_id = fields.get("key_id") or LEGACY_KEY_ID
    return keyring().mac(key_id, prev_hash + canonical_entry(fields))
