"""Webhook delivery benchmark: N events to K endpoints served by a local receiver, through real Celery workers.

Reports deliveries/s and event-commit → receipt latency (p50/p99), and, in the same run, a plain
``requests.post`` loop to the same receiver as the baseline (no database, no broker, no signing, no SSRF check).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/orch_webhooks REDIS_URL=redis://127.0.0.1:6379/4 \
        .venv/bin/python bench/webhooks.py --events 10000 --endpoints 5 --concurrency 4

Needs PostgreSQL and a broker (Redis); it migrates the database it is given and leaves an audit trail there.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestrator.settings")
os.environ["WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = "true"


class Receipts:
    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.times: dict[tuple[str, str], float] = {}
        self.duplicates = 0
        self.count = 0

    def add(self, key: tuple[str, str], at: float) -> None:
        with self.lock:
            if key in self.times:
                self.duplicates += 1
            else:
                self.times[key] = at
            self.count += 1
            self.lock.notify_all()


def start_receiver(receipts: Receipts) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            now = time.time()
            receipts.add((self.headers.get("webhook-id") or f"plain-{len(body)}-{now}", self.path), now)
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.request_queue_size = 512
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--endpoints", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=4, help="Celery worker processes")
    parser.add_argument("--baseline-posts", type=int, default=10_000)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument(
        "--rate", type=float, default=0, help="events/s to emit (0: as fast as possible, measures the backlog)"
    )
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    from orchestrator import events
    from orchestrator.celery import app
    from orchestrator.models import Tenant
    from webhooks import services

    call_command("migrate", verbosity=0)
    receipts = Receipts()
    server = start_receiver(receipts)
    port = server.server_address[1]
    tenant = Tenant.objects.create(slug=f"bench-{uuid.uuid4().hex[:8]}", name="bench")
    endpoints = [
        services.create_endpoint(tenant_id=tenant.pk, url=f"http://127.0.0.1:{port}/e{i}", events=["workflow.created"])[
            0
        ]
        for i in range(args.endpoints)
    ]
    with app.connection_for_write() as conn:
        app.amqp.queues["webhooks"].bind(conn).purge()
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "orchestrator", "worker", "-Q", "webhooks", "--concurrency",
         str(args.concurrency), "--loglevel", "WARNING", "--without-gossip", "--without-mingle", "-n", "bench@%h"],
        cwd=ROOT, env=dict(os.environ),
    )  # fmt: skip
    try:
        expected = args.events * args.endpoints
        commit_at: dict[str, float] = {}
        started = time.time()
        for n in range(args.events):
            if args.rate:
                pause = started + n / args.rate - time.time()
                if pause > 0:
                    time.sleep(pause)  # pacing the producer, not waiting for a result
            holder: dict[str, float] = {}
            with transaction.atomic():
                transaction.on_commit(lambda h=holder: h.__setitem__("t", time.time()))
                event = events.emit(
                    "workflow.created", tenant_id=tenant.pk, resource_type="workflow", resource_id=str(n), data={"n": n}
                )
            commit_at[f"msg_{event.id.hex}"] = holder["t"]
        emitted = time.time()
        with receipts.lock:
            done = receipts.lock.wait_for(lambda: len(receipts.times) >= expected, args.timeout)
        finished = time.time()
        if not done:
            print(f"timed out: {len(receipts.times)}/{expected} received", file=sys.stderr)
        latencies = [at - commit_at[msg] for (msg, _), at in receipts.times.items() if msg in commit_at]
        delivered = len(latencies)
        print(
            f"events: {args.events}, endpoints: {args.endpoints}, worker processes: {args.concurrency}, "
            f"rate: {args.rate or 'unpaced'}"
        )
        print(f"emit (commit + enqueue): {args.events / (emitted - started):.0f} events/s")
        took = finished - started
        print(f"deliveries: {delivered}/{expected} in {took:.1f} s → {delivered / took:.0f}/s")
        print(f"duplicates received: {receipts.duplicates}")
        print(
            f"commit → receipt latency: p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
            f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
        )
    finally:
        worker.terminate()
        worker.wait(60)

    import requests

    body = b'{"id":"x","type":"workflow.created","data":{"n":1}}'
    plain: list[float] = []
    started = time.time()
    for _ in range(args.baseline_posts):
        t0 = time.perf_counter()
        requests.post(f"http://127.0.0.1:{port}/baseline", data=body, headers={"Content-Type": "application/json"})
        plain.append(time.perf_counter() - t0)
    elapsed = time.time() - started
    print(
        f"baseline requests.post loop: {args.baseline_posts} in {elapsed:.1f} s "
        f"→ {args.baseline_posts / elapsed:.0f}/s, "
        f"p50 {percentile(plain, 0.5) * 1000:.1f} ms, p99 {percentile(plain, 0.99) * 1000:.1f} ms"
    )
    services_cleanup = [e.pk for e in endpoints]
    from webhooks.models import WebhookEndpoint

    WebhookEndpoint.objects.filter(pk__in=services_cleanup).delete()
    server.shutdown()


if __name__ == "__main__":
    main()
