"""The audit chain keys: which key signs new entries and checkpoints, and which ones the verifier accepts.

``AUDIT_CHAIN_KEY`` signs everything new; ``AUDIT_CHAIN_PREVIOUS_KEYS`` (comma-separated) are still accepted so a
rotation never breaks verification of what the old key signed. Neither is ever stored in the database: an entry
and an anchor only record the *key id*, a fingerprint derived from the key (``hmac-`` + 16 hex of a SHA-256 over a
fixed label and the key), so operators never have to keep ids and keys in step.

Entries written before keyed chains existed carry the key id ``legacy-sha256``: their hash is the plain SHA-256
the first version of the chain used (see docs/audit-keys.md, "Upgrading").
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings

LEGACY_KEY_ID = "legacy-sha256"
KEY_ID_MAX_LENGTH = 32


class UnknownKeyError(LookupError):
    """A hash or signature names a key id that is neither the current nor a previous key."""

    def __init__(self, key_id: str) -> None:
        super().__init__(key_id)
        self.key_id = key_id


def key_id_for(secret: str) -> str:
    """The public id of ``secret``: stable, short, and useless for guessing a high-entropy key."""
    digest = hashlib.sha256(b"orchestrator-audit-key-id\x00" + secret.encode("utf-8")).hexdigest()
    return f"hmac-{digest[:16]}"


@dataclass(frozen=True)
class Keyring:
    """The current key (id and bytes) and every key accepted for verification, by id."""

    current_id: str
    keys: dict[str, bytes]

    def mac(self, key_id: str, message: str) -> str:
        """HMAC-SHA256 of ``message`` under ``key_id`` (plain SHA-256 for ``legacy-sha256``), as 64 hex.

        Raises ``UnknownKeyError`` when the key id is not configured.
        """
        data = message.encode("utf-8")
        if key_id == LEGACY_KEY_ID:
            return hashlib.sha256(data).hexdigest()
        key = self.keys.get(key_id)
        if key is None:
            raise UnknownKeyError(key_id)
        return hmac.new(key, data, hashlib.sha256).hexdigest()

    def check(self, key_id: str, message: str, signature: str) -> bool:
        """True when ``signature`` is ``message``'s HMAC under the (keyed, configured) ``key_id``."""
        if key_id == LEGACY_KEY_ID or key_id not in self.keys:
            return False  # a signature is never legacy: unkeyed hashes prove nothing about who wrote them
        return hmac.compare_digest(self.mac(key_id, message), signature)


@lru_cache(maxsize=4)
def _build(current: str, previous: tuple[str, ...]) -> Keyring:
    keys = {key_id_for(secret): secret.encode("utf-8") for secret in (*previous, current)}
    return Keyring(current_id=key_id_for(current), keys=keys)


def keyring() -> Keyring:
    """The keyring of the current settings (cached per key set, so tests that override settings see theirs)."""
    return _build(settings.AUDIT_CHAIN_KEY, tuple(settings.AUDIT_CHAIN_PREVIOUS_KEYS))
