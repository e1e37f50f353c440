"""A scheduler + executor process for multi-process tests: ``python -m tests.orchestrator.engine_worker LOG``.

It loops: claim due work (``scheduler.run_ticks``), reap expired leases, and execute the attempts it claimed,
writing one ``EXEC <node_id> <node_run_id>`` line per attempt whose tool it actually ran. It exits when no run is
PENDING or RUNNING any more (or after ``WORKER_MAX_SECONDS``). The database and settings come from the
environment (``DATABASE_URL`` = the test database).
"""

from __future__ import annotations

import os
import sys
import time


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestrator.settings")
    import django

    django.setup()
    from orchestrator import reaper, scheduler
    from orchestrator.executors import runner
    from orchestrator.models import RunStatus, WorkflowNodeRun, WorkflowRun

    log = open(sys.argv[1], "a", buffering=1)  # noqa: SIM115
    log.write(f"START {os.getpid()}\n")
    deadline = time.monotonic() + float(os.environ.get("WORKER_MAX_SECONDS", "120"))
    queue: list[str] = []
    with scheduler.inline_wakeups(dispatch=queue.extend):
        while time.monotonic() < deadline:
            scheduler.run_ticks(dispatch=queue.extend)
            reaper.reap_expired_leases()
            while queue:
                node_run_id = queue.pop(0)
                node_id = WorkflowNodeRun.objects.filter(pk=node_run_id).values_list("node_id", flat=True).first()
                outcome = runner.execute(node_run_id)
                if outcome in ("completed", "failed", "lost"):
                    log.write(f"EXEC {node_id} {node_run_id} {outcome}\n")
            if not WorkflowRun.objects.filter(status__in=[RunStatus.PENDING, RunStatus.RUNNING]).exists():
                break
            time.sleep(0.02)  # idle poll of a worker loop, not a test waiting
    log.write("EXIT\n")


if __name__ == "__main__":
    main()
