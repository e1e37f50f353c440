"""200 concurrent long-polling waiters (``GET /api/v1/workflows/{id}?wait=30``, issue 19) against gunicorn.

Measures, against one gunicorn (``--workers`` processes × ``GUNICORN_THREADS`` threads) on PostgreSQL + Redis:
  1. baseline: ``GET /api/v1/workflows/{id}`` (no wait) from ``--clients`` closed-loop clients for ``--duration`` s;
  2. the same load while ``--waiters`` requests are parked in ``?wait=30`` (each re-issued when it returns), and the
     database connections of the database meanwhile (waiters must hold none);
  3. wake-up: every waited-on run is cancelled; latency from the cancel's response to the waiter's answer, and how
     many answered late (more than ``--late`` s after their cancel) — each waiter waits as the Python client does:
     a first GET for the ETag, then ``?wait=30`` with ``If-None-Match`` (so a change between two waits is not missed).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/orch_bench REDIS_URL=redis://127.0.0.1:6379/12 \
        .venv/bin/python bench/waiters.py [--waiters 200] [--duration 10] [--clients 8] [--json]

It migrates the database it is given, adds a tenant of its own, and starts and stops (by PID) gunicorn only.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.load import Service, wait_for


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def closed_loop(base: str, headers: dict[str, str], ids: list[str], clients: int, seconds: float) -> dict[str, Any]:
    """``clients`` threads each GET a run detail in a loop for ``seconds``: req/s and latency percentiles (ms)."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(n: int) -> None:
        nonlocal errors
        session = requests.Session()
        i = n
        while time.monotonic() < stop:
            began = time.perf_counter()
            response = session.get(f"{base}/api/v1/workflows/{ids[i % len(ids)]}", headers=headers, timeout=30)
            took = time.perf_counter() - began
            with lock:
                latencies.append(took * 1000)
                errors += response.status_code != 200
            i += clients

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    return {
        "requests_per_second": round(len(latencies) / seconds, 1),
        "p50_ms": round(percentile(latencies, 0.50), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "errors": errors,
    }


def database_connections(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()").fetchone()
        return int(row[0]) - 1 if row else -1  # not counting this one


def connections_per_worker(master_pid: int, port: int) -> list[int]:
    """Established client connections each gunicorn worker (child of ``master_pid``) holds on ``port``, from /proc
    (Linux): how evenly the kernel spread the parked waiters over the workers."""
    established = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # ESTABLISHED, our local port
                established.add(fields[9])  # the socket's inode
    counts = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]) != master_pid:
                continue
            links = [os.readlink(fd) for fd in (proc / "fd").iterdir()]
        except (OSError, IndexError, ValueError):
            continue
        counts.append(sum(1 for link in links if link.startswith("socket:[") and link[8:-1] in established))
    return sorted(counts, reverse=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--waiters", type=int, default=200)
    parser.add_argument("--duration", type=float, default=10, help="seconds per load phase")
    parser.add_argument("--clients", type=int, default=8, help="closed-loop clients of the detail load")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=128, help="GUNICORN_THREADS")
    parser.add_argument("--late", type=float, default=5.0, help="a wake-up slower than this many seconds is late")
    parser.add_argument("--wait", type=float, default=30, help="seconds of each ?wait=")
    parser.add_argument(
        "--no-etag", action="store_true", help="wait without If-None-Match (the bench before 2026-11-30 did)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith("postgres") or not os.environ.get("REDIS_URL"):
        sys.exit("bench/waiters.py needs DATABASE_URL=postgres://… and REDIS_URL=redis://…")
    workdir = Path(tempfile.mkdtemp(prefix="bench-waiters-"))
    env = {
        **os.environ,
        "DATA_DIR": str(workdir / "data"),
        "PROMETHEUS_MULTIPROC_DIR": str(workdir / "data" / "metrics"),
        "API_THROTTLE_RATE": "100000000/min",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "GUNICORN_THREADS": str(args.threads),
        "GUNICORN_CMD_ARGS": "--access-logfile=/dev/null",
        # A throwaway database: a throwaway audit key unless one is given (required outside DEBUG).
        "AUDIT_CHAIN_KEY": os.environ.get("AUDIT_CHAIN_KEY") or uuid.uuid4().hex * 2,
    }
    (workdir / "data" / "metrics").mkdir(parents=True)
    # A SIGTERM (e.g. `timeout`) still runs the ``finally`` below, which stops gunicorn (its own session).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    service = Service(env, workdir, args.workers)
    slug = f"waiters-{uuid.uuid4().hex[:8]}"
    service.manage("migrate", "--noinput", "-v0")
    service.manage("create_tenant", slug)
    key = service.manage("create_api_key", "--tenant", slug, "--name", "waiters", "--scopes", "workflows")
    headers = {"Authorization": f"Bearer {key.strip().splitlines()[-1]}"}
    results: dict[str, Any] = {
        "waiters": args.waiters,
        "wait": args.wait,
        "etag": not args.no_etag,
        "workers": args.workers,
        "threads": args.threads,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    try:
        service.start("web")
        base = service.base
        wait_for(lambda: requests.get(f"{base}/api/v1/health/live", timeout=2).ok, 60, "gunicorn")
        body = {"name": "wait", "nodes": [{"key": "a", "type": "TASK", "action": {"tool": "noop", "params": {}}}]}
        with ThreadPoolExecutor(8) as pool:
            ids = list(
                pool.map(
                    lambda _: requests.post(f"{base}/api/v1/workflows", json=body, headers=headers, timeout=30).json()[
                        "id"
                    ],
                    range(args.waiters),
                )
            )
        closed_loop(base, headers, ids, args.clients, 2)  # warm-up
        results["baseline"] = closed_loop(base, headers, ids, args.clients, args.duration)

        stop = threading.Event()
        answered: dict[str, float] = {}
        deadlines: dict[str, list[float]] = {}  # when each waiter's wait ran out unchanged (re-issued)
        parked = threading.Semaphore(0)
        waiter_errors: list[str] = []

        def waiter(run_id: str) -> None:
            session = requests.Session()
            url = f"{base}/api/v1/workflows/{run_id}"
            etag = session.get(url, headers=headers, timeout=40).headers.get("ETag", "")
            parked.release()
            while not stop.is_set():
                sent = headers if args.no_etag else {**headers, "If-None-Match": etag}
                try:
                    response = session.get(f"{url}?wait={args.wait:g}", headers=sent, timeout=args.wait + 30)
                except requests.RequestException as exc:
                    waiter_errors.append(type(exc).__name__)
                    continue
                if response.status_code != 200:
                    waiter_errors.append(str(response.status_code))
                    continue
                if response.json()["status"] == "CANCELLED":
                    answered[run_id] = time.monotonic()
                    return
                if response.headers.get("ETag") == etag:
                    deadlines.setdefault(run_id, []).append(time.monotonic())
                etag = response.headers.get("ETag", etag)

        threads = [threading.Thread(target=waiter, args=(run_id,), daemon=True) for run_id in ids]
        for thread in threads:
            thread.start()
        for _ in ids:
            parked.acquire()
        time.sleep(2)  # let the last GETs reach the server and park (a settle time, not a wait for a state)
        results["db_connections_while_waiting"] = database_connections(database_url)
        results["connections_per_worker_while_waiting"] = connections_per_worker(
            service.processes["web"].pid, service.port
        )
        results["with_waiters"] = closed_loop(base, headers, ids, args.clients, args.duration)
        results["db_connections_after_load"] = database_connections(database_url)

        cancelled: dict[str, float] = {}

        def cancel(run_id: str) -> None:
            requests.post(f"{base}/api/v1/workflows/{run_id}/cancel", json={}, headers=headers, timeout=30)
            cancelled[run_id] = time.monotonic()

        began = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(cancel, ids))
        stop.set()  # a waiter whose run did not cancel gives up after its current wait
        deadline = time.monotonic() + args.wait + 10
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        wake = [(answered[i] - cancelled[i]) * 1000 for i in ids if i in answered and i in cancelled]
        late = [i for i in ids if i in cancelled and answered.get(i, float("inf")) - cancelled[i] > args.late]
        results["wake_up"] = {
            "answered": len(wake),
            f"late_over_{args.late:g}s": len(late),
            # A late waiter whose wait had run out unchanged within ``--late`` s of its cancel was between two
            # requests (or queued for a thread) when the change came; the others were parked and not woken.
            "late_between_requests": sum(
                1 for i in late if any(abs(t - cancelled[i]) <= args.late for t in deadlines.get(i, []))
            ),
            "waits_that_ran_out": sum(len(v) for v in deadlines.values()),
            "p50_ms": round(percentile(wake, 0.50), 1),
            "p95_ms": round(percentile(wake, 0.95), 1),
            "max_ms": round(max(wake), 1) if wake else None,
            "mean_ms": round(statistics.mean(wake), 1) if wake else None,
            "all_answered_after_s": round(max(answered.values()) - began, 2) if answered else None,
        }
        results["waiter_errors"] = len(waiter_errors)
        results["waiter_error_kinds"] = sorted(set(waiter_errors))
        results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        service.stop_all()
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for name, value in results.items():
            print(f"{name}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
