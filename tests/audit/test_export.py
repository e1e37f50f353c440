"""Export (SPEC §7.2): every field round-trips through CSV and JSON Lines, formula cells are escaped, filters
apply, and memory stays flat however many rows stream out."""

from __future__ import annotations

import csv
import gc
import io
import json
import tracemalloc
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from audit import exporting, integrity
from audit.models import AuditLog
from orchestrator.lib import context
from tests.audit.conftest import emit, seed_rows

pytestmark = pytest.mark.django_db

NASTY = [
    '=HYPERLINK("http://evil","click")',
    "+1+1",
    "-2",
    "@SUM(A1)",
    "\tleading tab",
    "\rleading cr",
    "'already quoted",
    'comma, "quotes" and\nnewline\r\n',
    "été ✓ 🚀",
    "",
]


def parse_csv(data: bytes) -> list[dict[str, Any]]:
    rows = []
    for raw in csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")):
        row: dict[str, Any] = {}
        for name, value in raw.items():
            if name in exporting.TEXT_FIELDS or name in exporting.JSON_FIELDS:
                value = exporting.unescape_cell(value)
            if name in exporting.JSON_FIELDS:
                value = json.loads(value)
            row[name] = value
        row["sequence"] = int(row["sequence"])
        row["tenant_id"] = row["tenant_id"] or None
        row["ip"] = row["ip"] or None
        rows.append(row)
    return rows


def parse_jsonl(data: bytes) -> list[dict[str, Any]]:
    rows = []
    text = data.decode("utf-8")
    assert text == "" or text.endswith("\n")
    for line in text.splitlines():
        doc = json.loads(line)
        actor = doc.pop("actor")
        doc.update(actor_type=actor["type"], actor_id=actor["id"], actor_display=actor["display"])
        rows.append(doc)
    return rows


def stored(entries) -> list[dict[str, Any]]:
    out = []
    for values in exporting.ordered(entries).values_list(*integrity.ENTRY_FIELDS):
        row = dict(zip(integrity.ENTRY_FIELDS, values, strict=True))
        row.update(
            id=str(row["id"]),
            event_id=str(row["event_id"]),
            tenant_id=str(row["tenant_id"]) if row["tenant_id"] else None,
            created_at=integrity.format_timestamp(row["created_at"]),
        )
        out.append(row)
    return out


def body(response) -> bytes:
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content)


@pytest.fixture
def nasty_entries(tenant) -> list[AuditLog]:
    entries = []
    for i, text in enumerate(NASTY):
        actor = context.Actor(type="user", id=text[:64] or "u", display=text)
        entries.append(
            emit(
                tenant,
                "approval.approved",
                actor=actor,
                resource_type="approval",
                resource_id=text[:64],
                before=-i if i % 2 else {"status": text},
                after=[text, i, 0.5, None, True],
                reason=text,
                metadata={"nested": {"text": text}, "n": i},
            )
        )
    return entries


PRODUCERS = [
    pytest.param(None, id="default-producer"),
    pytest.param(False, id="python-producer"),
]


def _export(entries, fmt: str, use_copy: bool | None) -> bytes:
    return b"".join(exporting.export_chunks(entries, fmt, use_copy=use_copy))


@pytest.mark.parametrize("use_copy", PRODUCERS)
def test_csv_round_trips_every_field_and_the_hashes_recompute(tenant, nasty_entries, use_copy) -> None:
    entries = AuditLog.objects.filter(tenant=tenant)
    rows = parse_csv(_export(entries, "csv", use_copy))
    assert rows == stored(entries)
    for row in rows:
        assert integrity.compute_hash(row["prev_hash"], row) == row["hash"]


@pytest.mark.parametrize("use_copy", PRODUCERS)
def test_jsonl_round_trips_every_field_and_the_hashes_recompute(tenant, nasty_entries, use_copy) -> None:
    entries = AuditLog.objects.filter(tenant=tenant)
    rows = parse_jsonl(_export(entries, "jsonl", use_copy))
    assert rows == stored(entries)
    for row in rows:
        assert integrity.compute_hash(row["prev_hash"], row) == row["hash"]


def test_ipv6_and_tenantless_entries_round_trip(tenant) -> None:
    from django.test import RequestFactory

    request = RequestFactory().get("/", REMOTE_ADDR="2001:db8::ff00:42:8329", HTTP_USER_AGENT="=cmd|' /C calc'!A0")

    def view(req):
        emit(None, resource_id="-1")
        from django.http import HttpResponse

        return HttpResponse()

    context.RequestContextMiddleware(view)(request)
    entries = AuditLog.objects.filter(chain="global")
    for use_copy in (None, False):
        assert parse_csv(_export(entries, "csv", use_copy)) == stored(entries)
        assert parse_jsonl(_export(entries, "jsonl", use_copy)) == stored(entries)


def test_formula_cells_are_escaped_in_csv_only(tenant, nasty_entries, api) -> None:
    data = body(api.get("/api/v1/audit/export?format=csv"))
    cells = [row for row in csv.reader(io.StringIO(data.decode(), newline=""))]
    header, rows = cells[0], cells[1:]
    reason = header.index("reason")
    by_reason = {row[reason] for row in rows}
    for dangerous in NASTY[:7]:
        assert "'" + dangerous in by_reason
        assert dangerous not in by_reason
    for row in rows:
        for name, cell in zip(header, row, strict=True):
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (name, cell)
    # JSON Lines carries the text as it is: it is data, not a spreadsheet
    jsonl = parse_jsonl(body(api.get("/api/v1/audit/export?format=jsonl")))
    assert {r["reason"] for r in jsonl} == set(NASTY)


def test_export_respects_filters_and_tenancy(tenant, other_tenant, api) -> None:
    a = emit(tenant, "approval.requested", resource_type="approval", resource_id="ap-1")
    b = emit(tenant, "approval.approved", resource_type="approval", resource_id="ap-1")
    c = emit(tenant, "workflow.created", resource_type="workflow", resource_id="wf-1")
    emit(other_tenant, "approval.requested", resource_type="approval", resource_id="ap-1")

    def ids(query: str, fmt: str = "csv") -> list[str]:
        data = body(api.get(f"/api/v1/audit/export?format={fmt}&{query}"))
        rows = parse_csv(data) if fmt == "csv" else parse_jsonl(data)
        return [r["id"] for r in rows]

    assert ids("") == [str(a.pk), str(b.pk), str(c.pk)]
    assert ids("", "jsonl") == [str(a.pk), str(b.pk), str(c.pk)]
    assert ids("resource_type=approval&resource_id=ap-1") == [str(a.pk), str(b.pk)]
    assert ids("action=workflow.created", "jsonl") == [str(c.pk)]
    since = b.created_at.isoformat().replace("+00:00", "Z")
    until = (c.created_at + timedelta(microseconds=1)).isoformat().replace("+00:00", "Z")
    assert ids(f"since={since}&until={until}") == [str(b.pk), str(c.pk)]
    assert ids("actor_id=nobody") == []
    assert body(api.get("/api/v1/audit/export?actor_id=nobody")).decode() == exporting.CSV_HEADER


def test_export_headers_and_bad_format(tenant, api) -> None:
    emit(tenant)
    response = api.get("/api/v1/audit/export?format=jsonl")
    assert response["Content-Type"].startswith("application/x-ndjson")
    assert response["Content-Disposition"].endswith('.jsonl"')
    assert response.streaming
    response = api.get("/api/v1/audit/export")
    assert response["Content-Type"].startswith("text/csv")
    from tests.conftest import assert_problem

    assert_problem(api.get("/api/v1/audit/export?format=xlsx"), 400, "validation_error")
    assert_problem(api.get("/api/v1/audit/export?since=soon"), 400, "validation_error")


def test_audit_export_command_matches_the_api(tenant, other_tenant, nasty_entries, api, tmp_path) -> None:
    emit(other_tenant)
    for fmt in exporting.FORMATS:
        target = tmp_path / f"out.{fmt}"
        call_command(
            "audit_export", "--format", fmt, "--tenant", tenant.slug, "--action", "approval.approved", "-o", str(target)
        )
        api_data = body(api.get(f"/api/v1/audit/export?format={fmt}&action=approval.approved"))
        assert target.read_bytes() == api_data
    everything = tmp_path / "all.jsonl"
    call_command("audit_export", "--format", "jsonl", "--output", str(everything))
    assert len(parse_jsonl(everything.read_bytes())) == len(NASTY) + 1
    with pytest.raises(CommandError, match="invalid filter"):
        call_command("audit_export", "--since", "whenever", "-o", str(tmp_path / "x"))


def _peak_while_streaming(chunks) -> tuple[int, int]:
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    total = 0
    for chunk in chunks:
        total += len(chunk)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, total


def _measure(api, tenant, rows: int, use_copy: bool | None) -> tuple[int, int]:
    seed_rows(tenant, rows)
    if use_copy is None:  # through the view, as a client consumes the streamed response
        chunks = api.get("/api/v1/audit/export?format=csv").streaming_content
    else:
        chunks = exporting.export_chunks(AuditLog.objects.filter(tenant=tenant), "csv", use_copy=use_copy)
    return _peak_while_streaming(chunks)


@pytest.mark.slow
@pytest.mark.parametrize(
    "use_copy",
    [
        pytest.param(None, id="default-producer"),
        pytest.param(
            False,
            id="python-producer",
            marks=pytest.mark.skipif(not settings.DATABASE_IS_POSTGRES, reason="on SQLite it is the default one"),
        ),
    ],
)
def test_export_memory_stays_flat_from_10k_to_100k_rows(tenant, other_tenant, key_client, use_copy) -> None:
    small_peak, small_bytes = _measure(key_client(tenant, ["audit"]), tenant, 10_000, use_copy)
    big_peak, big_bytes = _measure(key_client(other_tenant, ["audit"]), other_tenant, 100_000, use_copy)
    assert big_bytes > 9 * small_bytes  # the big export really is ten times larger…
    # …yet Python's peak allocation while streaming it hardly moves (chunks are 64 KiB; iterators hold 2000 rows).
    assert big_peak < small_peak + 512 * 1024, (connection.vendor, small_peak, big_peak)
    assert big_peak < 8 * 1024 * 1024


def test_export_with_a_joined_filter_and_an_impossible_one(tenant, nasty_entries) -> None:
    # filters through a join (the tenant table has an ``id`` too) and filters that can match nothing
    joined = AuditLog.objects.filter(tenant__slug=tenant.slug)
    for use_copy in (None, False):
        assert len(parse_csv(_export(joined, "csv", use_copy))) == len(NASTY)
        assert len(parse_jsonl(_export(joined, "jsonl", use_copy))) == len(NASTY)
        nothing = AuditLog.objects.filter(tenant_id__in=[])
        assert _export(nothing, "csv", use_copy).decode() == exporting.CSV_HEADER
        assert _export(nothing, "jsonl", use_copy) == b""


def test_abandoned_export_leaves_the_connection_usable(tenant) -> None:
    seed_rows(tenant, 3000)
    chunks = exporting.export_chunks(AuditLog.objects.filter(tenant=tenant), "csv")
    next(chunks)
    next(chunks)
    chunks.close()  # the client went away mid-stream
    assert AuditLog.objects.filter(tenant=tenant).count() == 3000
