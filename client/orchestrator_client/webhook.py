"""Verify the orchestrator's signed webhook deliveries (Standard Webhooks: ``webhook-id``, ``webhook-timestamp``,
``webhook-signature`` = space-separated ``v1,<base64 HMAC-SHA256>`` of ``"{id}.{timestamp}.{body}"``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

SECRET_PREFIX = "whsec_"  # noqa: S105  (a prefix, not a secret)


class WebhookVerificationError(Exception):
    """The delivery is not signed by this secret, or too old/new (replay protection)."""


class Webhook:
    """``Webhook(secret).verify(body, headers)`` → the event (a dict), or raises ``WebhookVerificationError``.

    ``secret`` is the endpoint's ``whsec_…`` secret. During a secret rotation deliveries carry one signature per
    live secret; any match is enough. ``tolerance`` bounds the clock skew accepted (seconds).
    """

    def __init__(self, secret: str, *, tolerance: int = 300) -> None:
        try:
            self._key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
        except ValueError as exc:
            raise ValueError("not a webhook secret (whsec_ + base64)") from exc
        self.tolerance = tolerance

    def sign(self, *, message_id: str, timestamp: int, body: bytes | str) -> str:
        payload = body.encode() if isinstance(body, str) else body
        digest = hmac.new(self._key, f"{message_id}.{timestamp}.".encode() + payload, hashlib.sha256).digest()
        return "v1," + base64.b64encode(digest).decode()

    def verify(self, body: bytes | str, headers: Mapping[str, str], *, now: float | None = None) -> dict[str, Any]:
        lowered = {k.lower(): v for k, v in headers.items()}
        message_id = lowered.get("webhook-id", "")
        raw_timestamp = lowered.get("webhook-timestamp", "")
        signatures = lowered.get("webhook-signature", "")
        if not message_id or not raw_timestamp or not signatures:
            raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
        try:
            timestamp = int(raw_timestamp)
        except ValueError as exc:
            raise WebhookVerificationError("webhook-timestamp is not an integer") from exc
        if abs((time.time() if now is None else now) - timestamp) > self.tolerance:
            raise WebhookVerificationError("webhook-timestamp outside the tolerance (replayed or clock skew)")
        expected = self.sign(message_id=message_id, timestamp=timestamp, body=body)
        if not any(hmac.compare_digest(expected, candidate) for candidate in signatures.split()):
            raise WebhookVerificationError("no valid signature")
        try:
            event = json.loads(body)
        except ValueError as exc:
            raise WebhookVerificationError("the body is not JSON") from exc
        if not isinstance(event, dict):
            raise WebhookVerificationError("the body is not a JSON object")
        return event
