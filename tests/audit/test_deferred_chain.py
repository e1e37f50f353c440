"""Entries linked into the chain right before the commit (issue 22), with real parallel connections and processes.

The head is no longer locked at the first event of a transaction but in its pre-commit step, for one INSERT, one
UPDATE and the commit. What must still hold: one gapless, unforked chain per tenant whose order is the commit
order; nothing of a rolled-back transaction or savepoint, or of a process killed while it held the head; and the
verifier still names any rewrite.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction

from audit import integrity, verification
from audit.models import AuditChainHead, AuditLog
from orchestrator import events
from orchestrator.lib import precommit
from orchestrator.models import Tenant
from tests.audit.conftest import emit, triggers_off
from tests.polling import poll

pytestmark = [pytest.mark.postgres]
ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60


def _emit(tenant: Tenant, **data: Any) -> events.Event:
    """Emit in the caller's transaction (no block of its own), like a service does."""
    return events.emit(
        "workflow.started", tenant_id=tenant.pk, resource_type="workflow", resource_id=str(uuid.uuid4()), data=data
    )


def _chain(tenant: Tenant) -> list[tuple[int, str, str, dict[str, Any]]]:
    rows = AuditLog.objects.filter(chain=str(tenant.pk)).order_by("sequence")
    return [(r.sequence, r.prev_hash, r.hash, r.metadata["data"]) for r in rows]


def _assert_linear(tenant: Tenant) -> list[dict[str, Any]]:
    """The chain is gapless from 1, each entry links to the previous, the head is its tip, and it verifies.
    Returns the entries' event data in chain order."""
    rows = _chain(tenant)
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
    prev = integrity.GENESIS_HASH
    for _, prev_hash, entry_hash, _ in rows:
        assert prev_hash == prev
        prev = entry_hash
    head = AuditChainHead.objects.get(chain=str(tenant.pk))
    assert (head.last_sequence, head.last_hash) == (len(rows), prev)
    report = verification.verify_chain(str(tenant.pk), full=True)
    assert report.ok, report.as_dict()
    return [r[3] for r in rows]


