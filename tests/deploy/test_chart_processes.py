"""The chart's commands and environment, run for real on this machine (no Kubernetes, no Docker).

The web container's gunicorn command line and the migration Job's command are taken from the rendered
production chart and started as processes with the chart's environment (the pod IP is 127.0.0.1): the
probes, the HTTPS redirect behind the proxy, and the metrics endpoint must behave as they will in the cluster.
With Redis, the worker's command, its liveness probe and the metrics sidecar are exercised too.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.chart_tools import CHART, ROOT, Rendered, render

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
BIN = Path(sys.executable).parent
POD_IP = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def expand(value: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion in commands and env values."""
    for name, replacement in env.items():
        value = value.replace(f"$({name})", replacement)
    return value


def container(rendered: Rendered, suffix: str, name: str) -> dict[str, Any]:
    kind = "Job" if suffix == "-migrate" else "Deployment"
    pod = rendered.find(kind, suffix)["spec"]["template"]["spec"]
    return next(c for c in pod["containers"] if c["name"] == name)


def container_env(rendered: Rendered, spec: dict[str, Any], base: dict[str, str]) -> dict[str, str]:
    env = dict(rendered.find("ConfigMap", "orch-bytebot-workflow-orchestrator")["data"]) | base
    env["POD_IP"] = POD_IP
    env["POD_NAME"] = f"orch-test-{os.getpid()}"
    for item in spec.get("env", []):
        if "value" in item:
            env[item["name"]] = expand(item["value"], env)
    return env


def command(spec: dict[str, Any], env: dict[str, str]) -> list[str]:
    argv = [expand(arg, env) for arg in spec["command"]]
    if (BIN / argv[0]).exists():  # gunicorn / celery / python from this virtualenv
        argv[0] = str(BIN / argv[0])
    return argv


