"""The task-controller backend (SPEC §5): attempts are sent to ``TASK_CONTROLLER_URL`` and reported back.

``POST /api/v1/tasks`` carries the attempt with ``Idempotency-Key`` (the attempt id, so a re-sent dispatch is
harmless) and ``X-Internal-Token``; the controller reports on ``POST /api/v1/internal/node-runs/{id}/result``
(first report wins) and is polled on ``GET /api/v1/tasks/{task_id}`` when an attempt goes quiet. Cancellation is
``POST /api/v1/tasks/{task_id}/cancel`` (best effort). The controller is an operator-configured internal service,
so these calls are not SSRF-guarded.
"""

from __future__ import annotations

from typing import Any

import requests
from django.conf import settings


class TaskControllerError(Exception):
    """The controller could not be reached or refused the request."""


def _headers(idempotency_key: str | None = None) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if settings.INTERNAL_SERVICE_TOKEN:
        headers["X-Internal-Token"] = settings.INTERNAL_SERVICE_TOKEN
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    return headers


def _url(path: str) -> str:
    return f"{str(settings.TASK_CONTROLLER_URL).rstrip('/')}{path}"


def callback_url(node_run_id: str) -> str:
    return f"{settings.INTERNAL_CALLBACK_BASE_URL}/api/v1/internal/node-runs/{node_run_id}/result"


def build_payload(
    *,
    node_run_id: str,
    run_id: str,
    node_key: str,
    attempt: int,
    workspace_id: str | None,
    action: dict[str, Any],
    fencing_token: int | None,
) -> dict[str, Any]:
    return {
        "task_id": node_run_id,
        "workflow_run_id": run_id,
        "node_key": node_key,
        "attempt": attempt,
        "workspace_id": workspace_id,
        "action": action,
        "fencing_token": fencing_token,
        "callback_url": callback_url(node_run_id),
    }


def dispatch(payload: dict[str, Any]) -> dict[str, Any]:
    """Send one attempt; returns the controller's JSON answer. Raises ``TaskControllerError`` unless 2xx."""
    try:
        response = requests.post(
            _url("/api/v1/tasks"),
            json=payload,
            headers=_headers(idempotency_key=payload["task_id"]),
            timeout=settings.TASK_CONTROLLER_TIMEOUT_SECONDS,
        )
    except requests.RequestException as exc:
        raise TaskControllerError(f"{exc.__class__.__name__}: {exc}") from exc
    if not 200 <= response.status_code < 300:
        raise TaskControllerError(f"HTTP {response.status_code}: {response.text[:300]}")
    try:
        body = response.json()
    except ValueError:
        body = {}
    return body if isinstance(body, dict) else {}


def poll(task_id: str) -> dict[str, Any] | None:
    """The controller's view of a task (``{"status", "output", "error"}``), or None when it does not know it."""
    try:
        response = requests.get(
            _url(f"/api/v1/tasks/{task_id}"), headers=_headers(), timeout=settings.TASK_CONTROLLER_TIMEOUT_SECONDS
        )
    except requests.RequestException as exc:
        raise TaskControllerError(f"{exc.__class__.__name__}: {exc}") from exc
    if response.status_code == 404:
        return None
    if not 200 <= response.status_code < 300:
        raise TaskControllerError(f"HTTP {response.status_code}: {response.text[:300]}")
    try:
        body = response.json()
    except ValueError as exc:
        raise TaskControllerError("the controller answered with something that is not JSON") from exc
    return body if isinstance(body, dict) else None


def capabilities() -> Any:
    """The controller's action catalogue, ``GET /api/v1/capabilities`` (docs/task-controller-capabilities.md).
    Raises ``TaskControllerError`` unless 2xx with a JSON body."""
    try:
        response = requests.get(
            _url("/api/v1/capabilities"), headers=_headers(), timeout=settings.TASK_CONTROLLER_TIMEOUT_SECONDS
        )
    except requests.RequestException as exc:
        raise TaskControllerError(f"{exc.__class__.__name__}: {exc}") from exc
    if not 200 <= response.status_code < 300:
        raise TaskControllerError(f"HTTP {response.status_code}: {response.text[:300]}")
    try:
        return response.json()
    except ValueError as exc:
        raise TaskControllerError("the controller answered with something that is not JSON") from exc


def cancel(task_id: str) -> bool:
    """Tell the controller to stop a task; False when that failed (the lease/poll paths still clean up)."""
    try:
        response = requests.post(
            _url(f"/api/v1/tasks/{task_id}/cancel"),
            json={},
            headers=_headers(idempotency_key=f"cancel-{task_id}"),
            timeout=settings.TASK_CONTROLLER_TIMEOUT_SECONDS,
        )
    except requests.RequestException:
        return False
    return 200 <= response.status_code < 300 or response.status_code == 404
