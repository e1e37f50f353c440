"""OpenTelemetry tracing (issue 23): off unless the standard ``OTEL_*`` variables ask for it.

On when ``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set or ``OTEL_TRACES_EXPORTER``
names an exporter (``otlp``, the default, over HTTP/protobuf; or ``console``); ``OTEL_SDK_DISABLED=true`` or
``OTEL_TRACES_EXPORTER=none`` keep it off. Everything else (service name, resource attributes, sampler, headers,
batch sizes) is read by the SDK from its own ``OTEL_*`` variables. ``service.name`` defaults to
``workflow-orchestrator``.

Instrumented: Django (server spans; W3C ``traceparent`` of incoming requests continues the caller's trace),
Celery (the context travels in task headers from the publisher to the worker, so tasks enqueued by a request, and
tasks enqueued by those tasks, stay in the request's trace), psycopg (queries), requests (task-controller calls)
and urllib3 (webhook deliveries, which use a pinned urllib3 pool): outgoing requests carry ``traceparent``.

Called by ``orchestrator.wsgi`` before Django loads its middleware, and by ``orchestrator.celery`` when a worker
or beat starts. Idempotent per process; forked children inherit it (the SDK restarts its export thread at fork).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter

logger = logging.getLogger(__name__)

DEFAULT_SERVICE_NAME = "workflow-orchestrator"
_provider: TracerProvider | None = None


def requested(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the environment asks for tracing (see the module docstring). No side effects."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        return exporter != "none"
    return bool(environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def _exporter_from_env(environ: Mapping[str, str]) -> SpanExporter:
    name = environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() or "otlp"
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if name != "otlp":
        logger.warning("OTEL_TRACES_EXPORTER=%s is not available here; using otlp", name)
    protocol = environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    if protocol and protocol != "http/protobuf":
        logger.warning("OTEL_EXPORTER_OTLP_PROTOCOL=%s is not available here; using http/protobuf", protocol)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()  # endpoint, headers, timeout, compression: from OTEL_EXPORTER_OTLP_*


def setup(*, exporter: SpanExporter | None = None, environ: Mapping[str, str] = os.environ) -> bool:
    """Install the tracer provider and the instrumentations when ``requested`` (or when an ``exporter`` is given,
    as tests do: spans are then exported synchronously). Returns whether tracing is on in this process.

    Precondition: before Django builds its middleware (the Django instrumentation inserts its own). Side effects:
    sets the global tracer provider (once per process: OpenTelemetry never replaces it, so a later call's
    ``exporter`` is ignored) and patches Django, Celery, psycopg, requests and urllib3 (again after ``uninstrument``).
    """
    global _provider
    if _provider is None:
        if exporter is None and not requested(environ):
            return False
        resource = Resource.create({"service.name": DEFAULT_SERVICE_NAME}).merge(OTELResourceDetector().detect())
        provider = TracerProvider(resource=resource)
        if exporter is not None:
            provider.add_span_processor(SimpleSpanProcessor(exporter))
        else:
            provider.add_span_processor(BatchSpanProcessor(_exporter_from_env(environ)))
        trace.set_tracer_provider(provider)
        _provider = provider
        logger.info("OpenTelemetry tracing on (service.name=%s)", resource.attributes.get("service.name"))
    for instrumentor in _instrumentors():
        instrumentor.instrument()  # a no-op for one already in place
    return True


def _instrumentors() -> list[Any]:
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor
    from opentelemetry.instrumentation.urllib3 import URLLib3Instrumentor

    # psycopg: connections are opened by Django's backend through psycopg.connect, which this wraps.
    return [DjangoInstrumentor(), CeleryInstrumentor(), PsycopgInstrumentor(), RequestsInstrumentor(),
            URLLib3Instrumentor()]  # fmt: skip


def uninstrument() -> None:
    """Remove the instrumentations (tests); the provider stays and ``setup`` puts them back. Exports what is
    buffered first."""
    if _provider is None:
        return
    _provider.force_flush()
    for instrumentor in _instrumentors():
        instrumentor.uninstrument()


def flush(timeout_ms: int = 5000) -> None:
    """Export what is buffered (worker shutdown, tests). No-op when tracing is off."""
    if _provider is not None:
        _provider.force_flush(timeout_ms)
