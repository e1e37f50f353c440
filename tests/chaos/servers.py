"""Servers the chaos tests own: a private PostgreSQL cluster and a private Redis on free ports, a task controller
and a webhook receiver over real HTTP, and the service's own processes (gunicorn with 2 workers, 2 Celery workers,
beat). Everything is started here, on 127.0.0.1, and stopped by its PID (or its own data directory), so
restarting "the database" or "the broker" never disturbs anybody else's servers.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import redis
import requests

ROOT = Path(__file__).resolve().parents[2]


def _pg_bin() -> Path:
    """The newest installed PostgreSQL server binaries (Debian layout), or ``CHAOS_PG_BIN``."""
    if os.environ.get("CHAOS_PG_BIN"):
        return Path(os.environ["CHAOS_PG_BIN"])
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return versions[-1].parent if versions else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _pg_bin()
INTERNAL_TOKEN = "chaos-internal-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def poll(fn: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    """Call ``fn`` until it returns something truthy; fail after ``timeout`` seconds naming ``what``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                return last
        except (requests.RequestException, OSError) as exc:
            last = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}: {last!r}")


class PrivatePostgres:
    """A throwaway PostgreSQL 15 cluster in a temporary folder (``initdb`` runs as ``postgres`` when we are root,
    because PostgreSQL refuses to run as root). Tuned for tests: no fsync (a crash of PostgreSQL's processes keeps
    what it wrote to the OS). ``synchronous_commit`` stays on: with it off, ``stop("immediate")`` drops commits
    the client already saw acknowledged (measured: 26 of 359), which no real deployment does and which broke the
    exactly-once bookkeeping the chaos tests check ("31 of 32 approvals EXECUTED", issue 18)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.base = Path(tempfile.mkdtemp(prefix="chaos-pg-"))
        self.data = self.base / "data"
        self.log = self.base / "postgres.log"
        self.user_prefix: list[str] = []
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            os.chown(self.base, entry.pw_uid, entry.pw_gid)
            self.user_prefix = ["runuser", "-u", "postgres", "--"]
        self._run(PG_BIN / "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/orchestrator"

    def _run(self, *command: Any) -> None:
        subprocess.run([*self.user_prefix, *map(str, command)], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c max_connections=200"
        )
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-l", self.log, "-o", options, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        """``immediate`` is a crash: no checkpoint, open connections cut."""
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def psql(self, sql: str, db: str = "postgres") -> str:
        out = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", db, "-tAc", sql],
            check=True, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        return out.stdout.strip()

    def destroy(self) -> None:
        if self.running():
            try:
                self.stop("immediate")
            except subprocess.SubprocessError:
                pid = int((self.data / "postmaster.pid").read_text().split()[0])
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.base, ignore_errors=True)


class PrivateRedis:
    """A Redis without persistence on a free port: a restart loses every queued message, as a crash would."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                   "--appendonly", "no", "--daemonize", "no", "--dir", str(self.workdir)]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        poll(lambda: subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True).stdout, 20,
             "redis")  # fmt: skip

    def queued(self, queues: tuple[str, ...]) -> int:
        """Messages waiting in these Celery queues (lists of the same name in db 0)."""
        total = 0
        for queue in queues:
            out = subprocess.run(["redis-cli", "-p", str(self.port), "llen", queue], capture_output=True, text=True)
            total += int(out.stdout.strip() or 0)
        return total

    def unacked(self) -> list[tuple[str, list[str]]]:
        """The executor messages a worker has taken and not acknowledged (``acks_late``: until the task returns),
        as (delivery tag, attempt ids). A worker that was SIGKILLed leaves its own here: Redis hands them out
        again only after the visibility timeout (an hour)."""
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)
        try:
            entries = client.hgetall("unacked")
        finally:
            client.close()
        held = []
        for tag, raw in entries.items():
            payload = json.loads(raw)[0]
            task = payload.get("headers", {}).get("task", "")
            if task not in ("orchestrator.tasks.execute_node_run", "orchestrator.tasks.execute_node_runs"):
                continue
            args = json.loads(base64.b64decode(payload["body"]))[0]
            ids = args[0] if isinstance(args[0], list) else [args[0]]
            held.append((tag.decode(), [str(i) for i in ids]))
        return held

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


