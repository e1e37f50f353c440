"""A web process finds the engine's Celery tasks by name without having imported ``orchestrator.tasks``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys
import django
django.setup()
from orchestrator import wakeups
assert "orchestrator.tasks" not in sys.modules, "the check needs a process that has not imported the tasks"
for name in (wakeups.TICK_TASK, wakeups.EXECUTE_TASK, wakeups.EXECUTE_BATCH_TASK, wakeups.CANCEL_REMOTE_TASK):
    assert wakeups._task(name).name == name
print("ok")
"""


def test_a_process_that_never_imported_the_tasks_module_can_send_the_engines_tasks() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("ok")
