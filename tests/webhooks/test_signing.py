"""Standard Webhooks signatures and secrets encrypted at rest."""

from __future__ import annotations

import base64

import pytest
from cryptography.fernet import Fernet, InvalidToken

from orchestrator.lib import crypto
from tests.webhooks.receiver import InvalidSignature, verify
from webhooks import signing

KNOWN_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
KNOWN_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
KNOWN_TS = 1614265330
KNOWN_BODY = '{"test": 2432232314}'
KNOWN_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_standard_webhooks_known_answer_vector() -> None:
    assert signing.sign(KNOWN_SECRET, message_id=KNOWN_ID, timestamp=KNOWN_TS, body=KNOWN_BODY) == KNOWN_SIGNATURE


def test_independent_verifier_accepts_known_vector_and_rejects_tampering() -> None:
    headers = {"webhook-id": KNOWN_ID, "webhook-timestamp": str(KNOWN_TS), "webhook-signature": KNOWN_SIGNATURE}
    verify(headers, KNOWN_BODY.encode(), KNOWN_SECRET, now=KNOWN_TS)
    with pytest.raises(InvalidSignature):
        verify(headers, b'{"test": 2432232315}', KNOWN_SECRET, now=KNOWN_TS)
    with pytest.raises(InvalidSignature):
        verify({**headers, "webhook-id": "msg_other"}, KNOWN_BODY.encode(), KNOWN_SECRET, now=KNOWN_TS)
    with pytest.raises(InvalidSignature, match="tolerance"):
        verify(headers, KNOWN_BODY.encode(), KNOWN_SECRET, now=KNOWN_TS + 301)


def test_header_carries_one_signature_per_secret_space_separated() -> None:
    other = signing.generate_secret()
    header = signing.signature_header([KNOWN_SECRET, other], message_id=KNOWN_ID, timestamp=KNOWN_TS, body=KNOWN_BODY)
    first, second = header.split(" ")
    assert first == KNOWN_SIGNATURE
    assert second.startswith("v1,")
    headers = {"webhook-id": KNOWN_ID, "webhook-timestamp": str(KNOWN_TS), "webhook-signature": header}
    verify(headers, KNOWN_BODY.encode(), other, now=KNOWN_TS)


def test_generated_secret_is_whsec_and_at_least_24_random_bytes() -> None:
    secret = signing.generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24
    assert signing.generate_secret() != secret


def test_encryption_round_trip_and_ciphertext_hides_secret() -> None:
    token = crypto.encrypt(KNOWN_SECRET)
    assert KNOWN_SECRET not in token and "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" not in token
    assert crypto.decrypt(token) == KNOWN_SECRET


def test_encryption_key_rotation_with_a_key_list(settings) -> None:
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.WEBHOOK_ENCRYPTION_KEYS = [old_key]
    token = crypto.encrypt(KNOWN_SECRET)
    settings.WEBHOOK_ENCRYPTION_KEYS = [new_key, old_key]
    assert crypto.decrypt(token) == KNOWN_SECRET  # old ciphertexts still readable
    rotated = crypto.reencrypt(token)
    settings.WEBHOOK_ENCRYPTION_KEYS = [new_key]
    assert crypto.decrypt(rotated) == KNOWN_SECRET
    with pytest.raises(InvalidToken):
        crypto.decrypt(token)


def test_default_key_is_derived_from_secret_key(settings) -> None:
    settings.WEBHOOK_ENCRYPTION_KEYS = []
    token = crypto.encrypt("whsec_x")
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789"
    with pytest.raises(InvalidToken):
        crypto.decrypt(token)
