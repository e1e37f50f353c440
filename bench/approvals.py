"""Benchmark: approve over HTTP → the resumed task starts (SPEC §6, issue 5).

200 sequential cycles: create a workflow (over HTTP) whose only node is a high-risk TASK and start it; wait until
its approval request appears; POST approve (t0 just before the request); wait until the node's first node run
exists and take its server-side ``started_at``. Latency = started_at − t0 (same host, same clock).

Floor measured in the same run: a plain JSON endpoint round trip (``GET /api/v1/health/live``) and a Celery no-op
round trip (``control.ping`` through the broker to a live worker and back).

Needs a running service (web + worker + beat, with the workflow engine) at ``--base-url``, a requester key
(scopes ``workflows`` and ``approvals:request``) and a decider key (``approvals:decide``) of the same tenant:

    .venv/bin/python bench/approvals.py --base-url http://127.0.0.1:8000 --key wfo_... --decider-key wfo_...

Target: p50 ≤ 25 ms, p99 ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import datetime
from typing import Any

import requests


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def report(name: str, samples_ms: list[float]) -> None:
    print(
        f"{name:<40} n={len(samples_ms):>4}  p50={percentile(samples_ms, 0.5):7.2f} ms  "
        f"p99={percentile(samples_ms, 0.99):7.2f} ms  mean={statistics.fmean(samples_ms):7.2f} ms"
    )


def poll(fn: Any, deadline_s: float = 30.0, interval_s: float = 0.002) -> Any:
    """Call ``fn`` until it returns something truthy, bounded by a deadline (the bench's only waiting)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        value = fn()
        if value:
            return value
        time.sleep(interval_s)
    raise TimeoutError("condition not reached within the deadline")


def parse_ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def floor_http(session: requests.Session, base: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        session.get(f"{base}/api/v1/health/live", timeout=10).raise_for_status()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def floor_celery(n: int) -> list[float]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestrator.settings")
    import django

    django.setup()
    from orchestrator.celery import app

    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        replies = app.control.ping(timeout=2.0, limit=1)
        if not replies:
            raise RuntimeError("no Celery worker answered the ping")
        out.append((time.perf_counter() - t0) * 1000)
    return out


def cycle(
    requester: requests.Session, decider: requests.Session, base: str, index: int, posts: list[float] | None = None
) -> float:
    """One approve → start latency in ms (``posts`` receives the approve POST's own round trip, in ms)."""
    body = {
        "name": f"bench-approvals-{index}",
        "start": True,
        "nodes": [
            {
                "key": "send",
                "type": "TASK",
                "action": {
                    "tool": "email.send",
                    "params": {"to": f"bench{index}@example.com", "subject": "x", "body": "x"},
                },
            }
        ],
    }
    created = requester.post(f"{base}/api/v1/workflows", json=body, timeout=10)
    if created.status_code == 404:
        raise SystemExit("POST /api/v1/workflows is missing: this benchmark needs the workflow engine.")
    created.raise_for_status()
    run_id = created.json()["id"]

    def pending() -> str | None:
        page = decider.get(f"{base}/api/v1/approvals", params={"workflow_id": run_id}, timeout=10).json()
        return page["results"][0]["id"] if page["results"] else None

    approval_id = poll(pending)
    t0 = time.time()
    decider.post(
        f"{base}/api/v1/approvals/{approval_id}/approve",
        json={"reason": "bench"},
        timeout=10,
    ).raise_for_status()
    if posts is not None:
        posts.append((time.time() - t0) * 1000)

    def started() -> str | None:
        node = requester.get(f"{base}/api/v1/workflows/{run_id}/nodes/send", timeout=10).json()
        runs = node.get("node_runs") or []
        return runs[0]["started_at"] if runs else None

    return (parse_ts(poll(started)) - t0) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", default=os.environ.get("BENCH_BASE_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--key", default=os.environ.get("BENCH_KEY"), required="BENCH_KEY" not in os.environ)
    parser.add_argument(
        "--decider-key", default=os.environ.get("BENCH_DECIDER_KEY"), required="BENCH_DECIDER_KEY" not in os.environ
    )
    parser.add_argument("--cycles", type=int, default=200)
    args = parser.parse_args()
    base = args.base_url.rstrip("/")
    requester, decider = requests.Session(), requests.Session()
    requester.headers["Authorization"] = f"Bearer {args.key}"
    decider.headers["Authorization"] = f"Bearer {args.decider_key}"

    report("floor: GET /health/live", floor_http(requester, base, args.cycles))
    report("floor: Celery no-op round trip (ping)", floor_celery(args.cycles))
    posts: list[float] = []
    latencies = [cycle(requester, decider, base, i, posts) for i in range(args.cycles)]
    report("approve POST → task start", latencies)
    report("(part) approve POST round trip", posts)
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    ok = p50 <= 25 and p99 <= 100
    print(f"target p50 ≤ 25 ms, p99 ≤ 100 ms: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