def _in_thread(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` on its own database connection and return its result (exceptions propagate)."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = fn()
        except BaseException as exc:
            result["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(TIMEOUT)
    assert not thread.is_alive()
    if "error" in result:
        raise result["error"]
    return result.get("value")


def _head_is_free(chain: str) -> bool:
    """Whether another connection can lock ``chain``'s head right now (NOWAIT)."""

    def probe() -> bool:
        try:
            with transaction.atomic():
                AuditChainHead.objects.select_for_update(nowait=True).filter(chain=chain).first()
            return True
        except DatabaseError:
            return False

    return bool(_in_thread(probe))


@pytest.mark.django_db(transaction=True)
def test_the_head_is_not_locked_until_the_commit(tenant: Tenant) -> None:
    emit(tenant, data={"n": 0})  # the head row exists
    chain = str(tenant.pk)
    with transaction.atomic():
        _emit(tenant, n=1)
        _emit(tenant, n=2)
        assert AuditLog.objects.filter(chain=chain).count() == 1  # not in the table yet
        assert len(precommit.pending()) == 2
        assert _head_is_free(chain)  # other writers of the tenant are not held up by this transaction
    assert precommit.pending() == []
    assert [d.get("n") for d in _assert_linear(tenant)] == [0, 1, 2]  # in the order they were emitted


@pytest.mark.django_db(transaction=True)
def test_a_transaction_that_commits_first_comes_first_in_the_chain(tenant: Tenant) -> None:
    emit(tenant)
    emitted, go = threading.Event(), threading.Event()

    def older() -> None:
        with transaction.atomic():
            _emit(tenant, who="older")  # emitted first ...
            emitted.set()
            assert go.wait(TIMEOUT)
        # ... committed last

    thread = threading.Thread(target=lambda: (older(), connection.close()))
    thread.start()
    try:
        assert emitted.wait(TIMEOUT)
        # With the head locked at the first event, this would wait for the older transaction (a deadlock here).
        with transaction.atomic():
            _emit(tenant, who="newer")
    finally:
        go.set()
        thread.join(TIMEOUT)
    assert not thread.is_alive()
    assert [d.get("who") for d in _assert_linear(tenant)] == [None, "newer", "older"]


@pytest.mark.django_db(transaction=True)
def test_eight_parallel_transactions_in_one_tenant_make_one_chain_in_commit_order(tenant: Tenant) -> None:
    writers = 8
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def writer(index: int) -> None:
        try:
            for round_ in range(3):
                with transaction.atomic():
                    _emit(tenant, writer=index, round=round_, part="first")
                    # Every writer is now inside a transaction that has emitted: impossible while the first
                    # event locked the head until the commit.
                    barrier.wait(timeout=TIMEOUT)
                    _emit(tenant, writer=index, round=round_, part="second")
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT * 2)
    assert not any(t.is_alive() for t in threads)
    assert not errors, errors
    data = _assert_linear(tenant)
    assert len(data) == writers * 3 * 2
    # Each transaction's entries are consecutive: linked together at its commit, never interleaved.
    for first, second in zip(data[::2], data[1::2], strict=True):
        assert (first["part"], second["part"]) == ("first", "second")
        assert (first["writer"], first["round"]) == (second["writer"], second["round"])
    # And a writer's transactions appear in the order it committed them.
    for index in range(writers):
        assert [d["round"] for d in data[::2] if d["writer"] == index] == [0, 1, 2]


@pytest.mark.django_db(transaction=True)
def test_transactions_touching_two_chains_in_opposite_orders_do_not_deadlock(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def writer(order: tuple[Tenant, Tenant]) -> None:
        try:
            with transaction.atomic():
                for owner in order:
                    _emit(owner, first=str(order[0].pk))
                barrier.wait(timeout=TIMEOUT)  # both transactions have emitted into both chains, then both commit
        except BaseException as exc:  # a deadlock (the head locked at the first event) lands here
            errors.append(exc)
            barrier.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(o,)) for o in ((tenant, other_tenant), (other_tenant, tenant))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads)
    assert not errors, errors
    assert len(_assert_linear(tenant)) == 2
    assert len(_assert_linear(other_tenant)) == 2


class _Boom(Exception):
    pass


@pytest.mark.django_db(transaction=True)
def test_rollbacks_leave_no_trace_and_no_gap(tenant: Tenant) -> None:
    emit(tenant, data={"n": 0})
    chain = str(tenant.pk)
    with pytest.raises(_Boom), transaction.atomic():
        _emit(tenant, n="rolled back")
        raise _Boom
    with transaction.atomic():
        _emit(tenant, n="kept 1")
        try:
            with transaction.atomic():
                _emit(tenant, n="savepoint rolled back")
                raise _Boom
        except _Boom:
            pass
        _emit(tenant, n="kept 2")

    # A failure in the pre-commit step itself (after the entries were linked) aborts the whole transaction.
    def fail(items: Any) -> None:
        raise _Boom

    precommit.register("tests.fail", fail)
    try:
        with pytest.raises(_Boom), transaction.atomic():
            _emit(tenant, n="failed at commit")
            precommit.defer("tests.fail", None)
    finally:
        precommit._handlers.pop("tests.fail")
    assert not connection.in_atomic_block and connection.get_autocommit()
    assert _head_is_free(chain)
    emit(tenant, data={"n": "after"})  # the connection is usable and the chain goes on
    assert [d["n"] for d in _assert_linear(tenant)] == [0, "kept 1", "kept 2", "after"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_process_killed_while_holding_the_head_leaves_no_broken_or_forked_chain(
    tenant: Tenant, tmp_path: Path
) -> None:
    emit(tenant, data={"n": "before"})
    chain, marker = str(tenant.pk), tmp_path / "linked"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "orchestrator.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "DATA_DIR": str(tmp_path / "child"),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "child-metrics"),
    }
    os.makedirs(env["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.audit.append_child", chain, str(marker)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "child.err", "wb"),  # noqa: SIM115 (the child owns it until it dies)
    )
    try:
        poll(lambda: marker.exists() or child.poll() is not None, TIMEOUT, "the child to link its entries")
        assert child.poll() is None, (tmp_path / "child.err").read_text()
        assert not _head_is_free(chain)  # it has linked its two entries and holds the head, uncommitted
        child.send_signal(signal.SIGKILL)
        child.wait(TIMEOUT)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(TIMEOUT)
    # The server rolls the dead backend's transaction back and frees the head; the chain goes on from "before".
    poll(lambda: _head_is_free(chain), TIMEOUT, "the killed transaction to be rolled back")
    emit(tenant, data={"n": "after"})
    data = _assert_linear(tenant)
    assert [d.get("n") for d in data] == ["before", "after"]
    assert not any("doomed" in d for d in data)


@pytest.mark.django_db
def test_under_a_test_case_entries_appear_when_the_outermost_block_of_the_code_exits(tenant: Tenant) -> None:
    chain = str(tenant.pk)
    with transaction.atomic():
        with transaction.atomic():
            _emit(tenant, n=1)
        assert not AuditLog.objects.filter(chain=chain).exists()  # still the same (application) transaction
        _emit(tenant, n=2)
    assert [d["n"] for d in _assert_linear(tenant)] == [1, 2]
    assert precommit.defer("audit.entries", object()) is False  # no transaction of the code open: nothing deferred


@pytest.mark.django_db(transaction=True)
def test_a_rewrite_of_a_chain_built_by_parallel_writers_is_detected(tenant: Tenant) -> None:
    def writer(index: int) -> None:
        for n in range(3):
            with transaction.atomic():
                _emit(tenant, writer=index, n=n)

    threads = [threading.Thread(target=lambda i=i: (writer(i), connection.close())) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    _assert_linear(tenant)
    victim = AuditLog.objects.get(chain=str(tenant.pk), sequence=7)
    with transaction.atomic(), triggers_off(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditlog SET reason = 'nothing happened' WHERE id = %s", [victim.pk])
    report = verification.verify_chain(str(tenant.pk), full=True)
    assert (report.ok, report.first_bad_sequence) == (False, 7)
    assert "rewritten" in report.error
