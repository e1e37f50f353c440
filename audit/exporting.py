"""Streaming export of audit entries as CSV or JSON Lines (SPEC §7.2), in constant memory and without a row cap.

Rows come out in chain order (tenant chain, then sequence) with every field, including ``prev_hash`` and
``hash``, so an export can be verified offline with ``audit.integrity.compute_hash``.

Two producers, one format:
* PostgreSQL: the filtered query runs inside ``COPY (…) TO STDOUT`` and PostgreSQL's bytes are passed through in
  64 KiB chunks (no Python object per row, the speed of ``psql``). Formula escaping and timestamp formatting are
  done in the SELECT.
* Other databases (SQLite): a server-side iterator over ``values_list`` rows, written with ``csv``/``json``.
Both are tested to give the same values.

CSV cells that start with ``= + - @``, tab or carriage return are prefixed with ``'`` (OWASP CSV injection); so
are cells that already start with ``'``, which makes the escaping reversible: a reader drops one leading ``'``.
JSON columns (``before``, ``after``, ``metadata``) hold JSON text; an empty ``tenant_id`` or ``ip`` means null.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections, transaction
from django.db.models import QuerySet, TextField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

from .integrity import ENTRY_FIELDS, format_timestamp
from .models import AuditLog

FORMATS = ("csv", "jsonl")
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}
CHUNK_BYTES = 64 * 1024
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "'")
JSON_FIELDS = frozenset({"before", "after", "metadata"})
# Free-text columns that get formula escaping in CSV (ids, hashes, numbers and timestamps never need it).
TEXT_FIELDS = frozenset(
    {
        "action",
        "actor_type",
        "actor_id",
        "actor_display",
        "ip",
        "user_agent",
        "request_id",
        "resource_type",
        "resource_id",
        "reason",
    }
)
CSV_HEADER = ",".join(ENTRY_FIELDS) + "\n"


def escape_cell(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def unescape_cell(value: str) -> str:
    """The inverse of ``escape_cell`` (for readers of our CSV)."""
    return value[1:] if value.startswith("'") else value


def ordered(entries: QuerySet[AuditLog]) -> QuerySet[AuditLog]:
    return entries.order_by("chain", "sequence")


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


# --- Python producer -----------------------------------------------------------------------------------------


_NEEDS_QUOTES = re.compile(r'[,"\r\n]')
# How each column of ENTRY_FIELDS is written: JSON columns arrive as their stored JSON text (no parse + dump).
_KINDS = tuple(
    "json" if n in JSON_FIELDS else "time" if n == "created_at" else "text" if n in TEXT_FIELDS else "plain"
    for n in ENTRY_FIELDS
)
_COLUMNS = tuple(f"{n}_json" if n in JSON_FIELDS else n for n in ENTRY_FIELDS)


def _csv_cell(value: str) -> str:
    # Quote like PostgreSQL's CSV writer: when the text holds a delimiter, quote, CR or LF, or is empty.
    if not value or _NEEDS_QUOTES.search(value):
        return '"' + value.replace('"', '""') + '"'
    return value


def _csv_line(values: tuple[Any, ...]) -> str:
    cells: list[str] = []
    for kind, value in zip(_KINDS, values, strict=True):
        if kind == "json":
            cells.append(_csv_cell(escape_cell(value or "null")))
        elif kind == "time":
            cells.append(format_timestamp(value))
        elif value is None:
            cells.append("")  # NULL: an empty, unquoted cell
        elif kind == "text":
            cells.append(_csv_cell(escape_cell(str(value))))
        else:
            cells.append(str(value))
    return ",".join(cells) + "\n"


def _jsonl_line(values: tuple[Any, ...]) -> str:
    row = dict(zip(ENTRY_FIELDS, values, strict=True))
    text = {n: _dump(row[n]) for n in TEXT_FIELDS}
    tenant = f'"{row["tenant_id"]}"' if row["tenant_id"] is not None else "null"
    return (
        f'{{"id":"{row["id"]}","sequence":{row["sequence"]},"created_at":"{format_timestamp(row["created_at"])}",'
        f'"tenant_id":{tenant},"event_id":"{row["event_id"]}","action":{text["action"]},'
        f'"actor":{{"type":{text["actor_type"]},"id":{text["actor_id"]},"display":{text["actor_display"]}}},'
        f'"ip":{text["ip"]},"user_agent":{text["user_agent"]},"request_id":{text["request_id"]},'
        f'"resource_type":{text["resource_type"]},"resource_id":{text["resource_id"]},'
        f'"before":{row["before"] or "null"},"after":{row["after"] or "null"},"reason":{text["reason"]},'
        f'"metadata":{row["metadata"] or "null"},"key_id":"{row["key_id"]}",'
        f'"prev_hash":"{row["prev_hash"]}","hash":"{row["hash"]}"}}\n'
    )


def _python_chunks(entries: QuerySet[AuditLog], fmt: str) -> Iterator[bytes]:
    raw_json = {f"{n}_json": Cast(n, TextField()) for n in JSON_FIELDS}
    rows = ordered(entries).annotate(**raw_json).values_list(*_COLUMNS).iterator(chunk_size=2000)
    line = _csv_line if fmt == "csv" else _jsonl_line
    buffer = io.StringIO()
    if fmt == "csv":
        buffer.write(CSV_HEADER)
    for values in rows:
        buffer.write(line(values))
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")


# --- PostgreSQL producer -------------------------------------------------------------------------------------


def _col(name: str) -> str:
    # Qualified: filters such as ``tenant__slug`` join other tables that have an ``id`` too.
    return f'"{AuditLog._meta.db_table}"."{name}"'


_PG_TIMESTAMP = f"""to_char({_col("created_at")} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
_PG_TEXT = {
    "id": f"{_col('id')}::text",
    "created_at": _PG_TIMESTAMP,
    "tenant_id": f"{_col('tenant_id')}::text",
    "event_id": f"{_col('event_id')}::text",
    "ip": f"host({_col('ip')})",
    **{name: f"coalesce({_col(name)}::text, 'null')" for name in JSON_FIELDS},
}
_SQL_QUOTE = "'"
_PG_PREFIXES = ", ".join(
    "E'\\t'" if p == "\t" else "E'\\r'" if p == "\r" else "''''" if p == _SQL_QUOTE else f"'{p}'"
    for p in FORMULA_PREFIXES
)


def _pg_escaped(expr: str) -> str:
    return f"(CASE WHEN left({expr}, 1) IN ({_PG_PREFIXES}) THEN '''' || {expr} ELSE {expr} END)"


def _pg_csv_columns() -> list[str]:
    columns = []
    for name in ENTRY_FIELDS:
        expr = _PG_TEXT.get(name, _col(name))
        columns.append(_pg_escaped(expr) if name in TEXT_FIELDS or name in JSON_FIELDS else expr)
    return columns


def _pg_json_object() -> str:
    pairs = []
    for name in ENTRY_FIELDS:
        if name == "actor_type":
            actor = ", ".join(f"'{k}', {_col('actor_' + k)}" for k in ("type", "id", "display"))
            pairs.append(f"'actor', json_build_object({actor})")
        elif name not in ("actor_id", "actor_display"):
            expr = _PG_TIMESTAMP if name == "created_at" else f"host({_col('ip')})" if name == "ip" else _col(name)
            pairs.append(f"'{name}', {expr}")
    return f"json_build_object({', '.join(pairs)})::text"


def copy_statement(entries: QuerySet[AuditLog], fmt: str) -> tuple[str, tuple[Any, ...]]:
    """``COPY (filtered, ordered SELECT) TO STDOUT`` producing exactly the export's rows (header excluded).

    Raises ``EmptyResultSet`` when the filters can match nothing (e.g. an empty ``IN`` list).
    """
    if fmt == "csv":
        exprs = _pg_csv_columns()
        options = "FORMAT csv"
    else:
        exprs = [_pg_json_object()]
        # One JSON document per line: JSON text never holds a raw control character, so with these (unused)
        # delimiter and quote bytes PostgreSQL's CSV writer passes it through untouched.
        options = "FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02'"
    # The expressions are constants of this module (no input reaches them); filters stay bound parameters.
    annotated = ordered(entries).annotate(**{f"c{i}": RawSQL(expr, ()) for i, expr in enumerate(exprs)})  # noqa: S611
    sql, params = annotated.values_list(*(f"c{i}" for i in range(len(exprs)))).query.sql_with_params()
    return f"COPY ({sql}) TO STDOUT WITH ({options})", tuple(params)


def _copy_chunks(entries: QuerySet[AuditLog], fmt: str) -> Iterator[bytes]:
    statement: str | None
    try:
        statement, params = copy_statement(entries, fmt)  # compiled now, so a mistake fails before streaming
    except EmptyResultSet:  # nothing can match: only the header
        statement, params = None, ()
    return _relay_copy(entries.db, statement, params, header=fmt == "csv")


def _relay_copy(alias: str, statement: str | None, params: tuple[Any, ...], *, header: bool) -> Iterator[bytes]:
    if header:
        yield CSV_HEADER.encode("utf-8")
    if statement is None:
        return
    connection = connections[alias]
    connection.ensure_connection()
    raw: Any = connection.connection
    buffer = bytearray()
    # In a transaction of its own (a savepoint inside one): a client that goes away mid-stream makes psycopg
    # cancel the COPY, and only this block is rolled back, not the connection's outer transaction.
    with transaction.atomic(using=alias), raw.cursor() as cursor, cursor.copy(statement, params) as copy:
        for block in copy:  # PostgreSQL sends one message per row: gather them into chunks
            buffer += block
            if len(buffer) >= CHUNK_BYTES:
                yield bytes(buffer)
                buffer.clear()
    if buffer:
        yield bytes(buffer)


def export_chunks(entries: QuerySet[AuditLog], fmt: str, *, use_copy: bool | None = None) -> Iterator[bytes]:
    """The export of ``entries`` (already scoped and filtered) as a stream of byte chunks.

    ``use_copy`` defaults to "when the database is PostgreSQL"; tests force the Python producer to compare both.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    if use_copy is None:
        use_copy = connections[entries.db].vendor == "postgresql"
    return _copy_chunks(entries, fmt) if use_copy else _python_chunks(entries, fmt)
