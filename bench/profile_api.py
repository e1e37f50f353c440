"""Where one API request spends its time: the WSGI application called in-process, under cProfile.

Seeds its own tenant (3-node runs, pending approvals made by the engine in eager mode), then calls the same
requests as bench/load.py through ``orchestrator.wsgi.application`` with a hand-built WSGI environ (no HTTP, no
test client), and prints per-request wall time, SQL statements per request and the top functions.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/orch_prof REDIS_URL=redis://127.0.0.1:6379/13 \
        .venv/bin/python bench/profile_api.py [--requests 300] [--endpoint detail|list|plain] [--top 40]
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
    parser.add_argument("--endpoint", choices=("plain", "detail", "list"), default="detail")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--sampling", action="store_true", help="pyinstrument (sampling, low overhead) instead")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

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

    def path(i: int) -> str:
        if args.endpoint == "plain":
            return "/api/v1/health/live"
        if args.endpoint == "detail":
            return f"/api/v1/workflows/{run_ids[i % len(run_ids)]}"
        return "/api/v1/approvals?limit=20"

    for i in range(30):  # warm-up: imports, URL resolver caches, connection
        call(application, "GET", path(i), key)
    with CaptureQueriesContext(connection) as queries:
        call(application, "GET", path(0), key)
    print(f"SQL statements per request: {len(queries.captured_queries)}")
    for q in queries.captured_queries:
        print("   ", q["sql"][:160])
    reset_queries()

    def timed(request_path: Any) -> float:
        started = time.perf_counter()
        for i in range(args.requests):
            call(application, "GET", request_path(i), key)
        return (time.perf_counter() - started) / args.requests

    plain = min(timed(lambda i: "/api/v1/health/live") for _ in range(3))
    wall = min(timed(path) for _ in range(3))  # best of three: the machine is shared
    print(
        f"{args.endpoint}: {wall * 1000:.2f} ms per request unprofiled ({1 / wall:.0f} req/s on one core); "
        f"plain {plain * 1000:.2f} ms; in-process ratio {plain / wall:.2f}x"
    )
    if args.sampling:
        from pyinstrument import Profiler  # not a dependency: pip install pyinstrument

        sampler = Profiler(interval=0.0002)
        sampler.start()
        for i in range(args.requests):
            call(application, "GET", path(i), key)
        sampler.stop()
        print(sampler.output_text(unicode=False, color=False, show_all=bool(os.environ.get("PROFILE_SHOW_ALL"))))
        return 0
    profile = cProfile.Profile()
    profile.enable()
    for i in range(args.requests):
        call(application, "GET", path(i), key)
    profile.disable()
    stream = io.StringIO()
    pstats.Stats(profile, stream=stream).sort_stats(args.sort).print_stats(args.top)
    print(stream.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
