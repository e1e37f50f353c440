"""Audit verification benchmark: ``audit_verify`` on a 1,000,000-entry keyed chain, quick and ``--full``.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/orch_audit .venv/bin/python bench/audit_verify.py [--rows N]

What it does, in one run (never point it at production; it needs a superuser only to wipe its earlier rows):
1. migrates, then builds one tenant's chain of ``--rows`` entries in a single bulk ``COPY … FROM STDIN`` (the
   HMAC chain is computed in Python exactly as the application does; each hash depends on the previous one, so
   it cannot be computed set-wise in SQL), plus its chain head; skipped when the chain is already there;
2. signs one anchor ``--tail`` entries below the head into a temporary ``AUDIT_ANCHOR_DIR``, the state a
   scheduled checkpoint leaves;
3. times the default verification (from the newest anchor), the ``--full`` one, and the anchor file read, and
   prints a Markdown table (``--json`` for machines).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
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

from audit import anchors, integrity, verification  # noqa: E402
from audit.keys import keyring  # noqa: E402
from audit.models import AuditChainHead, AuditLog  # noqa: E402
from orchestrator.models import Tenant  # noqa: E402

SLUG = "bench-audit-verify"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def build_chain(tenant: Tenant, count: int) -> float:
    """(Re)write ``count`` keyed entries for ``tenant`` with one COPY; returns the seconds it took."""
    chain = str(tenant.pk)
    if AuditLog.objects.filter(chain=chain).count() == count:
        log(f"{count:,} entries already there")
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")  # bench-only: clear an earlier, partial build
        for table in ("audit_auditlog", "audit_auditcheckpoint", "audit_auditchainhead"):
            cursor.execute(f"DELETE FROM {table} WHERE chain = %s", [chain])  # noqa: S608 (fixed names)
        cursor.execute("SET session_replication_role = DEFAULT")
    started = time.perf_counter()
    ring, start = keyring(), datetime.now(UTC) - timedelta(days=30)
    prev, columns = integrity.GENESIS_HASH, [*integrity.ENTRY_FIELDS, "chain"]
    raw: Any = connection.connection
    with raw.cursor() as cursor, cursor.copy(f"COPY audit_auditlog ({', '.join(columns)}) FROM STDIN") as copy:
        for n in range(1, count + 1):
            fields: dict[str, Any] = {
                "id": uuid.uuid4(),
                "sequence": n,
                "created_at": start + timedelta(microseconds=n * 2_000),
                "tenant_id": tenant.pk,
                "event_id": uuid.uuid4(),
                "action": "approval.approved" if n % 2 else "workflow.started",
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
                "reason": f"step {n} of the nightly deploy",
                "metadata": {"data": {"run_id": str(uuid.uuid4()), "node_key": "deploy", "risk_level": "HIGH"}},
                "key_id": ring.current_id,
                "prev_hash": prev,
            }
            fields["hash"] = prev = ring.mac(ring.current_id, prev + integrity.canonical_entry(fields))
            row = [fields[c] for c in integrity.ENTRY_FIELDS] + [chain]
            for name in ("before", "after", "metadata"):
                row[integrity.ENTRY_FIELDS.index(name)] = json.dumps(fields[name])
            copy.write_row(row)
    AuditChainHead.objects.update_or_create(chain=chain, defaults={"last_sequence": count, "last_hash": prev})
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audit_auditlog")
    seconds = time.perf_counter() - started
    log(f"built {count:,} entries in {seconds:.1f}s")
    return seconds


def timed(label: str, fn: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - started
    log(f"{label}: {seconds:.2f}s")
    return seconds, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--tail", type=int, default=1_000, help="Entries written after the newest anchor.")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("set DATABASE_URL to a PostgreSQL database")
    call_command("migrate", verbosity=0)
    tenant, _ = Tenant.objects.get_or_create(slug=SLUG, defaults={"name": "audit verify bench"})
    chain = str(tenant.pk)
    build_seconds = build_chain(tenant, args.rows)
    with tempfile.TemporaryDirectory() as anchor_dir:
        settings.AUDIT_ANCHOR_DIR = anchor_dir
        at = args.rows - args.tail
        entry_hash = AuditLog.objects.get(chain=chain, sequence=at).hash
        now = integrity.format_timestamp(datetime.now(UTC))
        anchor = anchors.Anchor(chain, at, entry_hash, 0, "", 0, "schedule", now)
        anchors.append(anchors.sign(anchor))
        quick_s, quick = timed("verify (from the newest anchor)", lambda: verification.verify_chain(chain))
        full_s, full = timed("verify --full", lambda: verification.verify_chain(chain, full=True))
        read_s, _ = timed("anchor file read", lambda: anchors.read(chain))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "rows": args.rows,
        "build_seconds": round(build_seconds, 1),
        "quick": {"ok": quick.ok, "verified": quick.verified, "seconds": round(quick_s, 3)},
        "full": {"ok": full.ok, "verified": full.verified, "seconds": round(full_s, 2)},
        "full_entries_per_s": round(full.verified / full_s) if full_s else None,
        "anchor_read_seconds": round(read_s, 4),
        "peak_rss_mb": round(peak_mb, 1),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print("| rows | build (COPY) | verify (default, from anchor) | verify --full | full rate | peak RSS |")
    print("|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {args.rows:,} | {result['build_seconds']} s | {result['quick']['seconds']} s "
        f"({quick.verified:,} entries, ok={quick.ok}) | {result['full']['seconds']} s "
        f"({full.verified:,} entries, ok={full.ok}) | {result['full_entries_per_s']:,}/s | {result['peak_rss_mb']} MB |"
    )


if __name__ == "__main__":
    main()
