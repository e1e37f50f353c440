"""The project's PostgreSQL backend (``orchestrator.lib.postgresql``: django-prometheus's, cheap health check) plus
the pre-commit step of ``orchestrator.lib.precommit``.

``commit()`` first runs the work deferred in the transaction (``precommit.run``), inside it, then commits.
Django's ``Atomic.__exit__`` calls ``commit()`` with the transaction still open; if the pre-commit step raises,
the transaction is rolled back here (Django would do it for a ``DatabaseError`` anyway; anything else must not
leave the connection inside a half-finished transaction) and the exception reaches the caller: nothing of the
transaction is committed.
"""

from __future__ import annotations

import contextlib
from typing import Any

from orchestrator.lib import precommit
from orchestrator.lib.postgresql.base import DatabaseWrapper as HealthCheckedWrapper


class DatabaseWrapper(HealthCheckedWrapper):
    runs_before_commit = True

    def commit(self) -> None:
        try:
            precommit.run(self)
        except BaseException:
            with contextlib.suppress(Exception):  # a broken connection: Atomic closes it when its rollback fails
                self.rollback()
            raise
        super().commit()

    def savepoint_commit(self, sid: Any) -> None:
        # Under a Django test case the outermost transaction is the test's: leaving the outermost block of the
        # code under test is where production would commit, so the deferred work runs there (before RELEASE,
        # so a failure rolls back to the savepoint like a failed commit). Never true outside a test case.
        if self.in_atomic_block and precommit.leaving_outermost_block(self):
            precommit.run(self)
        super().savepoint_commit(sid)
