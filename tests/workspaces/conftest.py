"""Fixtures for the workspaces tests: a private DATA_DIR, no real Celery sends, ready-made workspaces."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from workspaces import operations, services, tasks
from workspaces.models import Workspace, WorkspaceStatus


@pytest.fixture(autouse=True)
def data_dir(settings: Any, tmp_path: Path) -> Path:
    """Every test gets its own DATA_DIR (workspace folders go under it) and the local provider."""
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    settings.WORKSPACE_PROVIDER = "local"
    settings.WORKSPACE_PROVISION_BACKOFF_SECONDS = 2
    settings.WORKSPACE_PROVISION_MAX_BACKOFF_SECONDS = 10
    settings.WORKSPACE_PROVISION_MAX_ATTEMPTS = 5
    settings.WORKSPACE_PROVISION_POLL_SECONDS = 2
    return settings.DATA_DIR


@pytest.fixture(autouse=True)
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, float]]:
    """Provider steps the services asked for, as ``(workspace_id, countdown)``; nothing reaches a broker."""
    calls: list[tuple[str, float]] = []

    def record(args: list[str], countdown: float = 0, **kwargs: Any) -> None:
        calls.append((args[0], countdown))

    monkeypatch.setattr(tasks.perform_workspace_operation, "apply_async", record)
    return calls


@pytest.fixture
def make_workspace(db: Any) -> Callable[..., Workspace]:
    """``make_workspace(tenant, ready=True)`` → a workspace, provisioned (READY) unless ``ready=False``."""

    def make(tenant: Any, *, ready: bool = True, name: str = "ws") -> Workspace:
        workspace = services.create_workspace(tenant_id=tenant.pk, name=name, provision=ready)
        if ready:
            assert operations.perform_due_operation(workspace_id=workspace.pk) == "ready"
            workspace.refresh_from_db()
            assert workspace.status == WorkspaceStatus.READY
        return workspace

    return make
