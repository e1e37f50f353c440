"""Workflow engine benchmark (PostgreSQL + Redis), with raw Celery measured in the same run as the baseline.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/orch_engine REDIS_URL=redis://127.0.0.1:6379/1 \\
        .venv/bin/python bench/engine.py [--workflows 200] [--nodes 50] [--baseline-tasks 20000]

1. Baseline: 20,000 ``orchestrator.tasks.ping`` no-op tasks through the same broker to a Celery worker with the
   same concurrency (2 processes); tasks/s from the first publish until the queue is drained and acknowledged.
2. Engine, twice (wide: root → 48 parallel → join; chain: 50 in a line): 200 workflows × 50 no-op TASK nodes are
   created, then all started; nodes/s from the first start until every run is COMPLETED, through the real
   scheduler (wake on commit, SKIP LOCKED claims) and a Celery worker (2 processes, queues scheduler + executor).
3. Chain step latency: predecessor node ``finished_at`` → successor node ``finished_at`` (the whole hop with a
   no-op tool; p50, p99).
4. SQL statements per node: every statement the worker processes execute (counted by a Django execute wrapper
   installed by this module, loaded into the worker with ``-I bench.engine``), divided by the nodes run.

Not a test: it prints a table and writes nothing but its own runs into the database it is pointed at.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
COUNT_DIR_ENV = "BENCH_SQL_COUNT_DIR"

# --- Worker side: count SQL statements per process (loaded with ``celery worker -I bench.engine``) -------------

_statements = 0
_announcements = 0  # Redis round trips of ``orchestrator.lib.waiting`` (one PUBLISH, or one pipeline of them)


def _count_announcements() -> None:
    """Count the waiters' Redis round trips: wrap the client ``waiting._redis()`` hands out (its ``publish`` and its
    pipelines' ``execute``), whatever the version of ``waiting`` publishes with."""
    from orchestrator.lib import waiting

    original = waiting._redis
    if getattr(original, "counted", False):
        return

    def counted_client() -> Any:
        client = original()
        if not getattr(client, "counted", False):
            publish, pipeline = client.publish, client.pipeline

            def counted_publish(*args: Any, **kwargs: Any) -> Any:
                global _announcements
                _announcements += 1
                return publish(*args, **kwargs)

            def counted_pipeline(*args: Any, **kwargs: Any) -> Any:
                pipe = pipeline(*args, **kwargs)
                execute = pipe.execute

                def counted_execute(*a: Any, **k: Any) -> Any:
                    global _announcements
                    _announcements += 1
                    return execute(*a, **k)

                pipe.execute = counted_execute
                return pipe

            client.publish, client.pipeline, client.counted = counted_publish, counted_pipeline, True
        return client

    counted_client.counted = True  # type: ignore[attr-defined]
    waiting._redis = counted_client


def _count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    global _statements
    _statements += 1
    return execute(sql, params, many, context)


def _install_counter(**kwargs: Any) -> None:
    from django.db import connection

    if _count not in connection.execute_wrappers:
        connection.execute_wrappers.append(_count)
    _count_announcements()


def _flush_counter(**kwargs: Any) -> None:
    directory = os.environ.get(COUNT_DIR_ENV)
    if directory:
        Path(directory, f"{os.getpid()}.count").write_text(str(_statements))
        Path(directory, f"{os.getpid()}.redis").write_text(str(_announcements))


if os.environ.get(COUNT_DIR_ENV):
    from celery import signals

    signals.worker_process_init.connect(_install_counter, weak=False)
    signals.task_prerun.connect(_install_counter, weak=False)
    signals.task_postrun.connect(_flush_counter, weak=False)


# --- Driver ---------------------------------------------------------------------------------------------------


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestrator.settings")
    import django

    django.setup()


