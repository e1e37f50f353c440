"""Idempotency-Key on POST (SPEC §2): replay, 409 while in progress, 422 on a different body, TTL."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from orchestrator.lib.idempotency import prune_expired, request_fingerprint
from orchestrator.models import ApiKey, IdempotentRequest, Role
from tests.conftest import assert_problem

pytestmark = pytest.mark.django_db

BODY = {"name": "ci", "scopes": ["workflows"]}


@pytest.fixture
def operator(tenant, member_client):
    return member_client(tenant, Role.OPERATOR)


def post(client, body, key="key-1"):
    return client.post("/api/v1/api-keys", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_same_key_same_body_replays_stored_response(operator) -> None:
    first = post(operator, BODY)
    second = post(operator, BODY)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotency-Replayed"] == "true"
    assert "Idempotency-Replayed" not in first
    assert ApiKey.objects.count() == 1


def test_key_order_and_whitespace_do_not_change_the_fingerprint() -> None:
    assert request_fingerprint("POST", "/p", b'{"a": 1, "b": 2}') == request_fingerprint("POST", "/p", b'{"b":2,"a":1}')
    assert request_fingerprint("POST", "/p", b'{"a": 1}') != request_fingerprint("POST", "/q", b'{"a": 1}')


def test_same_key_different_body_is_422(operator) -> None:
    post(operator, BODY)
    assert_problem(post(operator, {**BODY, "name": "other"}), 422, "idempotency_key_reused")
    assert ApiKey.objects.count() == 1


def test_same_key_while_first_in_progress_is_409(operator) -> None:
    caller = f"user:{operator.user.pk}"
    fingerprint = request_fingerprint("POST", "/api/v1/api-keys", b'{"name":"ci","scopes":["workflows"]}')
    now = timezone.now()
    IdempotentRequest.objects.create(
        caller=caller, key="key-1", fingerprint=fingerprint, created_at=now, expires_at=now + timedelta(hours=1)
    )
    response = post(operator, BODY)
    assert_problem(response, 409, "idempotency_in_progress")
    assert ApiKey.objects.count() == 0


def test_stale_in_progress_record_of_a_crashed_request_is_taken_over(operator) -> None:
    caller = f"user:{operator.user.pk}"
    fingerprint = request_fingerprint("POST", "/api/v1/api-keys", b'{"name":"ci","scopes":["workflows"]}')
    long_ago = timezone.now() - timedelta(minutes=10)
    IdempotentRequest.objects.create(
        caller=caller,
        key="key-1",
        fingerprint=fingerprint,
        created_at=long_ago,
        expires_at=long_ago + timedelta(days=1),
    )
    assert post(operator, BODY).status_code == 201


def test_keys_are_scoped_per_caller(tenant, member_client) -> None:
    first, second = member_client(tenant, Role.OPERATOR), member_client(tenant, Role.OPERATOR)
    assert post(first, BODY).status_code == 201
    other = post(second, BODY)
    assert other.status_code == 201 and "Idempotency-Replayed" not in other
    assert ApiKey.objects.count() == 2


def test_expired_key_is_processed_again_and_pruned(operator, settings) -> None:
    assert post(operator, BODY).status_code == 201
    with time_machine.travel(timezone.now() + timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS + 1)):
        again = post(operator, BODY)
        assert again.status_code == 201 and "Idempotency-Replayed" not in again
        assert ApiKey.objects.count() == 2
    with time_machine.travel(timezone.now() + timedelta(hours=2 * settings.IDEMPOTENCY_TTL_HOURS + 2)):
        assert prune_expired() == 1
    assert IdempotentRequest.objects.count() == 0


def test_client_errors_are_replayed_but_server_errors_are_not_stored(operator) -> None:
    bad = post(operator, {"name": "x", "scopes": ["nope"]}, key="bad")
    assert bad.status_code == 400
    assert post(operator, {"name": "x", "scopes": ["nope"]}, key="bad")["Idempotency-Replayed"] == "true"


def test_overlong_key_is_rejected(operator) -> None:
    assert_problem(post(operator, BODY, key="k" * 300), 400, "validation_error")


def test_anonymous_request_with_key_is_plain_401() -> None:
    from rest_framework.test import APIClient

    response = APIClient().post("/api/v1/api-keys", BODY, format="json", HTTP_IDEMPOTENCY_KEY="x")
    assert_problem(response, 401, "not_authenticated")
    assert IdempotentRequest.objects.count() == 0


def _raw_rows() -> list[bytes]:
    """Every stored response body as the database holds it (what a dump would show)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT response_body FROM orchestrator_idempotentrequest")
        return [bytes(row[0]) for row in cursor.fetchall() if row[0] is not None]


def test_new_api_key_in_a_stored_response_is_not_plaintext_at_rest(operator) -> None:
    first = post(operator, BODY)
    secret = first.json()["key"]
    rows = _raw_rows()
    assert rows
    assert all(secret.encode() not in row and b'"key"' not in row for row in rows)
    replay = post(operator, BODY)
    assert replay["Idempotency-Replayed"] == "true"
    assert replay.json()["key"] == secret  # replays still work: decrypted on the way out


def test_new_webhook_secret_in_a_stored_response_is_not_plaintext_at_rest(tenant, key_client) -> None:
    client = key_client(tenant, ["webhooks"])
    body = {"url": "https://example.com/h", "events": ["*"]}
    created = client.post("/api/v1/webhooks", body, format="json", HTTP_IDEMPOTENCY_KEY="hook-1")
    assert created.status_code == 201, created.content
    rotated = client.post(
        f"/api/v1/webhooks/{created.json()['id']}/rotate-secret", {}, format="json", HTTP_IDEMPOTENCY_KEY="rot-1"
    )
    assert rotated.status_code == 200, rotated.content
    for secret in (created.json()["secret"], rotated.json()["secret"]):
        assert all(secret.encode() not in row for row in _raw_rows())
        assert all(secret.split("_", 1)[1].encode() not in row for row in _raw_rows())


def test_record_no_key_opens_any_more_is_409_asking_for_a_new_key(operator, settings) -> None:
    from cryptography.fernet import Fernet

    post(operator, BODY)
    settings.WEBHOOK_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # the old key is gone
    assert_problem(post(operator, BODY), 409, "idempotency_record_unreadable")
