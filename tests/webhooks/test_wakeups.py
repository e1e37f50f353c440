"""Wake-ups of the sender (issue 22): one message per commit, coalesced while one waits; the sweep's nudge; the
lease check of a delivery that waited in a sender's local queue."""

from __future__ import annotations

import uuid
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from tests.webhooks.conftest import emit_event
from webhooks import delivery as delivery_service
from webhooks import services, tasks
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


def test_commits_share_a_waiting_wake_up_until_a_worker_takes_it(
    tenant, make_endpoint, django_capture_on_commit_callbacks
) -> None:
    make_endpoint("https://a.example.com/", ["workflow.created"])
    with mock.patch("webhooks.tasks.send_due.apply_async") as apply_async:
        for n in range(3):
            with django_capture_on_commit_callbacks(execute=True):
                emit_event(tenant, n=n)
        assert apply_async.call_count == 1  # the first is still queued: the others' rows are found by it
        with mock.patch("webhooks.sender.get_sender") as get_sender:
            tasks.send_due()  # a worker takes it: clears the flag first, then wakes its sender
        get_sender.return_value.wake.assert_called_once_with()
        with django_capture_on_commit_callbacks(execute=True):
            emit_event(tenant, n=3)
        assert apply_async.call_count == 2
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.QUEUED).count() == 4


def test_retry_countdowns_are_never_coalesced() -> None:
    with mock.patch("webhooks.tasks.send_due.apply_async") as apply_async:
        services.send_delivery_tasks(["a"])
        services.send_delivery_tasks(["b"], countdown=5)
        services.send_delivery_tasks(["c"], countdown=5)
    assert [call.kwargs["countdown"] for call in apply_async.call_args_list] == [None, 5, 5]


def test_the_sweep_nudges_a_sender_when_queued_rows_wait(tenant, make_endpoint) -> None:
    make_endpoint("https://a.example.com/", ["workflow.created"])
    with mock.patch("webhooks.tasks.send_due.apply_async"):
        emit_event(tenant)
    with mock.patch("webhooks.services.wake_senders") as wake:
        assert services.dispatch_due_deliveries() == 0  # nothing due for re-queueing …
    wake.assert_called_once()  # … but a QUEUED row is claimable now: one nudge, not one message per row
    WebhookDelivery.objects.update(status=DeliveryStatus.SUCCEEDED)
    with mock.patch("webhooks.services.wake_senders") as wake:
        services.dispatch_due_deliveries()
    wake.assert_not_called()


@pytest.mark.parametrize(
    ("lease_s", "timeout_ms", "waited_s", "may_start"),
    [
        (60, 30_000, 0, True),
        (60, 30_000, 24, True),  # the attempt still ends 5 s before the lease
        (60, 30_000, 26, False),
        (2, 20_000, 0.5, True),  # a lease shorter than the timeout (tests): a prompt start is still allowed
        (2, 20_000, 1.5, False),
    ],
)
def test_a_delivery_that_waited_locally_starts_only_while_its_lease_covers_it(
    settings, lease_s: int, timeout_ms: int, waited_s: float, may_start: bool
) -> None:
    settings.WEBHOOK_LEASE_SECONDS = lease_s
    settings.WEBHOOK_TIMEOUT_MS = timeout_ms
    claimed_at = timezone.now()
    item = delivery_service.Claimed(WebhookDelivery(), WebhookEndpoint(), (), uuid.uuid4(), claimed_at=claimed_at)
    assert item.safe_to_start(claimed_at + timedelta(seconds=waited_s)) is may_start