def start_worker(data_dir: Path, count_dir: Path, queues: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "PROMETHEUS_MULTIPROC_DIR": str(data_dir / "metrics"),
        COUNT_DIR_ENV: str(count_dir),
    }
    command = [
        sys.executable, "-m", "celery", "-A", "orchestrator", "worker", "--concurrency", "2", "--loglevel", "WARNING",
        "-Q", queues, "-n", f"bench-{os.getpid()}-{queues.replace(',', '-')}@%h", "-I", "bench.engine",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    log = open(data_dir / f"worker-{queues}.log", "ab")  # noqa: SIM115
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def stop_worker(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def redis_client() -> Any:
    import redis
    from django.conf import settings

    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


def wait_worker_ready(r: Any, queue: str) -> None:
    """Publish one ping and wait until it is consumed (the worker is up and warm)."""
    from orchestrator.tasks import ping

    for _ in range(4):
        ping.apply_async(queue=queue)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if r.llen(queue) == 0 and r.hlen("unacked") == 0:
            return
        time.sleep(0.05)
    raise RuntimeError("the worker did not start")


def baseline(tasks: int, data_dir: Path) -> float:
    from orchestrator.celery import app
    from orchestrator.tasks import ping

    r = redis_client()
    worker = start_worker(data_dir, data_dir / "counts-baseline", "default")
    try:
        wait_worker_ready(r, "default")
        began = time.perf_counter()
        with app.producer_or_acquire() as producer:
            for _ in range(tasks):
                ping.apply_async(queue="default", producer=producer)
        while r.llen("default") or r.hlen("unacked"):
            time.sleep(0.005)
        elapsed = time.perf_counter() - began
    finally:
        stop_worker(worker)
    return tasks / elapsed


def shape(kind: str, size: int) -> list[dict[str, Any]]:
    def noop(key: str, deps: list[str]) -> dict[str, Any]:
        return {"key": key, "type": "TASK", "depends_on": deps, "action": {"tool": "noop", "params": {}}}

    if kind == "chain":
        return [noop("n0", []), *[noop(f"n{i}", [f"n{i - 1}"]) for i in range(1, size)]]
    middle = [f"w{i}" for i in range(size - 2)]
    return [noop("root", []), *[noop(k, ["root"]) for k in middle], noop("join", middle)]


def engine_run(kind: str, workflows: int, size: int, data_dir: Path) -> dict[str, Any]:
    from django.db import reset_queries

    from orchestrator import runs
    from orchestrator.models import NodeRunStatus, RunStatus, Tenant, WorkflowNode, WorkflowNodeRun, WorkflowRun

    tenant, _ = Tenant.objects.get_or_create(slug="bench-engine", defaults={"name": "Bench engine"})
    created = [
        runs.create_run(tenant=tenant, definition={"name": f"bench {kind} {i}", "nodes": shape(kind, size)})
        for i in range(workflows)
    ]
    ids = [run.pk for run in created]
    count_dir = data_dir / f"counts-{kind}"
    count_dir.mkdir()
    r = redis_client()
    worker = start_worker(data_dir, count_dir, "scheduler,executor")
    try:
        wait_worker_ready(r, "scheduler")
        for f in count_dir.glob("*.count"):
            f.unlink()  # warm-up statements are not the engine's
        time.sleep(0.5)
        baseline_counts = _read_counts(count_dir)
        baseline_announcements = _read_counts(count_dir, "redis")
        reset_queries()
        began = time.perf_counter()
        start_statements = _statement_counter()
        with start_statements:
            for run in created:
                runs.start_run(run=run)
        while WorkflowRun.objects.filter(pk__in=ids).exclude(status=RunStatus.COMPLETED).exists():
            failed = WorkflowRun.objects.filter(pk__in=ids, status__in=[RunStatus.FAILED, RunStatus.CANCELLED]).count()
            if failed:
                raise RuntimeError(f"{failed} runs did not complete")
            time.sleep(0.02)
        elapsed = time.perf_counter() - began
        time.sleep(1.0)  # let the last task_postrun flush its counter
        worker_statements = _read_counts(count_dir) - baseline_counts
        worker_announcements = _read_counts(count_dir, "redis") - baseline_announcements
    finally:
        stop_worker(worker)
    nodes = workflows * size
    result: dict[str, Any] = {
        "shape": kind,
        "nodes": nodes,
        "seconds": round(elapsed, 2),
        "nodes_per_s": round(nodes / elapsed, 1),
        "worker_statements_per_node": round(worker_statements / nodes, 2),
        "start_statements_per_node": round(start_statements.count / nodes, 2),
        # Redis round trips announcing changes to long-polling waiters (issue 19), per node, in the workers.
        "worker_waiter_publishes_per_node": round(worker_announcements / nodes, 2),
        "attempts": WorkflowNodeRun.objects.filter(run_id__in=ids).count(),
        "failed_attempts": WorkflowNodeRun.objects.filter(run_id__in=ids)
        .exclude(status=NodeRunStatus.COMPLETED)
        .count(),
    }
    if kind == "chain":
        # Step = predecessor finished → successor finished: the whole hop (commit, claim, start, the no-op tool and
        # the completion), so it does not depend on when an attempt's ``started_at`` is stamped (an attempt the
        # worker creates already started is stamped at claim time).
        finished = {
            (run_id, key): at
            for run_id, key, at in WorkflowNode.objects.filter(run_id__in=ids).values_list(
                "run_id", "key", "finished_at"
            )
        }
        latencies = sorted(
            (at - finished[(run_id, f"n{int(key[1:]) - 1}")]).total_seconds() * 1000
            for (run_id, key), at in finished.items()
            if key != "n0"
        )
        result["step_p50_ms"] = round(statistics.median(latencies), 2)
        result["step_p99_ms"] = round(latencies[int(len(latencies) * 0.99) - 1], 2)
    return result


class _statement_counter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.count += 1
        return execute(sql, params, many, context)

    def __enter__(self) -> _statement_counter:
        from django.db import connection

        self._cm = connection.execute_wrapper(self)
        self._cm.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._cm.__exit__(*exc)


def _read_counts(directory: Path, suffix: str = "count") -> int:
    return sum(int(f.read_text() or 0) for f in directory.glob(f"*.{suffix}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workflows", type=int, default=200)
    parser.add_argument("--nodes", type=int, default=50)
    parser.add_argument("--baseline-tasks", type=int, default=20000)
    parser.add_argument("--shapes", default="wide,chain")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get("REDIS_URL"):
        sys.exit("bench/engine.py needs DATABASE_URL=postgres://… and REDIS_URL=redis://…")
    setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    r = redis_client()
    for queue in ("default", "scheduler", "executor"):
        r.delete(queue)
    with tempfile.TemporaryDirectory(prefix="bench-engine-") as tmp:
        data_dir = Path(tmp)
        (data_dir / "counts-baseline").mkdir()
        raw = baseline(args.baseline_tasks, data_dir)
        results = [engine_run(kind, args.workflows, args.nodes, data_dir) for kind in args.shapes.split(",")]
    print(f"raw Celery no-op: {raw:.0f} tasks/s ({args.baseline_tasks} tasks, concurrency 2)")
    for result in results:
        result["ratio_to_raw_celery"] = round(result["nodes_per_s"] / raw, 2)
        print(json.dumps(result))


if __name__ == "__main__":
    main()
