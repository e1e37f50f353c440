"""Workspace providers (SPEC §4, §5): where a workspace really lives.

- ``local``: a folder ``DATA_DIR/workspaces/<id>`` that TASK tools read and write. Provisioning creates it,
  hibernation keeps it (state persists between runs), termination deletes it.
- ``task_controller``: the desktop behind ``TASK_CONTROLLER_URL``: ``POST /api/v1/workspaces/{id}/desktop``
  (create or resume), ``GET …/desktop`` (status), ``POST …/desktop/hibernate``, ``POST …/desktop/terminate``,
  authenticated with ``X-Internal-Token``.

Providers only talk to the outside world; they never touch the database. They raise
``RetryableProviderError`` (capacity, 5xx, network; optionally with the server's ``Retry-After``) or
``FatalProviderError`` (the request itself is refused) and the services decide what that means for the status.
Provisioning is a *reconcile step*: look at the provider's state and push it one step towards "ready", so a
step can be repeated safely after a crash or a lost message.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Protocol

import requests
from django.conf import settings
from django.utils import timezone

logger = logging.getLogger(__name__)


class ProviderError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RetryableProviderError(ProviderError):
    """Worth retrying later (no capacity, server error, network). ``retry_after`` is the server's hint, seconds."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class FatalProviderError(ProviderError):
    """Retrying cannot help (bad request, refused credentials, desktop in an error state)."""


@dataclass(frozen=True)
class ProvisionResult:
    """``ready``: usable now. Otherwise the provider is still working on it: poll again after a short delay."""

    ready: bool
    detail: str = ""


class WorkspaceProvider(Protocol):
    name: str

    def provision(self, *, workspace_id: str, tenant_id: str, name: str) -> ProvisionResult:
        """Push the workspace towards ready (create or resume); safe to repeat."""

    def hibernate(self, *, workspace_id: str) -> None:
        """Stop paying for the workspace but keep its state. Idempotent."""

    def terminate(self, *, workspace_id: str) -> None:
        """Destroy the workspace and its state. Idempotent."""


def workspace_folder(workspace_id: Any) -> Path:
    """The local provider's folder of a workspace (it may not exist yet)."""
    return Path(settings.DATA_DIR) / "workspaces" / str(workspace_id)


class LocalProvider:
    """A real folder per workspace under ``DATA_DIR``; every call is synchronous and cannot be out of capacity."""

    name = "local"

    def provision(self, *, workspace_id: str, tenant_id: str, name: str) -> ProvisionResult:
        try:
            workspace_folder(workspace_id).mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a full or read-only disk will not heal by itself within the retry budget
            raise FatalProviderError(f"cannot create the workspace folder: {exc.strerror or exc}") from exc
        return ProvisionResult(ready=True, detail="folder ready")

    def hibernate(self, *, workspace_id: str) -> None:
        """Nothing to stop locally: the folder (the workspace's state) is kept as it is."""

    def terminate(self, *, workspace_id: str) -> None:
        shutil.rmtree(workspace_folder(workspace_id), ignore_errors=True)


_READY = {"ready", "running", "active", "available", "started"}
_IN_PROGRESS = {"pending", "creating", "provisioning", "starting", "waking", "resuming", "booting"}
_ABSENT = {"hibernated", "stopped", "terminated", "deleted", "absent", "not_found"}
_BROKEN = {"failed", "error", "errored"}
_RETRYABLE_STATUSES = {408, 425, 429, 500, 502, 503, 504}


def _retry_after(response: requests.Response) -> float | None:
    raw = response.headers.get("Retry-After")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(raw) - timezone.now()).total_seconds())
    except (TypeError, ValueError):
        return None


def _excerpt(response: requests.Response) -> str:
    text = (response.text or "").strip().replace("\n", " ")
    return text[:200]


