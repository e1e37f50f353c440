"""Poison one unit at the database level (issue 16): a trigger that refuses a statement on one row.

``poison(Model, value)`` makes the database raise on an UPDATE (or INSERT) of the row(s) whose ``column`` is
``value``, optionally only when the new ``status`` is the given one, exactly as a value the database refuses
would. Works on PostgreSQL (a PL/pgSQL trigger, ``RAISE EXCEPTION``) and SQLite (``RAISE(ABORT, …)``). Used as a
context manager; the trigger is dropped on exit (and inside a test transaction it is rolled back anyway).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection, models


def _literal(value: Any) -> str:
    if isinstance(value, uuid.UUID):
        text = str(value) if connection.vendor == "postgresql" else value.hex
    else:
        text = str(value)
    return "'" + text.replace("'", "''") + "'"


@contextmanager
def poison(
    model: type[models.Model],
    value: Any,
    *,
    column: str = "id",
    event: str = "UPDATE",
    status: str | None = None,
) -> Iterator[str]:
    """Refuse ``event`` on ``model``'s rows whose ``column`` equals ``value`` (and whose new ``status`` is
    ``status``, when given). Yields the trigger's name."""
    table = model._meta.db_table
    name = f"test_poison_{uuid.uuid4().hex[:12]}"
    row = "OLD" if event == "UPDATE" else "NEW"
    condition = f'{row}."{column}" = {_literal(value)}'
    if status is not None:
        condition += f' AND NEW."status" = {_literal(status)}'
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS "
                f"$$ BEGIN RAISE EXCEPTION 'poisoned unit (test trigger {name})'; END $$"
            )
            cursor.execute(
                f'CREATE TRIGGER {name} BEFORE {event} ON "{table}" FOR EACH ROW WHEN ({condition}) '
                f"EXECUTE FUNCTION {name}()"
            )
        else:
            cursor.execute(
                f'CREATE TRIGGER {name} BEFORE {event} ON "{table}" FOR EACH ROW WHEN {condition} '
                f"BEGIN SELECT RAISE(ABORT, 'poisoned unit (test trigger {name})'); END"
            )
    try:
        yield name
    finally:
        if not connection.needs_rollback:
            with connection.cursor() as cursor:
                if connection.vendor == "postgresql":
                    cursor.execute(f'DROP TRIGGER IF EXISTS {name} ON "{table}"')
                    cursor.execute(f"DROP FUNCTION IF EXISTS {name}()")
                else:
                    cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
