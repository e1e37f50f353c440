"""A process that dies while linking its audit entries (tests/audit/test_deferred_chain.py, issue 22).

    python -m tests.audit.append_child <tenant id> <marker file>

Emits two events for the tenant in one transaction. At the commit, the audit's pre-commit step links them (head
locked, entries inserted, head advanced); a second pre-commit step registered here then writes ``marker`` and
blocks until the process is killed, so the transaction never commits while it holds the head.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestrator.settings")

import django

django.setup()

from django.db import transaction  # noqa: E402

from orchestrator import events  # noqa: E402
from orchestrator.lib import precommit  # noqa: E402


def main() -> None:
    tenant_id, marker = sys.argv[1], Path(sys.argv[2])

    def linked_then_hang(items: Any) -> None:
        marker.write_text("linked")
        threading.Event().wait()  # until SIGKILL: the transaction is left open, holding the chain head

    precommit.register("tests.hang", linked_then_hang)
    with transaction.atomic():
        for n in range(2):
            events.emit(
                "workflow.started",
                tenant_id=tenant_id,
                resource_type="workflow",
                resource_id=f"k{n}",
                data={"doomed": n},
            )
        precommit.defer("tests.hang", None)


if __name__ == "__main__":
    main()
