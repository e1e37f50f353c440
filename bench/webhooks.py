"""Webhook delivery benchmark (issue 22): events committed through ``events.emit``, delivered by a real Celery
worker to a local receiver process, each figure beside its same-run floor.

Phases (each prints one line that ``bench/run.py`` parses; every line carries the load average):

1. throughput: ``--events`` × ``--endpoints`` deliveries committed while no worker runs (a backlog), then a worker
   started; deliveries/s from the first to the last receipt. Floor: a plain pooled-``requests`` sender (one
   ``requests.Session`` per thread, no database, no signing, no SSRF check) at the same concurrency (worker
   processes × sender threads) posting as many requests to the same receiver. Also the worker's CPU and the
   database's commits per delivery (load-robust figures).
2. latency below capacity: ``--rate`` events/s for ``--seconds`` to one endpoint; commit → receipt p50/p99. Floor:
   a plain sequential ``requests.post`` to the same receiver.
3. fairness: the same rate to a fast endpoint and to one that answers after ``--slow-seconds``; the fast
   endpoint's commit → receipt p50/p99.
4. duplicates received over all phases (each (webhook-id, endpoint) counted once).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/orch_hooks REDIS_URL=redis://127.0.0.1:6379/3 \
        .venv/bin/python bench/webhooks.py --events 500 --endpoints 2 --processes 1 --threads 16

``--threads`` sets ``WEBHOOK_SENDER_THREADS`` of the worker (``--threads 1`` reproduces a one-request-at-a-time
worker for the floor's concurrency when measuring an older branch). The receiver runs in its own process (a
``ThreadingHTTPServer``), so neither the producer nor the floor's sender shares its interpreter. Needs PostgreSQL
and Redis; migrates the database it is given and leaves an audit trail there.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestrator.settings")
os.environ["WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = "true"


# --- the receiver (its own process) ----------------------------------------------------------------------------------
def serve(port_out: Any, slow_seconds: float) -> None:
    """Accept POSTs; paths starting with /slow answer after ``slow_seconds``. GET /_stats returns the receipts."""
    lock = threading.Lock()
    receipts: list[tuple[str, str, float]] = []
    counters = {"connections": 0}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        posted = False  # per connection: counted once, at its first POST (the GET polling is not counted)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            now = time.time()
            with lock:
                receipts.append((self.headers.get("webhook-id") or f"plain-{len(body)}", self.path, now))
                if not self.posted:
                    self.posted = True
                    counters["connections"] += 1
            if self.path.startswith("/slow"):
                time.sleep(slow_seconds)  # the slow endpoint under test, not a wait for a result
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            with lock:
                if self.path.startswith("/_count"):
                    data = json.dumps({"count": len(receipts), "connections": counters["connections"]}).encode()
                else:
                    data = json.dumps({"receipts": receipts, "connections": counters["connections"]}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.request_queue_size = 1024
    port_out.put(server.server_address[1])
    server.serve_forever(poll_interval=0.05)


class Receiver:
    def __init__(self, slow_seconds: float) -> None:
        ctx = multiprocessing.get_context("fork")
        ports: Any = ctx.Queue()
        self.process = ctx.Process(target=serve, args=(ports, slow_seconds), daemon=True)
        self.process.start()
        self.port: int = ports.get(timeout=30)
        self.base = f"http://127.0.0.1:{self.port}"

    def get(self, path: str) -> dict[str, Any]:
        with urllib.request.urlopen(self.base + path, timeout=60) as response:
            return json.loads(response.read())

    def receipts(self) -> list[tuple[str, str, float]]:
        return [tuple(r) for r in self.get("/_stats")["receipts"]]  # type: ignore[misc]

    def wait_for(self, predicate: Any, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.get("/_count")):
                return True
            time.sleep(0.1)  # polling the receiver with a deadline
        return False

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(10)


# --- helpers ---------------------------------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and all its descendants (from /proc), in seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    family, frontier = {pid}, [pid]
    while frontier:
        current = frontier.pop()
        for child, parent in parents.items():
            if parent == current and child not in family:
                family.add(child)
                frontier.append(child)
    return sum(cpu.get(p, 0.0) for p in family)


def profile_in_process(base: str, events: int, threads: int, per_endpoint: int) -> None:
    """The sender of this branch in this process (no broker): SQL statements (all threads) and CPU per delivery."""
    from unittest import mock

    from django.db.backends import utils

    from webhooks.sender import Sender

    tenant, endpoints = make_tenant(["/p0", "/p1"], base)
    with mock.patch("webhooks.tasks.send_due.apply_async"):
        emit_paced(tenant.pk, events, 0)
    counted = {"n": 0}
    original = utils.CursorWrapper._execute_with_wrappers

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        counted["n"] += 1  # under the GIL; a lost increment would only undercount by one
        return original(self, *args, **kwargs)

    utils.CursorWrapper._execute_with_wrappers = counting  # type: ignore[method-assign]
    sender = Sender(threads=threads, per_endpoint=per_endpoint)
    try:
        cpu, wall = time.process_time(), time.perf_counter()
        sender.wake()
        sender.wait_idle(600)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        utils.CursorWrapper._execute_with_wrappers = original  # type: ignore[method-assign]
        sender.stop()
    n = max(sender.recorded_total, 1)
    print(
        f"in-process sender: {sender.recorded_total} deliveries in {wall:.1f} s, SQL statements per delivery "
        f"{counted['n'] / n:.3f}, CPU per delivery {cpu / n * 1000:.2f} ms; {load()}"
    )
    from webhooks.models import WebhookEndpoint

    WebhookEndpoint.objects.filter(pk__in=[e.pk for e in endpoints]).delete()


worker_name = f"bench{uuid.uuid4().hex[:6]}@{socket.gethostname()}"


def wait_ready(app: Any) -> None:
    deadline = time.monotonic() + 120
    while not app.control.ping(destination=[worker_name], timeout=0.5) and time.monotonic() < deadline:
        pass  # each ping waits up to 0.5 s for the worker to answer: polling with a deadline


def start_worker(processes: int, threads: int, per_endpoint: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, WEBHOOK_SENDER_THREADS=str(threads), WEBHOOK_ENDPOINT_CONCURRENCY=str(per_endpoint))
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "orchestrator", "worker", "-Q", "webhooks", "--concurrency",
         str(processes), "--loglevel", "WARNING", "--without-gossip", "--without-mingle",
         "-n", worker_name],
        cwd=ROOT, env=env,
    )  # fmt: skip


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    worker.terminate()
    try:
        worker.wait(60)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait(10)


def emit_paced(tenant_id: Any, count: int, rate: float) -> dict[str, float]:
    """Commit ``count`` events at ``rate``/s (0: as fast as possible); returns webhook-id → commit time."""
    from django.db import transaction

    from orchestrator import events

    commit_at: dict[str, float] = {}
    started = time.time()
    for n in range(count):
        if rate:
            pause = started + n / rate - time.time()
            if pause > 0:
                time.sleep(pause)  # pacing the producer, not waiting for a result
        holder: dict[str, float] = {}
        with transaction.atomic():
            transaction.on_commit(lambda h=holder: h.__setitem__("t", time.time()))
            event = events.emit(
                "workflow.created", tenant_id=tenant_id, resource_type="workflow", resource_id=str(n), data={"n": n}
            )
        commit_at[f"msg_{event.id.hex}"] = holder["t"]
    return commit_at


def make_tenant(paths: list[str], base: str) -> tuple[Any, list[Any]]:
    from orchestrator.models import Tenant
    from webhooks import services

    tenant = Tenant.objects.create(slug=f"bench-{uuid.uuid4().hex[:8]}", name="bench")
    endpoints = [
        services.create_endpoint(tenant_id=tenant.pk, url=f"{base}{p}", events=["workflow.created"])[0] for p in paths
    ]
    return tenant, endpoints


def floor_pooled(base: str, total: int, concurrency: int) -> tuple[float, list[float]]:
    """A plain pooled-requests sender: ``concurrency`` threads, one Session each, ``total`` POSTs in all."""
    import requests

    body = json.dumps({"id": "x" * 36, "type": "workflow.created", "data": {"n": 1}}).encode()
    headers = {"Content-Type": "application/json", "webhook-id": "", "webhook-timestamp": "0", "webhook-signature": ""}
    latencies: list[float] = []
    lock = threading.Lock()
    counter = iter(range(total))

    def run() -> None:
        with requests.Session() as session:
            mine: list[float] = []
            for n in counter:
                t0 = time.perf_counter()
                session.post(f"{base}/floor", data=body, headers={**headers, "webhook-id": f"floor-{n}"}, timeout=30)
                mine.append(time.perf_counter() - t0)
            with lock:
                latencies.extend(mine)

    threads = [threading.Thread(target=run) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000, help="throughput phase: events (unpaced backlog)")
    parser.add_argument("--endpoints", type=int, default=5, help="throughput phase: endpoints per event")
    parser.add_argument("--processes", type=int, default=1, help="Celery worker processes")
    parser.add_argument("--threads", type=int, default=16, help="WEBHOOK_SENDER_THREADS of the worker")
    parser.add_argument("--per-endpoint", type=int, default=4, help="WEBHOOK_ENDPOINT_CONCURRENCY of the worker")
    parser.add_argument("--rate", type=float, default=50, help="latency and fairness phases: events/s")
    parser.add_argument("--seconds", type=float, default=10, help="latency and fairness phases: duration")
    parser.add_argument("--slow-seconds", type=float, default=5, help="fairness phase: the slow endpoint's delay")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--fairness-timeout", type=float, default=120, help="give up on the fast endpoint after")
    parser.add_argument(
        "--phases", default="throughput,latency,fairness", help="also: profile (this branch's sender in-process)"
    )
    args = parser.parse_args()

    receiver = Receiver(args.slow_seconds)  # forked before Django starts: nothing of it in the receiver
    import django

    django.setup()
    from django.core.management import call_command

    from orchestrator.celery import app
    from webhooks.models import WebhookEndpoint

    call_command("migrate", verbosity=0)
    with app.connection_for_write() as conn:
        app.amqp.queues["webhooks"].bind(conn).purge()
    phases = args.phases.split(",")
    # Requests the sender can have in flight in the throughput phase: threads, or the endpoints' caps if fewer.
    concurrency = args.processes * min(args.threads, args.endpoints * args.per_endpoint)
    print(
        f"worker: {args.processes} process(es) × {args.threads} sender thread(s), at most {args.per_endpoint} per "
        f"endpoint: concurrency {concurrency} for {args.endpoints} endpoints"
    )
    cleanup: list[Any] = []
    worker: subprocess.Popen[bytes] | None = None
    try:
        if "throughput" in phases:
            paths = [f"/t{i}" for i in range(args.endpoints)]
            tenant, endpoints = make_tenant(paths, receiver.base)
            cleanup += endpoints
            expected = args.events * args.endpoints
            # A warm worker that does not consume while the backlog is committed (its wake-ups wait in the queue).
            worker, name = start_worker(args.processes, args.threads, args.per_endpoint), worker_name
            wait_ready(app)
            app.control.cancel_consumer("webhooks", destination=[name], reply=True, timeout=10)
            emitted_at = time.time()
            emit_paced(tenant.pk, args.events, 0)
            emit_s = time.time() - emitted_at
            cpu_before = tree_cpu_seconds(worker.pid)
            app.control.add_consumer("webhooks", destination=[name], reply=True, timeout=10)
            done = receiver.wait_for(lambda c: c["count"] >= expected, args.timeout)
            cpu = tree_cpu_seconds(worker.pid) - cpu_before
            got = [r for r in receiver.receipts() if r[1] in paths]
            times = sorted(r[2] for r in got)
            took = (times[-1] - times[0]) if len(times) > 1 else float("nan")
            unique = len({(r[0], r[1]) for r in got})
            print(f"emit (commit + enqueue): {args.events / emit_s:.0f} events/s; {load()}")
            print(
                f"deliveries: {unique}/{expected} in {took:.1f} s → {unique / took:.0f}/s "
                f"(first to last receipt{'' if done else ', TIMED OUT'}); {load()}"
            )
            print(
                f"per delivery: worker CPU {cpu / max(unique, 1) * 1000:.2f} ms, TCP connections "
                f"{receiver.get('/_count')['connections']} for {unique} deliveries"
            )
            connections_before = receiver.get("/_count")["connections"]
            floor_cpu = time.process_time()
            elapsed, lat = floor_pooled(receiver.base, expected, concurrency)
            floor_cpu = time.process_time() - floor_cpu
            print(
                f"floor: pooled requests, {concurrency} threads: {expected} in {elapsed:.1f} s → "
                f"{expected / elapsed:.0f}/s, p50 {percentile(lat, 0.5) * 1000:.1f} ms, "
                f"p99 {percentile(lat, 0.99) * 1000:.1f} ms, CPU {floor_cpu / expected * 1000:.2f} ms per request, "
                f"TCP connections {receiver.get('/_count')['connections'] - connections_before}; {load()}"
            )
        if worker is None and ("latency" in phases or "fairness" in phases):
            worker = start_worker(args.processes, args.threads, args.per_endpoint)
            wait_ready(app)
        count = int(args.rate * args.seconds)
        if "latency" in phases:
            import requests

            plain = []
            for _ in range(300):
                t0 = time.perf_counter()
                requests.post(f"{receiver.base}/plain", data=b'{"n":1}', timeout=30)
                plain.append(time.perf_counter() - t0)
            print(
                f"floor: plain requests.post p50 {percentile(plain, 0.5) * 1000:.1f} ms, "
                f"p99 {percentile(plain, 0.99) * 1000:.1f} ms; {load()}"
            )
            tenant, endpoints = make_tenant(["/lat"], receiver.base)
            cleanup += endpoints
            commit_at = emit_paced(tenant.pk, count, args.rate)
            receiver.wait_for(lambda c: len([1 for r in receiver.receipts() if r[1] == "/lat"]) >= count, args.timeout)
            got = {r[0]: r[2] for r in receiver.receipts() if r[1] == "/lat"}
            latencies = [got[m] - t for m, t in commit_at.items() if m in got]
            print(
                f"latency at {args.rate:g} events/s: commit → receipt p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
                f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms ({len(latencies)}/{count} received); {load()}"
            )
        if "fairness" in phases:
            tenant, endpoints = make_tenant(["/fast", "/slow"], receiver.base)
            cleanup += endpoints
            commit_at = emit_paced(tenant.pk, count, args.rate)
            receiver.wait_for(
                lambda c: len([1 for r in receiver.receipts() if r[1] == "/fast"]) >= count, args.fairness_timeout
            )
            receipts = receiver.receipts()
            got = {r[0]: r[2] for r in receipts if r[1] == "/fast"}
            latencies = [got[m] - t for m, t in commit_at.items() if m in got]
            slow = len([1 for r in receipts if r[1] == "/slow"])
            print(
                f"fairness: fast endpoint commit → receipt p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
                f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms ({len(latencies)}/{count} received) while the "
                f"other answers after {args.slow_seconds:g} s ({slow} of its requests started); {load()}"
            )
        receipts = [r for r in receiver.receipts() if not r[1].startswith(("/floor", "/plain"))]
        keys = [(r[0], r[1]) for r in receipts]
        print(f"duplicates received: {len(keys) - len(set(keys))}")
        if "profile" in phases:
            # Alone: no worker, and no slow endpoint's backlog left for the in-process sender to pick up.
            if worker is not None:
                stop_worker(worker)
                worker = None
            WebhookEndpoint.objects.filter(pk__in=[e.pk for e in cleanup]).delete()
            profile_in_process(receiver.base, args.events, args.threads, args.per_endpoint)
    finally:
        if worker is not None:
            stop_worker(worker)
        WebhookEndpoint.objects.filter(pk__in=[e.pk for e in cleanup]).delete()
        receiver.stop()


if __name__ == "__main__":
    main()