def get(url: str, host: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    request = urllib.request.Request(url, headers={"Host": host, **(headers or {})})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def wait_until(predicate: Any, what: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{what}: process exited with {proc.returncode}\n{log.read_text()[-3000:]}")
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{what}: not within {timeout}s\n{log.read_text()[-3000:]}")


def start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def production(helm_bin: str) -> Rendered:
    rendered = render(helm_bin, values_files=["values-production.yaml"], with_secrets=False)
    assert rendered.returncode == 0, rendered.stderr
    return rendered


@pytest.fixture
def base_env(tmp_path: Path) -> dict[str, str]:
    """What the operator's Secret and the pod's emptyDirs provide."""
    database = os.environ.get("DATABASE_URL", "")
    if database.startswith("postgres"):
        # Same server as the suite, a database of its own for this test.
        name = f"orch_chart_{os.getpid()}"
        admin = database.rsplit("/", 1)[0] + "/postgres"
        _psql(admin, f'DROP DATABASE IF EXISTS "{name}"')
        _psql(admin, f'CREATE DATABASE "{name}"')
        database = database.rsplit("/", 1)[0] + "/" + name
    else:
        database = f"sqlite:///{tmp_path / 'chart.sqlite3'}"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": database,
        "METRICS_TOKEN": "metrics-" + secrets.token_urlsafe(16),
        "INTERNAL_SERVICE_TOKEN": secrets.token_urlsafe(16),
        "AUDIT_CHAIN_KEY": secrets.token_urlsafe(48),
        "AUDIT_ANCHOR_DIR": str(tmp_path / "audit-anchors"),
        "DATA_DIR": str(tmp_path / "data"),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "TMPDIR": str(tmp_path),
    }
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    (tmp_path / "metrics").mkdir()
    return env


def _psql(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


@pytest.fixture
def migrated(production: Rendered, base_env: dict[str, str], tmp_path: Path) -> Iterator[dict[str, str]]:
    job = container(production, "-migrate", "migrate")
    env = {item["name"]: item["value"] for item in job["env"]} | base_env
    result = subprocess.run(command(job, env), cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    yield base_env
    if base_env["DATABASE_URL"].startswith("postgres"):
        name = base_env["DATABASE_URL"].rsplit("/", 1)[1]
        _psql(
            base_env["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        )


def test_web_command_serves_probes_redirects_and_metrics_like_in_the_cluster(
    production: Rendered, migrated: dict[str, str], tmp_path: Path
) -> None:
    spec = container(production, "-web", "web")
    env = container_env(production, spec, migrated)
    port = free_port()
    argv = [arg if not arg.startswith("--bind=") else f"--bind=127.0.0.1:{port}" for arg in command(spec, env)]
    argv = [a if not a.startswith("--workers=") else "--workers=2" for a in argv]
    log = tmp_path / "web.log"
    proc = start(argv, env, log)
    try:
        base = f"http://127.0.0.1:{port}"
        host = f"{POD_IP}:{port}"  # what kubelet and Prometheus send
        wait_until(lambda: get(base + "/api/v1/health/live", host)[0] == 200, "liveness", proc, log)
        status, _, body = get(base + "/api/v1/health/ready", host)
        assert status == 200, body
        # Everything else over plain HTTP is redirected to HTTPS; behind the proxy (X-Forwarded-Proto) it is not.
        status, headers, _ = get(base + "/api/v1/me", "orchestrator.example.com")
        assert status == 301 and headers["Location"].startswith("https://orchestrator.example.com/")
        status, headers, _ = get(base + "/api/v1/me", "orchestrator.example.com", {"X-Forwarded-Proto": "https"})
        assert status == 401
        assert "max-age=31536000" in headers["Strict-Transport-Security"]
        # An unknown Host is refused.
        assert get(base + "/api/v1/health/live", "evil.example.net")[0] == 400
        # Metrics: token required, then the multiprocess registry of this pod's gunicorn workers.
        assert get(base + "/api/v1/metrics", host)[0] == 401
        token = {"Authorization": f"Bearer {migrated['METRICS_TOKEN']}"}
        status, _, body = get(base + "/api/v1/metrics", host, token)
        assert status == 200
        assert b"django_http_requests" in body
    finally:
        stop(proc)
    assert "Booting worker" in log.read_text()


@pytest.mark.redis
def test_worker_command_liveness_probe_and_metrics_sidecar(
    production: Rendered, migrated: dict[str, str], tmp_path: Path
) -> None:
    spec = container(production, "-worker", "worker")
    env = container_env(production, spec, migrated)
    argv = [a if not a.startswith("--concurrency=") else "--concurrency=1" for a in command(spec, env)]
    log = tmp_path / "worker.log"
    proc = start(argv, env, log)
    exporter_proc = None
    try:
        # The liveness probe, exactly as rendered (sh -c with $POD_NAME from the environment).
        probe = spec["livenessProbe"]["exec"]["command"]
        probe_env = env | {"PATH": f"{BIN}:{env['PATH']}"}

        def probe_ok() -> bool:
            return subprocess.run(probe, cwd=ROOT, env=probe_env, capture_output=True, timeout=60).returncode == 0

        wait_until(probe_ok, "celery inspect ping", proc, log, timeout=90)

        sidecar = container(production, "-worker", "metrics")
        port = free_port()
        sidecar_env = {item["name"]: item["value"] for item in sidecar["env"]}
        sidecar_env |= {"PROMETHEUS_MULTIPROC_DIR": env["PROMETHEUS_MULTIPROC_DIR"], "METRICS_EXPORTER_PORT": str(port)}
        sidecar_env["PATH"] = env["PATH"]
        argv = [sys.executable, str(CHART / "files" / "metrics_exporter.py")]
        exporter_log = tmp_path / "exporter.log"
        exporter_proc = start(argv, sidecar_env, exporter_log)
        wait_until(
            lambda: get(f"http://127.0.0.1:{port}/metrics", "localhost")[0] == 200,
            "metrics sidecar",
            exporter_proc,
            exporter_log,
        )
    finally:
        if exporter_proc is not None:
            stop(exporter_proc)
        stop(proc)
    assert f"worker@{env['POD_NAME']} ready" in log.read_text()
