"""The supervisor's restart policy with real (short-lived) child processes and a controlled clock (issue 18)."""

from __future__ import annotations

import sys

from orchestrator import supervisor
from orchestrator.supervisor import Supervisor


def test_a_child_that_keeps_exiting_is_restarted_with_doubling_backoff_and_counted() -> None:
    lines: list[str] = []
    restarted: list[str] = []
    sup = Supervisor({"worker": [sys.executable, "-c", "raise SystemExit(3)"]}, lines.append, restarted.append)
    [child] = sup.children
    sup._start(child)
    now = 1000.0
    pauses = []
    for _ in range(4):
        assert child.process is not None
        child.process.wait(timeout=30)
        sup._check(child, now)  # notices the exit, schedules the restart
        pauses.append(child.restart_at - now if child.restart_at else None)
        sup._check(child, now + 0.5)  # too early: nothing happens
        assert child.restart_at is not None
        now = child.restart_at
        sup._check(child, now)  # restarts
    assert pauses == [1.0, 2.0, 4.0, 8.0]
    assert restarted == ["worker"] * 4
    assert "exited unexpectedly with code 3; restarting in 1s (restart #1)" in lines[1]
    assert len(set(child.history)) == 5
    # Once it has stayed up long enough, the next failure starts from the shortest pause again.
    child.process = None
    sup.children[0].command = [sys.executable, "-c", "import time; time.sleep(60)"]
    sup._start(child)
    sup._check(child, child.started_at + supervisor.STABLE_AFTER + 1)
    assert child.backoff == supervisor.BACKOFF_START
    sup.stop_all()
    assert lines[-1] == "run: stopped"


def test_nothing_is_restarted_once_stopping() -> None:
    sup = Supervisor({"beat": [sys.executable, "-c", "pass"]}, lambda line: None)
    [child] = sup.children
    sup._start(child)
    assert child.process is not None
    child.process.wait(timeout=30)
    sup.stopping = True
    sup._check(child, 10**6)
    assert child.restart_at is None and len(child.history) == 1
