"""Where one API request spends its time: the WSGI application called in-process, under cProfile or pyinstrument.

Seeds its own tenant (3-node runs, pending approvals made by the engine in eager mode), then calls the same
requests as bench/load.py through ``orchestrator.wsgi.application`` with a hand-built WSGI environ (no HTTP, no
test client), and prints, per request: SQL statements, durable commits, Redis round trips, wall time and CPU time
of this process (``time.process_time``: robust to other load on the machine, but it leaves out the PostgreSQL and
Redis servers' own CPU), beside the plain endpoint's; then the top functions.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/orch_prof REDIS_URL=redis://127.0.0.1:6379/13 \
        .venv/bin/python bench/profile_api.py [--requests 300] [--endpoint detail|list|create|plain] [--top 40] \
        [--sampling] [--json]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestrator.settings")
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="bench-profile-"))
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"
os.environ.setdefault("API_THROTTLE_RATE", "100000000/min")
os.environ.setdefault("LOG_LEVEL", "WARNING")


def call(app: Any, method: str, path: str, key: str | None, body: Any = None) -> tuple[int, bytes]:
    """One request through the WSGI application; returns (status, body)."""
    raw = json.dumps(body).encode() if body is not None else b""
    query = ""
    if "?" in path:
        path, query = path.split("?", 1)
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(raw)),
        "wsgi.input": io.BytesIO(raw),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    if key:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    status: list[str] = []
    chunks = app(environ, lambda s, h, exc=None: status.append(s))
    data = b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    return int(status[0].split()[0]), data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--endpoint", choices=("plain", "detail", "list", "create"), default="detail")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--sampling", action="store_true", help="pyinstrument (sampling, low overhead) instead")
    parser.add_argument("--json", action="store_true", help="print one JSON line of the figures and no profile")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, reset_queries

    from orchestrator.wsgi import application

    call_command("migrate", "--noinput", verbosity=0)
    out = io.StringIO()
    slug = f"prof-{uuid.uuid4().hex[:8]}"
    call_command("create_tenant", slug, stdout=out)
    call_command("create_api_key", "--tenant", slug, "--name", "prof", "--scopes",
                 "workflows,approvals:request,webhooks,audit", stdout=out)  # fmt: skip
    key = out.getvalue().strip().splitlines()[-1]
    run_ids = []
    for i in range(20):
        body = {"name": f"p{i}", "start": False, "nodes": [
            {"key": "a", "type": "TASK", "action": {"tool": "echo", "params": {"i": i}}},
            {"key": "b", "type": "TASK", "depends_on": ["a"], "action": {"tool": "noop", "params": {}}},
            {"key": "c", "type": "TASK", "depends_on": ["b"], "action": {"tool": "noop", "params": {}}}]}  # fmt: skip
        status, data = call(application, "POST", "/api/v1/workflows", key, body)
        assert status == 201, data
        run_ids.append(json.loads(data)["id"])
    for i in range(25):
        send = {"tool": "email.send", "params": {"to": f"p{i}@example.com", "subject": f"s{i}", "body": "x"}}
        body = {"name": f"a{i}", "start": True, "nodes": [{"key": "b", "type": "TASK", "action": send}]}
        status, data = call(application, "POST", "/api/v1/workflows", key, body)
        assert status == 201, data
    status, data = call(application, "GET", "/api/v1/approvals?limit=20", key)
    assert status == 200 and len(json.loads(data)["results"]) == 20, data[:500]

    create_body = {"name": "load", "start": False, "nodes": [
        {"key": "a", "type": "TASK", "action": {"tool": "echo", "params": {"n": 1}}},
        {"key": "b", "type": "TASK", "depends_on": ["a"], "action": {"tool": "noop", "params": {}}},
        {"key": "c", "type": "TASK", "depends_on": ["b"], "action": {"tool": "noop", "params": {}}}]}  # fmt: skip

    def request(endpoint: str, i: int) -> tuple[int, bytes]:
        if endpoint == "plain":
            return call(application, "GET", "/api/v1/health/live", None)
        if endpoint == "detail":
            return call(application, "GET", f"/api/v1/workflows/{run_ids[i % len(run_ids)]}", key)
        if endpoint == "create":
            return call(application, "POST", "/api/v1/workflows", key, create_body)
        return call(application, "GET", "/api/v1/approvals?limit=20", key)

    for i in range(30):  # warm-up: imports, URL resolver caches, connection
        status, data = request(args.endpoint, i)
        assert status < 300, data[:500]
        request("plain", i)

    counts = count_one(lambda: request(args.endpoint, 0), connection)
    if not args.json:
        print(f"per request: {counts['statements']} SQL statements, {counts['commits']} durable commits, "
              f"{counts['redis_round_trips']} Redis round trips")  # fmt: skip
        for sql in counts.pop("sql"):
            print("   ", sql[:160])
    else:
        counts.pop("sql")
    reset_queries()
    # Python function calls per request (cProfile's count): deterministic, so unmoved by the machine's load.
    for name, endpoint in (("python_calls", args.endpoint), ("plain_python_calls", "plain")):
        counter = cProfile.Profile()
        counter.enable()
        for i in range(50):
            request(endpoint, i)
        counter.disable()
        counts[name] = round(sum(row[1] for row in pstats.Stats(counter).stats.values()) / 50)  # type: ignore[attr-defined]

    def timed(endpoint: str) -> tuple[float, float]:
        """(wall, CPU of this process) seconds per request over ``--requests`` requests."""
        wall, cpu = time.perf_counter(), time.process_time()
        for i in range(args.requests):
            request(endpoint, i)
        return (time.perf_counter() - wall) / args.requests, (time.process_time() - cpu) / args.requests

    import gc

    gc_time = [0.0, 0, 0.0]  # seconds in collections, collections, start of the current one

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            gc_time[2] = time.process_time()
        else:
            gc_time[0] += time.process_time() - gc_time[2]
            gc_time[1] += 1

    gc.callbacks.append(on_gc)
    plain_runs = [timed("plain") for _ in range(3)]  # best of three: the machine is shared
    gc_time[:2] = [0.0, 0]
    runs = [timed(args.endpoint) for _ in range(3)]
    gc.callbacks.remove(on_gc)
    plain_wall, plain_cpu = min(w for w, _ in plain_runs), min(c for _, c in plain_runs)
    wall, cpu = min(w for w, _ in runs), min(c for _, c in runs)
    figures = {
        "endpoint": args.endpoint,
        **counts,
        "wall_ms": round(wall * 1000, 3),
        "cpu_ms": round(cpu * 1000, 3),
        "plain_wall_ms": round(plain_wall * 1000, 3),
        "plain_cpu_ms": round(plain_cpu * 1000, 3),
        "cpu_ratio": round(plain_cpu / cpu, 3),
        "gc_cpu_ms": round(gc_time[0] * 1000 / (3 * args.requests), 3),  # garbage collection, per request
        "gc_per_request": round(gc_time[1] / (3 * args.requests), 3),
        "loadavg": os.getloadavg(),
    }
    if args.json:
        print(json.dumps(figures))
        return 0
    print(
        f"{args.endpoint}: {wall * 1000:.2f} ms wall, {cpu * 1000:.2f} ms CPU per request unprofiled "
        f"({1 / wall:.0f} req/s on one core); plain {plain_wall * 1000:.2f} ms wall, {plain_cpu * 1000:.2f} ms CPU; "
        f"in-process CPU ratio {plain_cpu / cpu:.2f}x; load average {os.getloadavg()}"
    )
    if args.sampling:
        from pyinstrument import Profiler  # a dev dependency

        sampler = Profiler(interval=0.0002)
        sampler.start()
        for i in range(args.requests):
            request(args.endpoint, i)
        sampler.stop()
        print(sampler.output_text(unicode=False, color=False, show_all=bool(os.environ.get("PROFILE_SHOW_ALL"))))
        return 0
    profile = cProfile.Profile()
    profile.enable()
    for i in range(args.requests):
        request(args.endpoint, i)
    profile.disable()
    stream = io.StringIO()
    pstats.Stats(profile, stream=stream).sort_stats(args.sort).print_stats(args.top)
    print(stream.getvalue())
    return 0


def count_one(fn: Any, connection: Any) -> dict[str, Any]:
    """SQL statements, durable commits and Redis round trips of one call of ``fn``.

    A durable commit is an explicit ``COMMIT`` (the end of an outermost ``atomic``) or a writing statement run in
    autocommit mode (its own transaction). A Redis round trip is one send of a command or a whole pipeline."""
    from django.test.utils import CaptureQueriesContext
    from redis.connection import AbstractConnection

    sends = [0]
    commits = [0]
    original_send = AbstractConnection.send_packed_command
    original_commit = connection.commit

    def send(self: Any, command: Any, check_health: bool = True) -> None:
        sends[0] += 1
        original_send(self, command, check_health)

    def commit() -> None:
        commits[0] += 1
        original_commit()

    def autocommitted_writes(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if not connection.in_atomic_block and sql.lstrip().split(None, 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"}:
            commits[0] += 1
        return execute(sql, params, many, context)

    AbstractConnection.send_packed_command = send  # type: ignore[method-assign]
    connection.commit = commit
    try:
        with CaptureQueriesContext(connection) as queries, connection.execute_wrapper(autocommitted_writes):
            fn()
    finally:
        AbstractConnection.send_packed_command = original_send  # type: ignore[method-assign]
        del connection.commit
    return {
        "statements": len(queries.captured_queries),
        "commits": commits[0],
        "redis_round_trips": sends[0],
        "sql": [q["sql"] for q in queries.captured_queries],
    }


if __name__ == "__main__":
    sys.exit(main())
