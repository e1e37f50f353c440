"""Where one approve request spends its work (issue 22): statements, transactions, Redis round trips and CPU.

Seeds its own tenant (services may decide HIGH), creates ``--requests`` one-node workflows whose TASK needs
approval (the engine runs eagerly while seeding, so each ends WAITING_APPROVAL with a PENDING request), then turns
eager mode off and POSTs ``/api/v1/approvals/{id}/approve`` for each through ``orchestrator.wsgi.application``
in-process (no HTTP). For every request it counts SQL statements (by kind), commits, Redis round trips (each
packed command sent on a socket: the throttle, the cache, the wake-up or executor message) and CPU time
(``time.process_time``), how many statements run while the tenant's audit chain head is locked and how long it
is held (lock to COMMIT: every decide of the tenant queues behind it), then prints the statements of one request
and, unless ``--no-profile``, a cProfile.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/orch_decide REDIS_URL=redis://127.0.0.1:6379/4 \
        .venv/bin/python bench/profile_decide.py [--requests 200] [--top 30] [--json]

Nothing consumes the Celery messages the approvals publish (the queues of that Redis db grow by one message per
approve); point it at a scratch Redis db.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestrator.settings")
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="bench-decide-"))
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"  # while seeding only (switched off before measuring)
os.environ.setdefault("API_THROTTLE_RATE", "100000000/min")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("AUDIT_CHAIN_KEY", "dev-audit-chain-key-0123456789abcdefghij")

from profile_api import call  # noqa: E402  (the same hand-built WSGI environ as the read profile)


class Counters:
    """Per-request counts: SQL statements by first word, commits, Redis commands sent."""

    def __init__(self) -> None:
        self.sql: list[str] = []
        self.commits = 0
        self.redis = 0
        self.redis_commands: list[str] = []
        self.head_locked_at: float | None = None  # when the audit chain head was locked (held until COMMIT)
        self.under_lock = 0  # statements run while holding it, COMMIT excluded
        self.hold_ms = 0.0

    def kinds(self) -> Counter[str]:
        return Counter(s.split(None, 1)[0].upper() for s in self.sql)


def install(counters: list[Counters]) -> Any:
    """Hook the database connection and redis-py so the current ``counters[-1]`` sees every round trip."""
    from django.db import connection
    from django.db.backends.base.base import BaseDatabaseWrapper
    from redis.connection import Connection

    def sql_wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if counters:
            current = counters[-1]
            current.sql.append(" ".join(str(sql).split()))
            if current.head_locked_at is not None:
                current.under_lock += 1
            elif "audit_auditchainhead" in sql and "FOR UPDATE" in sql:
                current.head_locked_at = time.perf_counter()
                current.under_lock = 1
        return execute(sql, params, many, context)

    connection.execute_wrappers.append(sql_wrapper)
    original_commit = BaseDatabaseWrapper._commit  # type: ignore[attr-defined]

    def counted_commit(self: Any) -> Any:
        if not counters:
            return original_commit(self)
        current = counters[-1]
        current.commits += 1
        try:
            return original_commit(self)
        finally:
            if current.head_locked_at is not None:  # the lock is released by this COMMIT
                current.hold_ms += (time.perf_counter() - current.head_locked_at) * 1000
                current.head_locked_at = None

    BaseDatabaseWrapper._commit = counted_commit  # type: ignore[attr-defined]
    original_send = Connection.send_packed_command

    def counted_send(self: Any, command: Any, check_health: bool = True) -> Any:
        if counters:
            counters[-1].redis += 1
            first = command[0] if isinstance(command, list) else command
            counters[-1].redis_commands.append(bytes(first)[:60].decode("latin-1").replace("\r\n", " "))
        return original_send(self, command, check_health)

    Connection.send_packed_command = counted_send  # type: ignore[method-assign]


def seed(application: Any, n: int) -> tuple[str, list[str]]:
    """A tenant whose policy lets services decide HIGH, a decider key, and ``n`` PENDING scheduler requests."""
    from django.core.management import call_command

    from approvals.models import ApprovalRequest, ApprovalStatus

    out = io.StringIO()
    slug = f"decide-{uuid.uuid4().hex[:8]}"
    call_command("create_tenant", slug, "--risk-policy", '{"deciders": {"HIGH": "humans_or_services"}}', stdout=out)
    call_command("create_api_key", "--tenant", slug, "--name", "req", "--scopes", "workflows,approvals:request",
                 stdout=out)  # fmt: skip
    requester = out.getvalue().strip().splitlines()[-1]
    out = io.StringIO()
    call_command("create_api_key", "--tenant", slug, "--name", "decider", "--scopes", "approvals:decide",
                 stdout=out)  # fmt: skip
    decider = out.getvalue().strip().splitlines()[-1]
    runs = []
    for i in range(n):
        send = {"tool": "email.send", "params": {"to": f"d{i}@example.com", "subject": f"s{i}", "body": "x"}}
        body = {"name": f"d{i}", "start": True, "nodes": [{"key": "b", "type": "TASK", "action": send}]}
        status, data = call(application, "POST", "/api/v1/workflows", requester, body)
        assert status == 201, data
        runs.append(json.loads(data)["id"])
    ids = [
        str(pk)
        for pk in ApprovalRequest.objects.filter(run_id__in=runs, status=ApprovalStatus.PENDING).values_list(
            "pk", flat=True
        )
    ]
    assert len(ids) == n, f"{len(ids)} pending approvals of {n}"
    return decider, ids


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command

    from orchestrator.celery import app as celery_app
    from orchestrator.wsgi import application

    call_command("migrate", "--noinput", verbosity=0)
    profiled = 0 if args.no_profile else min(50, args.requests)
    decider, ids = seed(application, args.requests + 5 + profiled)
    celery_app.conf.task_always_eager = False  # the approve publishes its messages to Redis, as in production
    for pk in ids[:5]:  # warm-up: imports, URL resolver, connections
        status, data = call(application, "POST", f"/api/v1/approvals/{pk}/approve", decider, {"reason": "warm"})
        assert status == 200, data
    ids = ids[5:]
    counters: list[Counters] = []
    install(counters)
    cpu: list[float] = []
    wall: list[float] = []
    for pk in ids[: args.requests]:
        counters.append(Counters())
        c0, w0 = time.process_time(), time.perf_counter()
        status, data = call(application, "POST", f"/api/v1/approvals/{pk}/approve", decider, {"reason": "bench"})
        cpu.append((time.process_time() - c0) * 1000)
        wall.append((time.perf_counter() - w0) * 1000)
        assert status == 200 and json.loads(data)["status"] == "APPROVED", data[:300]
    last = counters[-1]
    summary = {
        "requests": len(cpu),
        "sql_statements": statistics.median(len(c.sql) for c in counters),
        "sql_by_kind": dict(last.kinds()),
        "commits": statistics.median(c.commits for c in counters),
        "redis_round_trips": statistics.median(c.redis for c in counters),
        "statements_under_audit_head_lock": statistics.median(c.under_lock for c in counters),
        "audit_head_lock_held_ms_p50": round(statistics.median(c.hold_ms for c in counters), 2),
        "cpu_ms_p50": round(statistics.median(cpu), 2),
        "wall_ms_p50": round(statistics.median(wall), 2),
        "wall_ms_min": round(min(wall), 2),
    }
    counters.clear()
    if args.json:
        print(json.dumps(summary))
    else:
        print(json.dumps(summary, indent=1))
        print(f"statements of one approve ({len(last.sql)}):")
        for sql in last.sql:
            print("   ", sql[:200])
        print(f"redis commands of one approve ({last.redis}): {last.redis_commands}")
    if profiled:
        profile = cProfile.Profile()
        profile.enable()
        for pk in ids[args.requests : args.requests + profiled]:
            call(application, "POST", f"/api/v1/approvals/{pk}/approve", decider, {"reason": "bench"})
        profile.disable()
        stream = io.StringIO()
        pstats.Stats(profile, stream=stream).sort_stats(args.sort).print_stats(args.top)
        print(stream.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
