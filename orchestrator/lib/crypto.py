"""Encryption at rest of secrets (webhook secrets; idempotency records of responses that carry a secret):
Fernet (AES-128-CBC + HMAC-SHA256) through ``MultiFernet``.

Keys come from ``WEBHOOK_ENCRYPTION_KEYS`` (comma-separated Fernet keys, newest first: the first encrypts, all
decrypt, so a key is rotated by prepending a new one and running ``manage.py reencrypt_webhook_secrets``). Without
it a key is derived from ``SECRET_KEY`` with HKDF-SHA256, so changing ``SECRET_KEY`` without setting
``WEBHOOK_ENCRYPTION_KEYS`` to the old derived key makes stored secrets unreadable (see docs/decisions.md).
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_HKDF_INFO = b"workflow-orchestrator/webhooks/secret-encryption/v1"


def derive_key(secret_key: str) -> bytes:
    """The Fernet key derived from ``SECRET_KEY`` (urlsafe base64 of 32 bytes)."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(secret_key.encode("utf-8"))
    return base64.urlsafe_b64encode(raw)


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    material = [k.encode("ascii") for k in keys] or [derive_key(secret_key)]
    return MultiFernet([Fernet(k) for k in material])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.WEBHOOK_ENCRYPTION_KEYS), settings.SECRET_KEY)


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode("utf-8")).decode("ascii")


def encrypt_bytes(plaintext: bytes) -> bytes:
    return fernet().encrypt(plaintext)


def decrypt_bytes(token: bytes) -> bytes:
    """Raises ``cryptography.fernet.InvalidToken`` when no configured key opens ``token``."""
    return fernet().decrypt(token)


def decrypt(token: str) -> str:
    return fernet().decrypt(token.encode("ascii")).decode("utf-8")


def reencrypt(token: str) -> str:
    """The same plaintext under the primary key (``MultiFernet.rotate``)."""
    return fernet().rotate(token.encode("ascii")).decode("ascii")
