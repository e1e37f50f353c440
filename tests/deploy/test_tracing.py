"""OpenTelemetry in one process with the in-memory exporter (issue 23): off unless OTEL_* ask for it; incoming
``traceparent`` continues the caller's trace; the webhook POST, the task-controller call and a published Celery
task carry the current trace. The cross-process path is in test_tracing_processes.py."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery.signals import before_task_publish
from django.db import connection
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from rest_framework.test import APIClient

from orchestrator import ops_metrics, telemetry
from orchestrator.executors import task_controller
from tests.deploy.chart_tools import ROOT
from tests.deploy.tracing_servers import Recorder
from webhooks import ssrf


@pytest.mark.parametrize(
    ("environ", "on"),
    [
        ({}, False),
        ({"OTEL_SERVICE_NAME": "x"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, False),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, False),
    ],
)
def test_tracing_is_off_unless_the_environment_asks(environ: dict[str, str], on: bool) -> None:
    assert telemetry.requested(environ) is on


def test_the_web_application_without_otel_variables_is_not_traced(tmp_path: Path) -> None:
    """Loading the WSGI application (what gunicorn does) with no OTEL_* set installs nothing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")} | {"DATA_DIR": str(tmp_path)}
    code = (
        "import orchestrator.wsgi; from orchestrator import telemetry; from opentelemetry import trace; "
        "print(telemetry._provider is None, type(trace.get_tracer_provider()).__name__)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["True", "ProxyTracerProvider"], result.stderr


# One exporter for the session: the global tracer provider is set once per process and keeps its exporter.
_EXPORTER = InMemorySpanExporter()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    assert telemetry.setup(exporter=_EXPORTER)
    _EXPORTER.clear()
    yield _EXPORTER
    telemetry.uninstrument()  # the rest of the suite runs untraced


def trace_ids(exporter: InMemorySpanExporter) -> set[str]:
    return {format(span.context.trace_id, "032x") for span in exporter.get_finished_spans()}


@pytest.mark.django_db(transaction=True)
def test_an_incoming_traceparent_is_continued_by_the_request_and_its_queries(
    spans: InMemorySpanExporter, api: APIClient
) -> None:
    connection.close()  # opened before tracing was set up: the next one is opened through the instrumented driver
    spans.clear()
    trace_id = secrets.token_hex(16)
    response = api.get("/api/v1/workflows", HTTP_TRACEPARENT=f"00-{trace_id}-{secrets.token_hex(8)}-01")
    assert response.status_code == 200
    finished = spans.get_finished_spans()
    server = [s for s in finished if s.kind == trace.SpanKind.SERVER]
    assert server and all(format(s.context.trace_id, "032x") == trace_id for s in server)
    if connection.vendor == "postgresql":  # psycopg is the PostgreSQL driver; SQLite has no spans of its own
        queries = [s for s in finished if s.instrumentation_scope and "psycopg" in s.instrumentation_scope.name]
        assert queries and {format(s.context.trace_id, "032x") for s in queries} == {trace_id}
    connection.close()  # the traced connection must not outlive the test (the suite after it runs untraced)


def test_webhook_post_and_task_controller_call_carry_the_current_trace(
    spans: InMemorySpanExporter, settings: Any
) -> None:
    hooks, controller = Recorder(), Recorder(reply={"status": "QUEUED"}, status=202)
    settings.TASK_CONTROLLER_URL = controller.url
    spans.clear()
    try:
        with trace.get_tracer(__name__).start_as_current_span("work") as span:
            trace_id = format(span.get_span_context().trace_id, "032x")
            target = ssrf.resolve_target(hooks.url + "/hook", allow_private=True)
            result = ssrf.post_pinned(target, body=b"{}", headers={"Content-Type": "application/json"}, timeout_s=5)
            assert result.status_code == 200
            task_controller.dispatch({"task_id": str(uuid.uuid4())})
    finally:
        hooks.close()
        controller.close()
    assert hooks.trace_ids() == {trace_id}
    assert controller.trace_ids("/api/v1/tasks") == {trace_id}
    http = [s for s in spans.get_finished_spans() if {"http.method", "http.request.method"} & set(s.attributes or {})]
    assert {format(s.context.trace_id, "032x") for s in http} == {trace_id}
    assert len(http) == 2  # one span per call: requests' span suppresses a second one from urllib3 below it


def test_a_published_celery_task_carries_the_current_trace(spans: InMemorySpanExporter) -> None:
    seen: list[dict[str, Any]] = []

    def record(headers: dict[str, Any], **_: Any) -> None:
        seen.append(dict(headers))

    before_task_publish.connect(record, weak=False)
    queue = f"trace-test-{uuid.uuid4().hex}"  # nobody consumes it
    try:
        with trace.get_tracer(__name__).start_as_current_span("enqueue") as span:
            trace_id = format(span.get_span_context().trace_id, "032x")
            ops_metrics.verify_audit_chains.apply_async(queue=queue)
    finally:
        before_task_publish.disconnect(record)
    assert seen and seen[-1]["traceparent"].split("-")[1] == trace_id
    assert trace_id in trace_ids(spans)
