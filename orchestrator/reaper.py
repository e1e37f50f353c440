"""Lease reaping and polling (SPEC §3.5): attempts whose worker died, whose message was lost or whose timeout
passed are failed (and retried by their node's policy); task-controller attempts that went quiet are polled."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from orchestrator import completion, wakeups
from orchestrator.executors import task_controller
from orchestrator.models import NodeRunStatus, WorkflowNodeRun

logger = logging.getLogger(__name__)


def reap_expired_leases(*, limit: int = 200) -> int:
    """Fail attempts whose lease expired (worker died, message lost, or ``timeout_seconds`` passed); each is then
    retried or failed by its node's policy. Returns how many were reaped."""
    now = timezone.now()
    rows = list(
        WorkflowNodeRun.objects.filter(status=NodeRunStatus.RUNNING, lease_expires_at__lt=now)
        .order_by("lease_expires_at")
        .values_list("id", "lease_owner", "timeout_at", "external_task_id")[:limit]
    )
    reaped = 0
    for node_run_id, owner, timeout_at, external_task_id in rows:
        if timeout_at is not None and timeout_at <= now:
            error = "timed out (timeout_seconds elapsed)"
        elif not owner:
            error = "dispatched but never started by a worker before NODE_DISPATCH_TIMEOUT_SECONDS"
        else:
            error = f"lease expired: worker {owner} stopped renewing it (crashed or was killed)"
        if completion.fail_node_run(node_run_id=node_run_id, error=error, expired_before=now):
            reaped += 1
            if external_task_id:
                wakeups.cancel_remote_on_commit([external_task_id])
    return reaped


def poll_quiet_attempts(*, limit: int = 100) -> int:
    """Ask the task controller about attempts it has not reported on for ``TASK_CONTROLLER_POLL_SECONDS``."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.TASK_CONTROLLER_POLL_SECONDS)
    rows = list(
        WorkflowNodeRun.objects.filter(status=NodeRunStatus.RUNNING)
        .exclude(external_task_id="")
        .filter(Q(last_polled_at__lt=cutoff) | Q(last_polled_at__isnull=True))
        .values_list("id", "external_task_id")[:limit]
    )
    polled = 0
    for node_run_id, task_id in rows:
        WorkflowNodeRun.objects.filter(pk=node_run_id).update(last_polled_at=now)
        try:
            report = task_controller.poll(task_id)
        except task_controller.TaskControllerError as exc:
            logger.warning("polling task %s failed: %s", task_id, exc)
            continue
        polled += 1
        if report is None:
            completion.fail_node_run(node_run_id=node_run_id, error="the task controller does not know this task")
        elif report.get("status") in (NodeRunStatus.COMPLETED, NodeRunStatus.FAILED):
            completion.report_node_run_result(
                node_run_id=node_run_id,
                status=str(report["status"]),
                output=report.get("output"),
                error=str(report.get("error") or ""),
            )
    return polled