class TaskController:
    """The external executor over real HTTP (SPEC §5). Accepts ``POST /api/v1/tasks`` (deduplicated by
    ``Idempotency-Key``, as a real controller would), "executes" the action, and reports the result on the
    attempt's callback URL, retrying the callback until the orchestrator takes it. Answers polls on
    ``GET /api/v1/tasks/{id}``. ``fault`` makes it answer 500 or hang past the client's timeout; ``accept_delay``
    makes accepting a task take that long (a controller that schedules the task's container before it answers),
    so the workers spend their time inside dispatches, as they do against a real controller."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tasks: dict[str, dict[str, Any]] = {}
        self.executions: dict[tuple[str, str], list[str]] = defaultdict(list)  # (run, node) → task ids executed
        self.fault: str | None = None  # None | "500" | "hang"
        self.faults_answered = 0
        self.hang_seconds = 3.0
        self.accept_delay = 0.0
        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="controller-callback")
        self.stopping = threading.Event()
        controller = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (the "hang" fault): that is the point

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.headers.get("X-Internal-Token") != INTERNAL_TOKEN:
                    return self._reply(401, {"error": "bad token"})
                if self.path.endswith("/cancel"):
                    return self._reply(200, {"cancelled": True})
                if self.path != "/api/v1/tasks":
                    return self._reply(404, {})
                fault = controller.fault
                if fault is not None:
                    with controller.lock:
                        controller.faults_answered += 1
                    if fault == "hang":
                        controller.stopping.wait(controller.hang_seconds)
                    return self._reply(500, {"error": f"injected {fault}"})
                if controller.accept_delay:
                    controller.stopping.wait(controller.accept_delay)  # simulated latency, not a wait for state
                return self._reply(202, controller.accept(body, self.headers.get("Idempotency-Key") or ""))

            def do_GET(self) -> None:
                task_id = self.path.rstrip("/").rsplit("/", 1)[-1]
                with controller.lock:
                    task = controller.tasks.get(task_id)
                if task is None:
                    return self._reply(404, {})
                return self._reply(200, {"status": "COMPLETED", "output": task["output"], "error": ""})

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def accept(self, body: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        task_id = str(body["task_id"])
        with self.lock:
            if task_id in self.tasks:  # a re-sent dispatch: same answer, no second execution
                return {"task_id": task_id, "status": "ACCEPTED"}
            output = {"tool": body["action"].get("tool"), "idempotency_key": idempotency_key}
            self.tasks[task_id] = {"body": body, "output": output}
            self.executions[(str(body["workflow_run_id"]), str(body["node_key"]))].append(task_id)
        self.pool.submit(self._report, body["callback_url"], output)
        return {"task_id": task_id, "status": "ACCEPTED"}

    def _report(self, url: str, output: dict[str, Any]) -> None:
        deadline = time.monotonic() + 300
        while not self.stopping.is_set() and time.monotonic() < deadline:
            try:
                response = requests.post(url, json={"status": "COMPLETED", "output": output, "error": ""},
                                         headers={"X-Internal-Token": INTERNAL_TOKEN}, timeout=10)  # fmt: skip
                if response.status_code < 500:
                    return
            except requests.RequestException:
                pass
            self.stopping.wait(0.5)  # back off between callback attempts while the service is down

    def close(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.pool.shutdown(wait=False, cancel_futures=True)


class WebhookReceiver:
    """Records the ``webhook-id`` of every delivery it is sent and answers 200."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ids: dict[str, int] = defaultdict(int)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                with receiver.lock:
                    receiver.ids[self.headers.get("webhook-id", "")] += 1
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def received(self) -> set[str]:
        with self.lock:
            return set(self.ids)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Stack:
    """gunicorn (2 workers), two Celery workers and beat against the private PostgreSQL and Redis."""

    def __init__(self, workdir: Path, pg: PrivatePostgres, redis: PrivateRedis, controller: TaskController) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        data = workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in ("CELERY_TASK_ALWAYS_EAGER", "CELERY_BROKER_URL")},
            "DJANGO_SETTINGS_MODULE": "orchestrator.settings",
            "DATABASE_URL": pg.url,
            "REDIS_URL": redis.url,
            "DATA_DIR": str(data),
            "PROMETHEUS_MULTIPROC_DIR": str(data / "metrics"),
            "EXECUTOR_BACKEND": "task_controller",
            "WORKSPACE_PROVIDER": "local",
            "TASK_CONTROLLER_URL": controller.url,
            "TASK_CONTROLLER_TIMEOUT_SECONDS": "1",
            "TASK_CONTROLLER_POLL_SECONDS": "5",
            "INTERNAL_SERVICE_TOKEN": INTERNAL_TOKEN,
            "INTERNAL_CALLBACK_BASE_URL": self.base_url,
            "NODE_LEASE_SECONDS": "5",
            "NODE_DISPATCH_TIMEOUT_SECONDS": "10",
            "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
            "WEBHOOK_SWEEP_SECONDS": "2",
            "WEBHOOK_TIMEOUT_MS": "3000",
            "WEBHOOK_LEASE_SECONDS": "8",
            "WEBHOOK_REDISPATCH_SECONDS": "10",
            "API_THROTTLE_RATE": "1000000/min",
            # A request cut off by the database crash leaves its Idempotency-Key IN_PROGRESS (the cleanup needs the
            # database too); a retry with the same key may take it over after this long instead of 60 s.
            "IDEMPOTENCY_IN_PROGRESS_SECONDS": "15",
            "LOG_LEVEL": "WARNING",
        }
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        python = sys.executable
        self.commands = {
            "web": [python, "-m", "gunicorn", "orchestrator.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
                    "--workers", "2", "--timeout", "60"],
            "worker-a": self._worker(python, "a"),
            "worker-b": self._worker(python, "b"),
            "beat": [python, "-m", "celery", "-A", "orchestrator", "beat", "--loglevel", "WARNING",
                     "--schedule", str(workdir / "beat-schedule")],
        }  # fmt: skip

    def _worker(self, python: str, name: str) -> list[str]:
        return [python, "-m", "celery", "-A", "orchestrator", "worker", "--concurrency", "2", "--loglevel", "WARNING",
                "-Q", "default,scheduler,executor,webhooks,maintenance", "-n", f"chaos-{name}-{os.getpid()}@%h",
                "--without-gossip", "--without-mingle", "--without-heartbeat"]  # fmt: skip

    def manage(self, *args: str) -> str:
        out = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True,
                             capture_output=True, text=True, timeout=300)  # fmt: skip
        return out.stdout

    def start(self, name: str) -> None:
        with open(self.workdir / f"{name}.log", "ab") as log:
            # Own session: a SIGKILL to the group takes the worker's pool children with it, and nothing else.
            self.processes[name] = subprocess.Popen(self.commands[name], cwd=ROOT, env=self.env, stdout=log,
                                                    stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip

    def start_all(self) -> None:
        for name in self.commands:
            self.start(name)
        poll(lambda: requests.get(f"{self.base_url}/api/v1/health/live", timeout=2).ok, 60, "gunicorn")

    def pids(self, name: str) -> set[int]:
        """The process and its descendants (a Celery worker's pool children)."""
        found: set[int] = set()
        todo = [self.processes[name].pid]
        while todo:
            pid = todo.pop()
            found.add(pid)
            with contextlib.suppress(OSError):
                todo += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        return found

    def kill(self, name: str) -> None:
        """SIGKILL the process and its pool children: no shutdown, no acks, leases left behind."""
        process = self.processes.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-4000:]}" for p in sorted(self.workdir.glob("*.log")))
