"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

Secrets are ``whsec_`` + base64 of 32 random bytes; the HMAC key is the decoded bytes. A signature is
``v1,`` + base64(HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}")); several are space-separated.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
SECRET_BYTES = 32


def generate_secret() -> str:
    """A new signing secret, shown to the subscriber once."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_key_bytes(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret (the prefix is optional, as the spec's libraries accept)."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, *, message_id: str, timestamp: int, body: str | bytes) -> str:
    """``v1,<base64>`` for one secret."""
    payload = body.encode("utf-8") if isinstance(body, str) else body
    to_sign = f"{message_id}.{timestamp}.".encode() + payload
    digest = hmac.new(secret_key_bytes(secret), to_sign, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_header(secrets_: Iterable[str], *, message_id: str, timestamp: int, body: str | bytes) -> str:
    """The ``webhook-signature`` value: one signature per live secret, space-separated."""
    return " ".join(sign(s, message_id=message_id, timestamp=timestamp, body=body) for s in secrets_)


def headers_for(secrets_: Iterable[str], *, message_id: str, timestamp: int, body: str | bytes) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets_, message_id=message_id, timestamp=timestamp, body=body),
    }
