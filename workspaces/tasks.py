"""Celery tasks of the workspaces app: interfaces that take ids and call a service."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from . import operations, services


@shared_task(name="workspaces.tasks.perform_workspace_operation", queue="default")
def perform_workspace_operation(workspace_id: str) -> str:
    """Perform the workspace's due provider operation (provision step, hibernate, terminate)."""
    return operations.perform_due_operation(workspace_id=workspace_id)


@shared_task(name="workspaces.tasks.sweep_workspaces", queue="maintenance")
def sweep_workspaces() -> dict[str, Any]:
    """Periodic safety net: hibernate idle READY workspaces and re-enqueue provider operations that are due."""
    return {
        "hibernated": services.hibernate_idle_workspaces(),
        "requeued": operations.enqueue_due_operations(),
    }
