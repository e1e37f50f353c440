"""Audit append benchmark (issue 22): does the per-tenant chain head lock serialise a tenant's audited writes?

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/orch_audit AUDIT_CHAIN_KEY=<32+ chars> \
        .venv/bin/python bench/audit_append.py [--writers 8] [--tenants 1 8] [--seconds 15] [--json]

``--writers`` processes (real parallel connections, no GIL between them) each create workflows through the
service layer (``orchestrator.runs.create_run`` with ``"start": true``: the run, its nodes, ``workflow.created``,
the start UPDATEs, ``workflow.started``, webhook outbox rows, one commit) for ``--seconds``, spread over
``--tenants`` tenants (1 = every writer in one tenant's chain). Measured per run of the workload:

* throughput: workflows/s and audit entries/s (two entries per workflow);
* the head lock, timed in-process: ``audit.services._lock_chain_head`` is wrapped (bench only) to time how long
  acquiring it took (wait) and when it was first taken in the transaction, and the backend's ``commit`` to time
  when the commit returned; ``hold`` = first acquisition → commit returned; ``share`` = hold / whole call;
* wait events of the writers' backends, sampled every 5 ms from ``pg_stat_activity`` on a separate connection:
  the share of samples in ``Lock:*`` (waiting on another transaction: the head row), ``IO:WAL*``/``LWLock:WAL*``
  (commit flush), ``Client:ClientRead`` (idle in transaction: Python working between statements), active CPU;
* CPU seconds per workflow in the writers (``time.process_time``), which the shared machine's load moves less.

The load average (``os.getloadavg``) is printed with every figure: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import sys
import threading
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestrator.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402

from audit import services  # noqa: E402
from orchestrator import runs  # noqa: E402
from orchestrator.models import Tenant  # noqa: E402

APP_NAME = "audit_append_bench"
SLUG = "bench-audit-append-{n}"
DEFINITION: dict[str, Any] = {
    "name": "bench",
    "start": True,
    "nodes": [
        {"key": "a", "type": "TASK", "action": {"tool": "noop", "params": {}}},
        {"key": "b", "type": "TASK", "action": {"tool": "noop", "params": {}}, "depends_on": ["a"]},
    ],
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _instrument() -> dict[str, Any]:
    """Wrap the head lock (bench only): time each acquisition and remember the first one of the transaction."""
    state: dict[str, Any] = {"waits": [], "first": None}
    original = services._lock_chain_head

    def timed_lock(chain: str) -> Any:
        started = time.perf_counter()
        head = original(chain)
        acquired = time.perf_counter()
        state["waits"].append(acquired - started)
        if state["first"] is None:
            state["first"] = acquired
        return head

    services._lock_chain_head = timed_lock  # type: ignore[assignment]
    wrapper = type(connections["default"])
    commit = wrapper.commit

    def timed_commit(self: Any) -> None:
        commit(self)
        state["committed"] = time.perf_counter()  # the head is free from here (on_commit work comes after)

    wrapper.commit = timed_commit  # type: ignore[method-assign]
    return state


def writer(index: int, tenant_id: str, seconds: float, start_at: float, out: Any) -> None:
    try:
        _write(index, tenant_id, seconds, start_at, out)
    except BaseException:
        out.put({"error": traceback.format_exc()})  # the parent reports it instead of waiting for a result
        raise


def _write(index: int, tenant_id: str, seconds: float, start_at: float, out: Any) -> None:
    connections.close_all()  # never share the parent's connection
    with connection.cursor() as cursor:
        cursor.execute("SET application_name = %s", [APP_NAME])
    tenant = Tenant.objects.get(pk=tenant_id)
    runs.create_run(tenant=tenant, definition=DEFINITION)  # warm up (lazy imports, caches) before the clock
    state = _instrument()
    holds: list[float] = []
    txns: list[float] = []
    waits_per_op: list[float] = []
    while time.time() < start_at:
        time.sleep(0.001)
    cpu0 = time.process_time()
    deadline = time.perf_counter() + seconds
    done = 0
    while time.perf_counter() < deadline:
        state["first"], state["waits"], state["committed"] = None, [], None
        began = time.perf_counter()
        runs.create_run(tenant=tenant, definition=DEFINITION)
        ended = time.perf_counter()
        txns.append(ended - began)
        if state["first"] is not None:
            holds.append((state["committed"] or ended) - state["first"])
        waits_per_op.append(sum(state["waits"]))
        done += 1
    out.put(
        {
            "index": index,
            "done": done,
            "cpu": time.process_time() - cpu0,
            "txns": txns,
            "holds": holds,
            "waits": waits_per_op,
        }
    )
    connections.close_all()


def sampler(stop: threading.Event, counts: Counter[str]) -> None:
    """Sample the writers' backends' wait events every 5 ms (its own connection)."""
    sql = (
        "SELECT state, coalesce(wait_event_type, ''), coalesce(wait_event, '') FROM pg_stat_activity "
        "WHERE application_name = %s AND pid <> pg_backend_pid()"
    )
    with connection.cursor() as cursor:
        while not stop.is_set():
            cursor.execute(sql, [APP_NAME])
            for state, kind, event in cursor.fetchall():
                if state == "idle":
                    counts["idle (between transactions)"] += 1
                elif kind == "Lock":
                    counts[f"Lock:{event} (head row)"] += 1
                elif kind in ("IO", "LWLock") and "WAL" in event:
                    counts["WAL flush/write (commit)"] += 1
                elif kind == "Client" and event == "ClientRead":
                    counts["ClientRead (in transaction, Python between statements)"] += 1
                elif not kind:
                    counts["active on CPU"] += 1
                else:
                    counts[f"{kind}:{event}"] += 1
            time.sleep(0.005)
    connections.close_all()


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_once(writers: int, tenants: list[str], seconds: float) -> dict[str, Any]:
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    connections.close_all()
    start_at = time.time() + 8.0  # after every writer's warm-up
    procs = [
        ctx.Process(target=writer, args=(n, tenants[n % len(tenants)], seconds, start_at, out)) for n in range(writers)
    ]
    for proc in procs:
        proc.start()
    load_before = os.getloadavg()
    counts: Counter[str] = Counter()
    stop = threading.Event()
    while time.time() < start_at:
        time.sleep(0.01)
    thread = threading.Thread(target=sampler, args=(stop, counts))
    thread.start()
    results = [out.get(timeout=seconds + 120) for _ in procs]
    failed = [r["error"] for r in results if "error" in r]
    if failed:
        stop.set()
        raise SystemExit("a writer failed:\n" + failed[0])
    stop.set()
    thread.join()
    for proc in procs:
        proc.join()
    load_after = os.getloadavg()
    done = sum(r["done"] for r in results)
    txns = [t for r in results for t in r["txns"]]
    holds = [h for r in results for h in r["holds"]]
    waits = [w for r in results for w in r["waits"]]
    samples = sum(v for k, v in counts.items() if not k.startswith("idle")) or 1
    return {
        "writers": writers,
        "tenants": len(tenants),
        "seconds": seconds,
        "workflows": done,
        "workflows_per_s": round(done / seconds, 1),
        "audit_entries_per_s": round(2 * done / seconds, 1),
        "txn_ms_p50": round(1000 * pct(txns, 0.5), 1),
        "txn_ms_p95": round(1000 * pct(txns, 0.95), 1),
        "lock_wait_ms_mean": round(1000 * statistics.fmean(waits), 2) if waits else 0.0,
        "lock_wait_ms_p95": round(1000 * pct(waits, 0.95), 1),
        "lock_wait_share_of_txn": round(sum(waits) / sum(txns), 3) if txns else 0.0,
        "hold_ms_p50": round(1000 * pct(holds, 0.5), 1),
        "hold_share_of_txn": round(sum(holds) / sum(txns), 3) if txns else 0.0,
        "cpu_ms_per_workflow": round(1000 * sum(r["cpu"] for r in results) / max(done, 1), 2),
        "wait_events": {k: round(v / samples, 3) for k, v in counts.most_common() if not k.startswith("idle")},
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in load_after],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--tenants", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("set DATABASE_URL to a PostgreSQL database")
    call_command("migrate", verbosity=0)
    ids = [
        str(Tenant.objects.get_or_create(slug=SLUG.format(n=n), defaults={"name": f"audit append bench {n}"})[0].pk)
        for n in range(max(args.tenants))
    ]
    results = []
    for count in args.tenants:
        log(f"{args.writers} writers, {count} tenant(s), {args.seconds:.0f} s ...")
        result = run_once(args.writers, ids[:count], args.seconds)
        log(json.dumps(result))
        results.append(result)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(
        "| writers × tenants | workflows/s | entries/s | txn p50/p95 ms | head wait mean/p95 ms (share of txn) "
        "| head held p50 ms (share of txn) | CPU ms/workflow | load before → after |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for r in results:
        print(
            f"| {r['writers']} × {r['tenants']} | {r['workflows_per_s']} | {r['audit_entries_per_s']} "
            f"| {r['txn_ms_p50']} / {r['txn_ms_p95']} | {r['lock_wait_ms_mean']} / {r['lock_wait_ms_p95']} "
            f"({r['lock_wait_share_of_txn']:.0%}) | {r['hold_ms_p50']} ({r['hold_share_of_txn']:.0%}) "
            f"| {r['cpu_ms_per_workflow']} | {r['load_before'][0]} → {r['load_after'][0]} |"
        )
    for r in results:
        print(
            f"\nwait events, {r['writers']} × {r['tenants']}: "
            + ", ".join(f"{k} {v:.0%}" for k, v in r["wait_events"].items())
        )


if __name__ == "__main__":
    main()