class TaskControllerProvider:
    """Desktops in the task controller. Capacity errors (429/503) and 5xx retry; other 4xx are fatal."""

    name = "task_controller"

    def __init__(self, *, base_url: str | None = None, token: str | None = None, timeout: float | None = None):
        self.base_url = (base_url or settings.TASK_CONTROLLER_URL or "").rstrip("/")
        self.token = token if token is not None else (settings.INTERNAL_SERVICE_TOKEN or "")
        self.timeout = timeout if timeout is not None else settings.WORKSPACE_PROVIDER_TIMEOUT_SECONDS

    def _url(self, workspace_id: str, suffix: str = "") -> str:
        return f"{self.base_url}/api/v1/workspaces/{workspace_id}/desktop{suffix}"

    def _call(self, method: str, url: str, body: dict[str, Any] | None = None) -> requests.Response:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["X-Internal-Token"] = self.token
        try:
            return requests.request(
                method, url, json=body, headers=headers, timeout=self.timeout, allow_redirects=False
            )
        except requests.Timeout as exc:
            raise RetryableProviderError(f"task controller timed out after {self.timeout}s") from exc
        except requests.RequestException as exc:
            raise RetryableProviderError(f"task controller unreachable: {exc.__class__.__name__}") from exc

    def _raise_for(self, response: requests.Response, what: str) -> None:
        code = response.status_code
        if code in _RETRYABLE_STATUSES:
            kind = "no capacity" if code in (429, 503) else "server error"
            raise RetryableProviderError(
                f"{what}: task controller answered {code} ({kind}) {_excerpt(response)}".strip(),
                retry_after=_retry_after(response),
            )
        raise FatalProviderError(f"{what}: task controller refused with {code} {_excerpt(response)}".strip())

    @staticmethod
    def _state(response: requests.Response) -> str:
        try:
            body = response.json()
        except ValueError as exc:
            raise RetryableProviderError("task controller answered with a body that is not JSON") from exc
        state = body.get("status") if isinstance(body, dict) else None
        if not isinstance(state, str) or not state.strip():
            raise RetryableProviderError("task controller answered without a desktop status")
        return state.strip().lower()

    def _interpret(self, state: str) -> ProvisionResult | None:
        if state in _READY:
            return ProvisionResult(ready=True, detail=state)
        if state in _IN_PROGRESS:
            return ProvisionResult(ready=False, detail=state)
        if state in _BROKEN:
            raise FatalProviderError(f"desktop is in state {state!r}")
        if state in _ABSENT:
            return None
        raise RetryableProviderError(f"desktop is in an unknown state {state!r}")

    def provision(self, *, workspace_id: str, tenant_id: str, name: str) -> ProvisionResult:
        """GET the desktop; when it is absent or hibernated, POST to create/resume it; report what it says."""
        response = self._call("GET", self._url(workspace_id))
        if response.status_code == 200:
            result = self._interpret(self._state(response))
            if result is not None:
                return result
        elif response.status_code != 404:
            self._raise_for(response, "desktop status")
        response = self._call(
            "POST",
            self._url(workspace_id),
            {"workspace_id": workspace_id, "tenant_id": tenant_id, "name": name},
        )
        if response.status_code not in (200, 201, 202):
            self._raise_for(response, "create desktop")
        result = self._interpret(self._state(response))
        if result is None:  # created but reported absent/stopped: it is on its way; poll
            return ProvisionResult(ready=False, detail="requested")
        return result

    def _idempotent_post(self, workspace_id: str, verb: str) -> None:
        response = self._call("POST", self._url(workspace_id, f"/{verb}"), {"workspace_id": workspace_id})
        # 404: nothing there to stop; 409: already in that state. Either way the goal is reached.
        if response.status_code in (200, 201, 202, 204, 404, 409):
            return
        self._raise_for(response, f"{verb} desktop")

    def hibernate(self, *, workspace_id: str) -> None:
        self._idempotent_post(workspace_id, "hibernate")

    def terminate(self, *, workspace_id: str) -> None:
        self._idempotent_post(workspace_id, "terminate")


def get_provider(name: str) -> WorkspaceProvider:
    """The provider called ``name`` (``local`` or ``task_controller``)."""
    if name == LocalProvider.name:
        return LocalProvider()
    if name == TaskControllerProvider.name:
        return TaskControllerProvider()
    raise ValueError(f"unknown workspace provider {name!r}")
