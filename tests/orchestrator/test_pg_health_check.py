"""The cheap connection health check (orchestrator/lib/postgresql): an idle connection the server has not ended is
used without a ``SELECT 1``; one the server ended (a restart, ``pg_terminate_backend``) is found unusable before
a request uses it, and replaced."""

from __future__ import annotations

import select
import time
from typing import Any

import psycopg
import pytest
from django.db import connection
from django_prometheus.db.backends.postgresql import base as parent

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")


def round_trips(monkeypatch: Any) -> list[int]:
    calls: list[int] = []
    original = parent.DatabaseWrapper.is_usable
    monkeypatch.setattr(parent.DatabaseWrapper, "is_usable", lambda self: calls.append(1) or original(self))
    return calls


def test_an_idle_live_connection_is_usable_without_a_round_trip(monkeypatch) -> None:
    connection.ensure_connection()
    calls = round_trips(monkeypatch)
    assert connection.is_usable() is True
    assert calls == []


def test_a_connection_in_a_transaction_is_checked_by_select_1(monkeypatch) -> None:
    calls = round_trips(monkeypatch)
    from django.db import transaction

    with transaction.atomic():
        connection.cursor().execute("SELECT 1")
        assert connection.is_usable() is True
    assert calls == [1]


def test_a_connection_the_server_ended_is_unusable_and_replaced() -> None:
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    # Wait (with a deadline) until the termination has reached our socket, as it has by the next request.
    poller = select.poll()
    poller.register(connection.connection.fileno(), select.POLLIN)
    deadline = time.monotonic() + 10
    while not poller.poll(50) and time.monotonic() < deadline:
        pass
    assert connection.is_usable() is False
    # What a request does at its first query: the failed check replaces the connection.
    connection.health_check_enabled, connection.health_check_done = True, False
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid
