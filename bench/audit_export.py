"""Audit export benchmark: HTTP export vs ``psql COPY`` of the same rows, and the server's peak RSS.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/orch_audit .venv/bin/python bench/audit_export.py

What it does, in one run:
1. migrates, then seeds two tenants with 100,000 and 1,000,000 entries through ``COPY … FROM STDIN`` (a valid hash
   chain each, so ``audit_verify`` can be timed too); seeding is skipped when they already hold the right counts;
2. starts gunicorn (one sync worker) on a free port and streams ``GET /api/v1/audit/export`` for each tenant and
   format with curl, discarding the body, while measuring the worker's peak RSS (``VmHWM``, reset per run through
   ``/proc/<pid>/clear_refs``);
3. times ``psql -c "COPY (…) TO STDOUT"`` for the same rows: plain columns (the baseline) and the exact statement
   the export runs (formula escaping and timestamp formatting in SQL);
4. prints a Markdown table (and ``--json`` for machines).

Needs a PostgreSQL superuser connection only to wipe earlier bench rows (the triggers are bypassed with
``session_replication_role``). Uses the database of ``DATABASE_URL`` — never point it at production.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestrator.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from audit import exporting, integrity, verification  # noqa: E402
from audit.keys import keyring  # noqa: E402
from audit.models import AuditChainHead, AuditLog  # noqa: E402
from orchestrator import services  # noqa: E402
from orchestrator.models import Tenant  # noqa: E402

ACTIONS = ["workflow.started", "approval.requested", "approval.approved", "workspace.lock_acquired", "webhook.test"]
COLUMNS = [f for f in integrity.ENTRY_FIELDS] + ["chain"]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def seed(tenant: Tenant, count: int) -> None:
    """(Re)write ``count`` entries for ``tenant`` with COPY, hashing the chain as the application would."""
    chain = str(tenant.pk)
    if AuditLog.objects.filter(tenant=tenant).count() == count:
        log(f"{tenant.slug}: {count} entries already there")
        return
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")  # bench-only: clear an earlier, partial seed
        cursor.execute("DELETE FROM audit_auditlog WHERE chain = %s", [chain])
        cursor.execute("DELETE FROM audit_auditcheckpoint WHERE chain = %s", [chain])
        cursor.execute("DELETE FROM audit_auditchainhead WHERE chain = %s", [chain])
        cursor.execute("SET session_replication_role = DEFAULT")
    started = time.perf_counter()
    start = datetime.now(UTC) - timedelta(days=30)
    prev = integrity.GENESIS_HASH
    key_id = keyring().current_id
    columns = ", ".join(COLUMNS)
    raw: Any = connection.connection
    with raw.cursor() as cursor, cursor.copy(f"COPY audit_auditlog ({columns}) FROM STDIN") as copy:
        for n in range(1, count + 1):
            fields: dict[str, Any] = {
                "id": uuid.uuid4(),
                "sequence": n,
                "created_at": start + timedelta(microseconds=n * 2_000),
                "tenant_id": tenant.pk,
                "event_id": uuid.uuid4(),
                "action": ACTIONS[n % len(ACTIONS)],
                "actor_type": "api_key",
                "actor_id": "6f1c2b1e-4a53-4a8e-9d0c-5b1f0e2d3c4a",
                "actor_display": "ci-bot (a1b2c3d4)",
                "ip": f"10.0.{n % 250}.{n % 200 + 1}",
                "user_agent": "python-requests/2.32.3",
                "request_id": f"{n:032x}",
                "resource_type": "approval" if n % 2 else "workflow",
                "resource_id": str(uuid.uuid4()),
                "before": {"status": "PENDING"},
                "after": {"status": "APPROVED", "decided_by": "alice"},
                "reason": "=HYPERLINK(1)" if n % 1000 == 0 else f"step {n} of the nightly deploy",
                "metadata": {"data": {"run_id": str(uuid.uuid4()), "node_key": "deploy", "risk_level": "HIGH"}},
                "key_id": key_id,
            }
            fields["prev_hash"] = prev
            fields["hash"] = prev = integrity.compute_hash(prev, fields)
            row = [fields[c] for c in integrity.ENTRY_FIELDS] + [chain]
            for i in (14, 15, 17):  # before, after, metadata as JSON text
                row[i] = json.dumps(row[i])
            copy.write_row(row)
    AuditChainHead.objects.update_or_create(chain=chain, defaults={"last_sequence": count, "last_hash": prev})
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audit_auditlog")
    log(f"{tenant.slug}: seeded {count} entries in {time.perf_counter() - started:.1f}s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not found for {pid}")


class Server:
    def __init__(self) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "ALLOWED_HOSTS": "127.0.0.1,localhost", "API_THROTTLE_RATE": "100000/min"}
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "orchestrator.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "1",
                "--timeout",
                "900",
                "--access-logfile",
                "/dev/null",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.base}/api/v1/health/live", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.1)  # polling a server that is starting
        else:
            raise RuntimeError("gunicorn did not start")
        workers = children(self.process.pid)
        assert len(workers) == 1, workers
        self.worker = workers[0]

    def reset_peak(self) -> None:
        Path(f"/proc/{self.worker}/clear_refs").write_text("5")

    def peak_rss_mb(self) -> float:
        return status_kb(self.worker, "VmHWM") / 1024

    def rss_mb(self) -> float:
        return status_kb(self.worker, "VmRSS") / 1024

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def http_export(server: Server, key: str, fmt: str) -> tuple[float, int, float]:
    """Stream one export with curl (body discarded); returns (seconds, bytes, peak RSS of the worker in MB)."""
    server.reset_peak()
    started = time.perf_counter()
    result = subprocess.run(
        [
            "curl",
            "-sS",
            "--fail",
            "-o",
            "/dev/null",
            "-w",
            "%{size_download}",
            "-H",
            f"Authorization: Bearer {key}",
            f"{server.base}/api/v1/audit/export?format={fmt}",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    return elapsed, int(result.stdout), server.peak_rss_mb()


def psql_copy(statement: str) -> tuple[float, int]:
    url = settings.DATABASE_URL or ""
    started = time.perf_counter()
    with subprocess.Popen(["psql", "-X", "-q", url, "-c", statement], stdout=subprocess.PIPE) as process:
        assert process.stdout is not None
        size = 0
        while chunk := process.stdout.read(1 << 20):
            size += len(chunk)
    if process.returncode:
        raise RuntimeError(f"psql failed: {statement[:200]}")
    return time.perf_counter() - started, size


def plain_copy_sql(tenant: Tenant) -> str:
    columns = ", ".join(integrity.ENTRY_FIELDS)
    return (
        f"COPY (SELECT {columns} FROM audit_auditlog WHERE tenant_id = '{tenant.pk}' ORDER BY chain, sequence) "  # noqa: S608
        "TO STDOUT WITH (FORMAT csv, HEADER)"
    )


def export_copy_sql(tenant: Tenant, fmt: str) -> str:
    statement, params = exporting.copy_statement(AuditLog.objects.filter(tenant_id=tenant.pk), fmt)
    raw: Any = connection.connection
    from psycopg import ClientCursor

    return ClientCursor(raw).mogrify(statement, params)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000", help="Comma-separated entry counts.")
    parser.add_argument("--verify", action="store_true", help="Also time the chain verification of each tenant.")
    parser.add_argument("--json", action="store_true", help="Print the results as JSON too.")
    args = parser.parse_args()
    if not settings.DATABASE_IS_POSTGRES:
        sys.exit("Set DATABASE_URL to a PostgreSQL database.")
    for tool in ("psql", "curl"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is needed")
    call_command("migrate", verbosity=0)

    sizes = [int(s) for s in args.sizes.split(",")]
    tenants: dict[int, tuple[Tenant, str]] = {}
    for size in sizes:
        tenant, _ = Tenant.objects.get_or_create(slug=f"bench-audit-{size}", defaults={"name": f"Bench {size}"})
        seed(tenant, size)
        _, raw_key = services.create_api_key(tenant=tenant, name="bench", scopes=["audit"])
        tenants[size] = (tenant, raw_key)

    server = Server()
    results: list[dict[str, Any]] = []
    try:
        http_export(server, tenants[sizes[0]][1], "csv")  # warm-up (imports, connection)
        idle_rss = server.rss_mb()
        log(f"gunicorn worker {server.worker}: {idle_rss:.1f} MB RSS after warm-up")
        for size in sizes:
            tenant, key = tenants[size]
            base_s, _ = psql_copy(plain_copy_sql(tenant))
            for fmt in exporting.FORMATS:
                same_s, _ = psql_copy(export_copy_sql(tenant, fmt))
                http_s, http_bytes, peak = http_export(server, key, fmt)
                row = {
                    "rows": size,
                    "format": fmt,
                    "http_seconds": round(http_s, 3),
                    "http_rows_per_s": round(size / http_s),
                    "http_mb": round(http_bytes / 1e6, 1),
                    "psql_plain_seconds": round(base_s, 3),
                    "psql_plain_rows_per_s": round(size / base_s),
                    "psql_same_statement_seconds": round(same_s, 3),
                    "ratio_vs_psql_plain": round(base_s / http_s, 2),
                    "ratio_vs_psql_same_statement": round(same_s / http_s, 2),
                    "peak_rss_mb": round(peak, 1),
                }
                results.append(row)
                log(json.dumps(row))
        verify_rows = []
        if args.verify:
            for size in sizes:
                started = time.perf_counter()
                report = verification.verify_chain(str(tenants[size][0].pk), full=True)
                seconds = time.perf_counter() - started
                verify_rows.append({"rows": size, "ok": report.ok, "seconds": round(seconds, 2)})
                log(f"verify {size}: ok={report.ok} in {seconds:.1f}s")
    finally:
        server.stop()

    print("\n| rows | format | HTTP rows/s | HTTP s | psql COPY (plain) s | ratio | psql (same SQL) s | peak RSS MB |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['rows']:,} | {r['format']} | {r['http_rows_per_s']:,} | {r['http_seconds']} | "
            f"{r['psql_plain_seconds']} | {r['ratio_vs_psql_plain']}× | {r['psql_same_statement_seconds']} | "
            f"{r['peak_rss_mb']} |"
        )
    print(f"\nWorker RSS after warm-up: {idle_rss:.1f} MB (peak minus this is what the export itself costs)")
    for v in verify_rows:
        print(f"audit_verify of {v['rows']:,} entries: {v['seconds']} s (ok={v['ok']})")
    if args.json:
        print(json.dumps({"results": results, "idle_rss_mb": idle_rss, "verify": verify_rows}, indent=2))


if __name__ == "__main__":
    main()
