"""Concurrent writers still produce one linear chain per tenant: no gaps, no forks (SPEC §7.2)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from audit import integrity, verification
from audit.models import AuditChainHead, AuditLog
from tests.audit.conftest import emit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WRITERS = 16
EVENTS_EACH = 12


def test_sixteen_concurrent_writers_make_one_linear_chain(tenant, other_tenant) -> None:
    barrier = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def writer(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            for i in range(EVENTS_EACH):
                # Half the writers interleave a second tenant: chains must not interfere either.
                target = other_tenant if index % 2 and i % 3 == 0 else tenant
                emit(target, "workflow.started", data={"writer": index, "i": i})
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()  # each thread had its own connection

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert not errors, errors

    total = 0
    for owner in (tenant, other_tenant):
        rows = list(
            AuditLog.objects.filter(tenant=owner).order_by("sequence").values_list("sequence", "prev_hash", "hash")
        )
        total += len(rows)
        assert [r[0] for r in rows] == list(range(1, len(rows) + 1))  # gapless
        assert len({r[1] for r in rows}) == len(rows)  # no two entries extend the same tip: no fork
        prev = integrity.GENESIS_HASH
        for _, prev_hash, entry_hash in rows:
            assert prev_hash == prev
            prev = entry_hash
        head = AuditChainHead.objects.get(chain=str(owner.pk))
        assert (head.last_sequence, head.last_hash) == (len(rows), prev)
    assert total == WRITERS * EVENTS_EACH
    report = verification.verify_chains([tenant.pk, other_tenant.pk])
    assert report.ok, report.as_dict()
