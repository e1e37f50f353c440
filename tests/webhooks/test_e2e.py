"""A real Celery worker SIGKILLed in the middle of a delivery: the message still arrives, with the same id."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from orchestrator import events
from tests.factories import TenantFactory
from tests.webhooks.receiver import Receiver, Reply, verify
from webhooks import services
from webhooks.models import DeliveryStatus, WebhookDelivery

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def worker_env() -> dict[str, str]:
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        WEBHOOK_ALLOW_PRIVATE_NETWORKS="true",
        WEBHOOK_LEASE_SECONDS="2",
        WEBHOOK_SWEEP_SECONDS="1",
        WEBHOOK_TIMEOUT_MS="20000",
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
    )
    return env


def start_worker(name: str, log: Path, *extra: str) -> subprocess.Popen:
    cmd = [
        sys.executable, "-m", "celery", "-A", "orchestrator", "worker", "-Q", "webhooks,maintenance", "--pool", "solo",
        "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--loglevel", "INFO", *extra,
    ]  # fmt: skip
    return subprocess.Popen(cmd, cwd=ROOT, env=worker_env(), stdout=log.open("wb"), stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def wait_until(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)  # polling a database row with a deadline, not waiting blindly
    raise AssertionError("condition not met in time")


def test_worker_killed_mid_delivery_message_still_arrives_with_same_id(tmp_path: Path) -> None:
    from orchestrator.celery import app

    with app.connection_for_write() as conn:  # stale tasks from an earlier run would only add noise
        app.amqp.queues["webhooks"].bind(conn).purge()
    tenant = TenantFactory()
    with Receiver(default=Reply(status=200)) as receiver:
        receiver.replies = [Reply(hang=True)]  # the first attempt hangs until the worker is dead
        endpoint, secret = services.create_endpoint(tenant_id=tenant.pk, url=receiver.url, events=["workflow.created"])
        first_worker = start_worker("killed", tmp_path / "w1.log")
        second_worker = None
        try:
            event = events.emit(
                "workflow.created", tenant_id=tenant.pk, resource_type="workflow", resource_id="r", data={"n": 1}
            )
            receiver.wait_for(1, timeout=60)
            os.kill(first_worker.pid, signal.SIGKILL)
            first_worker.wait(10)
            receiver.release()
            row = WebhookDelivery.objects.get(endpoint=endpoint, event_id=event.id)
            assert row.status == DeliveryStatus.DELIVERING  # claimed by the dead worker, nothing recorded

            second_worker = start_worker("rescuer", tmp_path / "w2.log", "-B", "-s", str(tmp_path / "beat"))
            received = receiver.wait_for(2, timeout=60)
            wait_until(lambda: WebhookDelivery.objects.get(pk=row.pk).status == DeliveryStatus.SUCCEEDED, 30)
        finally:
            stop(first_worker)
            if second_worker is not None:
                stop(second_worker)
    first, second = received[:2]
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == f"msg_{event.id.hex}"
    verify(second.headers, second.body, secret)
    assert json.loads(second.body)["id"] == str(event.id)
    row.refresh_from_db()
    assert [a.success for a in row.attempts.all()] == [True]  # the killed attempt left no record, the rescue did


def test_worker_killed_mid_batch_its_claims_return_after_the_lease_with_the_same_ids(tmp_path: Path) -> None:
    """Issue 22: a sender holds a whole batch; the worker dies with all of it in flight; once the lease has run
    out another worker claims the batch again and every message arrives again with its own ``webhook-id``."""
    from django.db import transaction

    from orchestrator.celery import app

    with app.connection_for_write() as conn:
        app.amqp.queues["webhooks"].bind(conn).purge()
    tenant = TenantFactory()
    with Receiver(default=Reply(status=200)) as receiver:
        receiver.replies = [Reply(hang=True) for _ in range(3)]  # the first batch hangs until the worker is dead
        endpoint, secret = services.create_endpoint(tenant_id=tenant.pk, url=receiver.url, events=["workflow.created"])
        first_worker = start_worker("killed", tmp_path / "w1.log")
        second_worker = None
        try:
            with transaction.atomic():  # one commit, one wake-up: the three rows are claimed as one batch
                sent = [
                    events.emit(
                        "workflow.created",
                        tenant_id=tenant.pk,
                        resource_type="workflow",
                        resource_id=str(n),
                        data={"n": n},
                    )
                    for n in range(3)
                ]
            receiver.wait_for(3, timeout=60)
            os.kill(first_worker.pid, signal.SIGKILL)
            first_worker.wait(10)
            receiver.release()
            rows = list(WebhookDelivery.objects.filter(endpoint=endpoint))
            assert {r.status for r in rows} == {DeliveryStatus.DELIVERING}
            assert len({r.lease_token for r in rows}) == 1  # one claim statement took the batch

            second_worker = start_worker("rescuer", tmp_path / "w2.log", "-B", "-s", str(tmp_path / "beat"))
            received = receiver.wait_for(6, timeout=60)
            wait_until(
                lambda: WebhookDelivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.SUCCEEDED).count() == 3,
                30,
            )
        finally:
            stop(first_worker)
            if second_worker is not None:
                stop(second_worker)
    ids = [r.headers["webhook-id"] for r in received]
    assert sorted(ids) == sorted([f"msg_{e.id.hex}" for e in sent] * 2)
    for r in received[3:]:
        verify(r.headers, r.body, secret)
    for row in WebhookDelivery.objects.filter(endpoint=endpoint):
        assert [a.success for a in row.attempts.all()] == [True]
