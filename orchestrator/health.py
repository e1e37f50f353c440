"""Liveness and readiness probes (SPEC §9).

``live`` touches nothing. ``ready`` checks that the database answers and has no unapplied migrations, and that
the broker is reachable; a failure answers 503 naming the failing check so the operator knows where to look.
"""

from __future__ import annotations

import os
from pathlib import Path

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse

from orchestrator.lib.problems import problem_response

_migrated = False


def check_database() -> str | None:
    """None when the database answers and is fully migrated, otherwise the reason."""
    global _migrated
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        if not _migrated:
            executor = MigrationExecutor(connection)
            plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
            if plan:
                return f"{len(plan)} migration(s) not applied"
            _migrated = True  # migrations never un-apply in a running process
    except DatabaseError as exc:
        connection.close_if_unusable_or_obsolete()
        return f"unreachable: {exc.__class__.__name__}"
    return None


def check_broker() -> str | None:
    """None when the Celery broker is reachable, otherwise the reason."""
    url: str = settings.CELERY_BROKER_URL
    if url.startswith("filesystem://"):
        folder = Path(str(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]))
        if folder.is_dir() and os.access(folder, os.W_OK):
            return None
        return f"broker folder {folder} is not writable"
    if url.startswith(("redis://", "rediss://")):
        try:
            client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
            client.ping()
            client.close()
        except redis.RedisError as exc:
            return f"unreachable: {exc.__class__.__name__}"
        return None
    return None  # other brokers: not checked here


def live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def ready(request: HttpRequest) -> JsonResponse:
    checks = {"database": check_database(), "broker": check_broker()}
    failing = {name: reason for name, reason in checks.items() if reason is not None}
    if failing:
        detail = "; ".join(f"{name}: {reason}" for name, reason in failing.items())
        return problem_response(
            status=503,
            code="not_ready",
            title="Service not ready",
            detail=detail,
            checks={name: (reason or "ok") for name, reason in checks.items()},
            headers={"Retry-After": "5"},
        )
    return JsonResponse({"status": "ok", "checks": dict.fromkeys(checks, "ok")})
