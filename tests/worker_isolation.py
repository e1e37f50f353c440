"""What each pytest-xdist worker gets of its own, so ``make test``'s two workers never see each other's state.

pytest-django already gives every worker its own test database (``test_<name>_gw0``, ``…_gw1``), and xdist its own
``tmp_path`` folders. The rest of what the suite shares through the environment is made per-worker here, before the
project's settings read it (``tests/settings.py`` calls :func:`isolate_xdist_worker` first):

* ``DATA_DIR`` becomes ``<DATA_DIR>/<worker>``: e-mails in ``outbox/``, the Prometheus multiprocess files, broker
  folders and the SQLite test database stay per worker (the metrics tests read counters another worker would bump).
* ``REDIS_URL`` points at a private ``redis-server`` (no persistence, a free port on 127.0.0.1, the same db number)
  that this worker starts and stops. One Redis db cannot be shared: a test's ``cache.clear()`` is ``FLUSHDB``
  (it would drop the other worker's broker queues and throttle counters), and a Celery worker process started by
  one worker's test would take the tasks the other worker's tests enqueue, against the wrong database.

Processes that the tests start inherit these variables, so they use the worker's database, Redis and folders too.
Outside xdist (a plain ``pytest`` run) nothing changes.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlsplit, urlunsplit

# Set to the worker id once this worker is isolated; processes the tests start inherit it (and ``PYTEST_XDIST_WORKER``)
# and must not isolate themselves a second time.
MARK = "ORCHESTRATOR_TEST_WORKER"


def isolate_xdist_worker() -> None:
    """In an xdist worker (``PYTEST_XDIST_WORKER`` set), move ``DATA_DIR`` and ``REDIS_URL`` to the worker's own.

    Precondition: ``DATA_DIR`` is set in the environment (``tests/settings.py`` sets it first). Side effects: creates
    the worker's folder, may start a ``redis-server`` child (stopped at exit, and by the kernel if this process dies),
    and rewrites ``DATA_DIR``, ``REDIS_URL`` (and ``CELERY_BROKER_URL`` when it named the same server) in
    ``os.environ``. Does nothing outside xdist or in a process started by an already isolated worker.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker or os.environ.get(MARK) == worker:
        return
    os.environ[MARK] = worker
    data_dir = os.path.join(os.environ["DATA_DIR"], worker)
    os.makedirs(data_dir, exist_ok=True)
    os.environ["DATA_DIR"] = data_dir
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)  # follows DATA_DIR (orchestrator/settings.py)
    shared = os.environ.get("REDIS_URL")
    if shared:
        private = _start_private_redis(shared, data_dir)
        os.environ["REDIS_URL"] = private
        if os.environ.get("CELERY_BROKER_URL") == shared:
            os.environ["CELERY_BROKER_URL"] = private


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: SIGTERM the redis-server when the worker that started it dies (even by SIGKILL), so none outlives it."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _start_private_redis(shared_url: str, data_dir: str) -> str:
    """Start ``redis-server`` on a free port and return ``shared_url`` re-pointed at it (same db number).

    Fails with a message when ``redis-server`` is missing: sharing ``shared_url`` between workers is not safe (see
    the module docstring), so run without ``-n`` then. The server stops when this worker process exits.
    """
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError(
            "pytest-xdist workers each need a Redis of their own and redis-server is not on PATH: install it "
            "(apt-get install redis-server) or run the suite without -n (PYTEST_ARGS='-n 0')"
        )
    import redis  # the project's own dependency

    workdir = tempfile.mkdtemp(prefix="redis-", dir=data_dir)
    last_error = ""
    for _attempt in range(5):  # a free port can be taken between the probe and redis-server's bind
        port = _free_port()
        command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                   "--dir", workdir, "--daemonize", "no", "--loglevel", "warning"]  # fmt: skip
        log = os.path.join(workdir, "redis.log")
        with open(log, "wb") as out:
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
        deadline = time.monotonic() + 20
        ready = False
        while not ready and time.monotonic() < deadline and process.poll() is None:
            try:
                ready = bool(client.ping())
            except redis.RedisError:
                time.sleep(0.02)  # polling interval, bounded by the deadline
        client.close()
        if ready:
            if sys.platform != "linux":
                # On Linux the kernel stops it when this worker exits (_die_with_parent), after every thread that
                # still talks to it (the wait hub's subscription) is gone; stopping it at exit would make them log.
                atexit.register(_stop, process)
            # Same db number as the shared URL (tests derive other dbs from it); no password, no TLS, no options.
            return urlunsplit(("redis", f"127.0.0.1:{port}", urlsplit(shared_url).path, "", ""))
        _stop(process)
        with open(log, errors="replace") as out:
            last_error = out.read()[-2000:]
    raise RuntimeError(f"could not start a private redis-server for this pytest-xdist worker: {last_error}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop exactly this redis-server (by its Popen handle), SIGKILL if it lingers."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
