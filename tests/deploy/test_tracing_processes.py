"""One trace from an API call to the webhook subscriber and the task controller, across real processes (issue 23).

gunicorn and a Celery worker run with ``OTEL_EXPORTER_OTLP_ENDPOINT`` pointing at a local OTLP/HTTP receiver. The
client starts the trace (its own W3C ``traceparent`` on ``POST /api/v1/workflows``); the webhook receiver and the
fake task controller must get that trace id in their ``traceparent``, and the receiver must hold spans of that
trace from both processes (the web request, the Celery tasks, the outgoing calls).
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
import requests

from orchestrator import services
from tests.deploy.tracing_servers import OtlpReceiver, Recorder
from tests.factories import TenantFactory
from tests.orchestrator.test_e2e import database_url, free_port, start_processes, stop_processes
from tests.polling import poll

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def traced_stack(tmp_path: Path) -> Iterator[dict[str, Any]]:
    otlp, hooks = OtlpReceiver(), Recorder()
    controller = Recorder(reply={"status": "QUEUED"}, status=202)
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "orchestrator.settings",
        "DATABASE_URL": database_url(),
        "DATA_DIR": str(tmp_path / "data"),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "data" / "metrics"),
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.url,
        "OTEL_SERVICE_NAME": "orchestrator-trace-test",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "EXECUTOR_BACKEND": "task_controller",
        "TASK_CONTROLLER_URL": controller.url,
        "INTERNAL_SERVICE_TOKEN": secrets.token_urlsafe(24),
        "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
    }
    if os.environ.get("REDIS_URL"):
        # A broker of its own: a tick message another test left in the shared Redis db would claim the node in
        # its own (untraced) context before the API request's tick does. Redis db 15 belongs to this fixture.
        env["REDIS_URL"] = urlunsplit(urlsplit(os.environ["REDIS_URL"])._replace(path="/15"))
        redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    env.pop("OTEL_SDK_DISABLED", None)
    commands = {
        "web": [sys.executable, "-m", "gunicorn", "orchestrator.wsgi:application", "--config",
                "python:orchestrator.gunicorn_conf", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        "worker": [sys.executable, "-m", "celery", "-A", "orchestrator", "worker", "--concurrency", "1",
                   "-Q", "default,scheduler,executor,webhooks,maintenance", "-n", f"trace-{os.getpid()}@%h",
                   "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
    }  # fmt: skip
    (tmp_path / "data").mkdir()
    processes = start_processes(commands, env, tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        poll(lambda: requests.get(f"{base}/api/v1/health/live", timeout=2).ok, 60, "gunicorn",
             tolerate=(requests.RequestException,))  # fmt: skip
        yield {"base": base, "otlp": otlp, "hooks": hooks, "controller": controller, "logs": tmp_path}
    finally:
        stop_processes(processes)
        for server in (otlp, hooks, controller):
            server.close()


def test_one_trace_from_the_api_call_to_the_webhook_and_the_task_controller(traced_stack: dict[str, Any]) -> None:
    base, otlp, hooks, controller = (traced_stack[k] for k in ("base", "otlp", "hooks", "controller"))
    tenant = TenantFactory()
    _, key = services.create_api_key(tenant=tenant, name="trace", scopes=["workflows", "webhooks"])
    auth = {"Authorization": f"Bearer {key}"}
    subscribed = requests.post(f"{base}/api/v1/webhooks", json={"url": hooks.url, "events": ["*"]}, headers=auth)
    assert subscribed.status_code == 201, subscribed.text

    trace_id = secrets.token_hex(16)
    traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
    body = {"name": "traced", "start": True,
            "nodes": [{"key": "remote", "type": "TASK", "action": {"tool": "echo", "params": {"x": 1}}}]}  # fmt: skip
    created = requests.post(f"{base}/api/v1/workflows", json=body, headers={**auth, "traceparent": traceparent})
    assert created.status_code == 201, created.text

    try:
        poll(lambda: trace_id in hooks.trace_ids(), 60, "a webhook delivery carrying the API call's trace id")
        poll(lambda: trace_id in controller.trace_ids("/api/v1/tasks"), 60, "the task-controller dispatch in the trace")
        # The web request, the Celery tasks and both outgoing calls exported spans of that trace.
        wanted = ("django", "celery", "urllib3", "requests")

        def scopes() -> set[str]:
            return {w for span in otlp.in_trace(trace_id) for w in wanted if w in span["scope"]}

        poll(lambda: scopes() == set(wanted), 30, "spans of the trace from every instrumentation at the receiver")
    except AssertionError:
        for name in ("web", "worker"):
            print(name, (traced_stack["logs"] / f"{name}.log").read_text()[-4000:])
        raise
    assert {span["service"] for span in otlp.in_trace(trace_id)} == {"orchestrator-trace-test"}
    # Every traceparent a subscriber saw for events of this run belongs to the one trace.
    assert hooks.trace_ids() == {trace_id}
