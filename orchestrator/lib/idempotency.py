"""The ``Idempotency-Key`` header (SPEC §2, IETF draft semantics), once, for every API POST.

Same caller + same key + same request → the stored response is replayed with ``Idempotency-Replayed: true``;
a different request under the same key → 422 ``idempotency_key_reused``; the first request still running → 409
``idempotency_in_progress``. Keys are scoped to the caller (API key or user) and kept ``IDEMPOTENCY_TTL_HOURS``;
``prune_expired`` removes old ones (run periodically). Server errors (5xx) and throttling are not stored, so the
client can retry them with the same key.

Stored response bodies are encrypted with the webhook-secret keys (``orchestrator.lib.crypto``): some responses
carry a secret shown once (a new API key, a webhook secret), and a database dump must not show it. Replays decrypt;
a record no configured key opens any more answers 409 ``idempotency_record_unreadable`` (send a new key).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from orchestrator import metrics
from orchestrator.lib import crypto
from orchestrator.lib.auth import bearer_token, lookup_api_key
from orchestrator.lib.problems import problem_response
from orchestrator.models import IdempotentRequest

HEADER = "HTTP_IDEMPOTENCY_KEY"
MAX_KEY_LENGTH = 255
API_PREFIX = "/api/v1/"
_SEALED = b"fernet:"  # prefix of an encrypted stored body (records written before encryption have none)


def seal(body: bytes) -> bytes:
    """The response body as stored: encrypted, so secrets in it are not plaintext at rest."""
    return _SEALED + crypto.encrypt_bytes(body)


def unseal(stored: bytes) -> bytes:
    """The response body to replay; raises ``InvalidToken`` when no configured key opens it."""
    return crypto.decrypt_bytes(stored[len(_SEALED) :]) if stored.startswith(_SEALED) else stored


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """SHA-256 of method, path and body; JSON bodies are canonicalised so key order and spacing don't matter."""
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError, RecursionError):  # the view answers 400 for these bodies
        canonical = body
    digest = hashlib.sha256()
    for part in (method.encode(), b"\n", path.encode(), b"\n", canonical):
        digest.update(part)
    return digest.hexdigest()


def caller_scope(request: HttpRequest) -> str | None:
    """``api_key:<id>`` / ``user:<id>`` for the request, or None when it will be refused as anonymous anyway."""
    token = bearer_token(request.META)
    if token is not None:
        api_key = lookup_api_key(token, request)
        # Cache for DRF's authentication class so the key is looked up once per request.
        request._api_key = api_key  # type: ignore[attr-defined]
        return f"api_key:{api_key.pk}" if api_key is not None else None
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return None


def prune_expired() -> int:
    """Delete records past their TTL; returns how many were removed."""
    deleted, _ = IdempotentRequest.objects.filter(expires_at__lt=timezone.now()).delete()
    return deleted


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.META.get(HEADER)
        if key is None or request.method != "POST" or not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        try:
            return self._handle(request, key.strip())
        except DatabaseError:
            return problem_response(
                status=503,
                code="service_unavailable",
                title="Service unavailable",
                detail="The database is unavailable; retry shortly with the same Idempotency-Key.",
                headers={"Retry-After": "5"},
            )

    def _handle(self, request: HttpRequest, key: str) -> HttpResponse:
        if not key or len(key) > MAX_KEY_LENGTH:
            return problem_response(
                status=400,
                code="validation_error",
                title="Invalid input",
                detail=f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.",
                errors=[{"field": "Idempotency-Key", "message": "Invalid length."}],
            )
        scope = caller_scope(request)
        if scope is None:
            return self.get_response(request)  # the view answers 401
        fingerprint = request_fingerprint(request.method or "POST", request.path, request.body)
        record, outcome = self._claim(scope, key, fingerprint)
        if outcome == "mismatch":
            metrics.idempotency_checks_total.labels(result="mismatch").inc()
            return problem_response(
                status=422,
                code="idempotency_key_reused",
                title="Idempotency key reused",
                detail="This Idempotency-Key was used with a different request.",
            )
        if outcome == "conflict":
            metrics.idempotency_checks_total.labels(result="conflict").inc()
            return problem_response(
                status=409,
                code="idempotency_in_progress",
                title="Request in progress",
                detail="A request with this Idempotency-Key is still being processed.",
                headers={"Retry-After": "1"},
            )
        if outcome == "replay":
            try:
                body = unseal(bytes(record.response_body or b""))
            except InvalidToken:
                return problem_response(
                    status=409,
                    code="idempotency_record_unreadable",
                    title="Stored response unreadable",
                    detail="The stored response for this Idempotency-Key can no longer be decrypted; "
                    "send the request again with a new key.",
                )
            metrics.idempotency_checks_total.labels(result="replay").inc()
            response = HttpResponse(
                body,
                status=record.response_status or 200,
                content_type=record.response_content_type or "application/json",
            )
            response["Idempotency-Replayed"] = "true"
            return response
        metrics.idempotency_checks_total.labels(result="new").inc()
        try:
            response = self.get_response(request)
        except BaseException:
            IdempotentRequest.objects.filter(pk=record.pk).delete()
            raise
        if response.status_code >= 500 or response.status_code == 429 or response.streaming:
            IdempotentRequest.objects.filter(pk=record.pk).delete()
            return response
        IdempotentRequest.objects.filter(pk=record.pk).update(
            status=IdempotentRequest.Status.COMPLETED,
            response_status=response.status_code,
            response_body=seal(bytes(response.content)),
            response_content_type=response.get("Content-Type", "application/json"),
        )
        return response

    def _claim(self, scope: str, key: str, fingerprint: str) -> tuple[IdempotentRequest, str]:
        """Insert the IN_PROGRESS record, or classify the existing one: replay, conflict or mismatch."""
        now = timezone.now()
        existing: IdempotentRequest | None = None
        for _ in range(3):
            try:
                with transaction.atomic():
                    record = IdempotentRequest.objects.create(
                        caller=scope,
                        key=key,
                        fingerprint=fingerprint,
                        created_at=now,
                        expires_at=now + timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS),
                    )
                return record, "new"
            except IntegrityError:
                pass
            existing = IdempotentRequest.objects.filter(caller=scope, key=key).first()
            if existing is None:
                continue  # removed between our insert and read (expired or 5xx); try again
            if existing.expires_at < now:
                IdempotentRequest.objects.filter(pk=existing.pk, expires_at__lt=now).delete()
                continue
            if existing.fingerprint != fingerprint:
                return existing, "mismatch"
            if existing.status == IdempotentRequest.Status.COMPLETED:
                return existing, "replay"
            stale_before = now - settings.IDEMPOTENCY_IN_PROGRESS_TIMEOUT
            if existing.created_at < stale_before:
                # The first request's process died mid-flight: take the key over (one winner by CAS).
                taken = IdempotentRequest.objects.filter(
                    pk=existing.pk,
                    status=IdempotentRequest.Status.IN_PROGRESS,
                    created_at=existing.created_at,
                ).update(created_at=now)
                if taken:
                    existing.created_at = now
                    return existing, "new"
            return existing, "conflict"
        # Three consecutive races with deletions: tell the client to retry.
        return existing or IdempotentRequest(caller=scope, key=key), "conflict"  # pragma: no cover
