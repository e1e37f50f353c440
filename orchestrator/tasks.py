"""Celery tasks of the orchestrator app. Tasks are interfaces: they take ids, call a service, return.

The engine sends these by name (``orchestrator.wakeups``), so nothing below this module imports it.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task, signals

from orchestrator import heartbeats, reaper, recovery, scheduler
from orchestrator.executors import runner, task_controller
from orchestrator.lib import idempotency


@shared_task(name="orchestrator.tasks.prune_idempotency_keys", queue="maintenance")
def prune_idempotency_keys() -> int:
    """Remove Idempotency-Key records older than ``IDEMPOTENCY_TTL_HOURS``."""
    return idempotency.prune_expired()


@shared_task(name="orchestrator.tasks.ping", queue="default")
def ping() -> str:
    """A no-op round trip, used by health checks of the worker and by benchmarks as a baseline."""
    return "pong"


# --- Workflow engine ------------------------------------------------------------------------------------------


@shared_task(name="orchestrator.tasks.scheduler_tick", queue="scheduler", ignore_result=True)
def scheduler_tick() -> int:
    """Claim and dispatch due work (woken on commit, and every few seconds by beat as a safety net)."""
    with scheduler.inline_wakeups():
        return scheduler.run_ticks()


@shared_task(
    name="orchestrator.tasks.execute_node_run",
    queue="executor",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
)
def execute_node_run(node_run_id: str) -> str:
    """Run one attempt; a duplicate delivery finds the attempt already taken and does nothing."""
    return runner.execute_in_worker(node_run_id)


@shared_task(
    name="orchestrator.tasks.execute_node_runs",
    queue="executor",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
)
def execute_node_runs(node_run_ids: list[str]) -> list[str]:
    """Run several attempts one after the other (a fan-out's batch); each is exactly-once on its own."""
    return runner.execute_batch(node_run_ids)


@shared_task(name="orchestrator.tasks.reap_expired_leases", queue="scheduler", ignore_result=True)
def reap_expired_leases() -> int:
    """Retry or fail attempts whose lease expired (dead worker, lost message, timeout)."""
    with scheduler.inline_wakeups():
        return reaper.reap_expired_leases()


@shared_task(name="orchestrator.tasks.recover_attempts", queue="scheduler", ignore_result=True)
def recover_attempts() -> int:
    """Re-dispatch attempts no worker started and retry idempotent ones whose worker died (crash recovery)."""
    with scheduler.inline_wakeups():
        return recovery.recover_attempts()


# Each pool child of a worker runs attempts under its own identity (the lease owner): it announces itself with a
# heartbeat from its start, and says goodbye on a clean exit (orchestrator/heartbeats.py).
@signals.worker_process_init.connect
def _start_worker_heartbeat(**_: Any) -> None:
    heartbeats.heartbeat.start()


@signals.worker_process_shutdown.connect
def _stop_worker_heartbeat(**_: Any) -> None:
    heartbeats.heartbeat.stop()


@shared_task(name="orchestrator.tasks.poll_quiet_attempts", queue="maintenance", ignore_result=True)
def poll_quiet_attempts() -> int:
    """Ask the task controller about attempts that have gone quiet."""
    with scheduler.inline_wakeups():
        return reaper.poll_quiet_attempts()


@shared_task(name="orchestrator.tasks.cancel_remote_tasks", queue="executor", ignore_result=True)
def cancel_remote_tasks(task_ids: list[str]) -> int:
    """Tell the task controller to stop tasks of a cancelled/failed run (best effort)."""
    return sum(1 for task_id in task_ids if task_controller.cancel(task_id))
