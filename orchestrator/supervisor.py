"""A small process supervisor for ``manage.py run``: start children, restart the ones that exit, stop on a signal.

A child that exits while we are not stopping is restarted after a backoff that doubles from ``BACKOFF_START``
to ``BACKOFF_MAX`` seconds and resets once the child has stayed up for ``STABLE_AFTER`` seconds; each restart is
one log line on stderr and one ``process_restarts_total{process}`` increment. The others keep running (the web
server keeps serving while the worker comes back). SIGINT/SIGTERM stop every child (SIGTERM, then SIGKILL after
``STOP_GRACE`` seconds) and return.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

BACKOFF_START = 1.0
BACKOFF_MAX = 30.0
STABLE_AFTER = 60.0
STOP_GRACE = 20.0
TICK = 0.2


@dataclass
class Child:
    """One supervised command and its current process."""

    name: str
    command: list[str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    backoff: float = BACKOFF_START
    restart_at: float | None = None
    restarts: int = 0
    history: list[int] = field(default_factory=list)  # pids, oldest first (for the log and tests)


class Supervisor:
    """Runs ``commands`` until a signal; ``log`` receives one line per event (start, exit, restart, stop)."""

    def __init__(
        self,
        commands: dict[str, list[str]],
        log: Callable[[str], None],
        on_restart: Callable[[str], None] = lambda name: None,
    ) -> None:
        self.children = [Child(name, command) for name, command in commands.items()]
        self.log = log
        self.on_restart = on_restart
        self.stopping = False

    def _start(self, child: Child) -> None:
        child.process = subprocess.Popen(child.command)
        child.started_at = time.monotonic()
        child.restart_at = None
        child.history.append(child.process.pid)
        self.log(f"run: started {child.name} pid={child.process.pid}")

    def _check(self, child: Child, now: float) -> None:
        """Notice an exit and schedule the restart; start it when its backoff has passed."""
        if self.stopping:  # Ctrl-C reaches the children too: their exits are the stop, not a crash
            return
        if child.process is not None and child.restart_at is None:
            code = child.process.poll()
            if code is None:
                if now - child.started_at >= STABLE_AFTER:
                    child.backoff = BACKOFF_START  # it has been healthy for a while: forget earlier trouble
                return
            child.restart_at = now + child.backoff
            self.log(
                f"run: {child.name} pid={child.process.pid} exited unexpectedly with code {code}; "
                f"restarting in {child.backoff:.0f}s (restart #{child.restarts + 1})"
            )
            child.backoff = min(child.backoff * 2, BACKOFF_MAX)
        if child.restart_at is not None and now >= child.restart_at:
            child.restarts += 1
            self.on_restart(child.name)
            self._start(child)

    def _request_stop(self, signum: int, frame: Any) -> None:
        self.stopping = True

    def run(self) -> None:
        """Start every child, supervise until SIGINT/SIGTERM, then stop them all. Installs signal handlers."""
        signal.signal(signal.SIGINT, self._request_stop)
        signal.signal(signal.SIGTERM, self._request_stop)
        try:
            for child in self.children:
                self._start(child)
            while not self.stopping:
                now = time.monotonic()
                for child in self.children:
                    self._check(child, now)
                time.sleep(TICK)  # the supervision interval, not a wait for something to happen
        finally:
            self.stop_all()

    def stop_all(self) -> None:
        """SIGTERM every live child, wait up to ``STOP_GRACE`` seconds, SIGKILL what is left."""
        live = [c.process for c in self.children if c.process is not None and c.process.poll() is None]
        for process in live:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for process in live:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.log("run: stopped")
