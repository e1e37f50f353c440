"""Work deferred to the end of the transaction: run right *before* it commits, inside it (issue 22).

Django has ``transaction.on_commit`` (after the commit) but nothing before it. Some writes are cheapest at the
very end of a transaction: the audit log appends a transaction's entries to its tenant's chain there, so the
chain head's row lock is held for one statement and the commit instead of for the rest of the transaction.

``defer(kind, item)`` queues ``item`` for the handler registered for ``kind`` (``register``). The database
backend (``orchestrator.lib.postgresql_precommit``) calls ``run`` from ``commit()``: each kind's handler gets the
items of the transaction in the order they were deferred, inside the transaction, before COMMIT is sent. An exception
there aborts the commit: the transaction rolls back and the exception reaches the caller, as if the work had
been done where it was deferred.

Bookkeeping reuses Django's own for ``on_commit``: each item rides in ``connection.run_on_commit`` as a no-op
callback tagged with the savepoints open when it was deferred, so a rolled-back savepoint or transaction drops
its items exactly as it drops its ``on_commit`` callbacks (nothing here can get out of step with Django's).

Under Django's ``TestCase`` (pytest-django's ``django_db``) the outermost transaction is the test's and never
commits; the backend then runs the items when the outermost block *of the code under test* is left (the same
rule Django's ``durable`` uses to tell the test's blocks from the application's), so tests see what production
sees right after its commit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

_handlers: dict[str, Callable[[Sequence[Any]], None]] = {}


class _Deferred:
    """One deferred item in ``connection.run_on_commit``; called (as a no-op) only if it is still there after
    the commit, which ``run`` prevents by taking it out first."""

    __slots__ = ("item", "kind")

    def __init__(self, kind: str, item: Any) -> None:
        self.kind, self.item = kind, item

    def __call__(self) -> None:
        return None


def register(kind: str, handler: Callable[[Sequence[Any]], None]) -> None:
    """Make ``handler(items)`` the one that runs ``kind``'s deferred items before a commit (idempotent)."""
    _handlers[kind] = handler


def defer(kind: str, item: Any, using: str = DEFAULT_DB_ALIAS) -> bool:
    """Queue ``item`` for ``kind``'s handler just before the current transaction commits.

    Returns False, queuing nothing, when that cannot be done (the backend does not support it, or there is no
    transaction open: in autocommit there is no "before the commit"; under a test case, no block of the code
    under test is open); the caller then does the work now.
    """
    connection = connections[using]
    if not getattr(connection, "runs_before_commit", False) or not connection.in_atomic_block:
        return False
    if all(getattr(block, "_from_testcase", False) for block in connection.atomic_blocks):
        return False
    if kind not in _handlers:
        raise LookupError(f"no pre-commit handler registered for {kind!r}")
    connection.on_commit(_Deferred(kind, item))
    return True


def pending(using: str = DEFAULT_DB_ALIAS) -> list[Any]:
    """The items deferred in the current transaction and not run yet (for tests and diagnostics)."""
    callbacks: list[Any] = connections[using].run_on_commit  # (savepoint ids, callback, robust)
    return [entry[1].item for entry in callbacks if isinstance(entry[1], _Deferred)]


def run(connection: Any) -> None:
    """Run every deferred item of ``connection``'s transaction, kind by kind in registration order.

    Precondition: called by the backend with the transaction still open, right before COMMIT (or, under a test
    case, before releasing the code under test's outermost savepoint). Items are taken out of
    ``run_on_commit`` before their handler runs, so a failing handler is never run twice for the same items.
    Items deferred by a handler are run in the same call.
    """
    while True:
        deferred = [f for _, f, _ in connection.run_on_commit if isinstance(f, _Deferred)]
        if not deferred:
            return
        connection.run_on_commit = [e for e in connection.run_on_commit if not isinstance(e[1], _Deferred)]
        for kind, handler in list(_handlers.items()):
            items = [f.item for f in deferred if f.kind == kind]
            if items:
                handler(items)


def leaving_outermost_block(connection: Any) -> bool:
    """True when every atomic block still open on ``connection`` belongs to a Django test case: the block being
    left is the outermost one of the code under test (its "commit")."""
    blocks = connection.atomic_blocks
    return bool(blocks) and all(getattr(block, "_from_testcase", False) for block in blocks)
