"""Issue 16: the webhook sweep re-dispatches every other delivery when one is refused by the database, and a
delivery that keeps failing ends FAILED with ``internal_error``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.utils import timezone

from orchestrator.lib import units
from tests.factories import TenantFactory
from tests.poison import poison
from tests.webhooks.conftest import delivery_for, emit_event
from webhooks import services
from webhooks.models import DeliveryStatus, WebhookDelivery

pytestmark = pytest.mark.django_db


def test_one_refused_delivery_does_not_stop_the_sweep(
    make_endpoint: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.UNIT_QUARANTINE_AFTER_FAILURES = 2
    bad_tenant, good_tenant = TenantFactory(), TenantFactory()
    bad_endpoint, _ = make_endpoint("https://a.example.com/", tenant_=bad_tenant)
    good_endpoint, _ = make_endpoint("https://b.example.com/", tenant_=good_tenant)
    bad = delivery_for(bad_endpoint, emit_event(bad_tenant))
    good = delivery_for(good_endpoint, emit_event(good_tenant))
    later = timezone.now() + services.REDISPATCH_AFTER + timedelta(seconds=1)
    with (
        mock.patch("webhooks.services.send_delivery_tasks") as sent,
        poison(WebhookDelivery, bad.pk, status=DeliveryStatus.QUEUED),
    ):
        with django_capture_on_commit_callbacks(execute=True):
            assert services.dispatch_due_deliveries(now=later) == 1
        assert sent.call_args.args[0] == [str(good.pk)]
        assert units.failure_count(services.DISPATCH_JOB, f"delivery:{bad.pk}") == 1
        assert services.dispatch_due_deliveries(now=later + services.REDISPATCH_AFTER * 2) == 1  # good again
    bad.refresh_from_db()
    good.refresh_from_db()
    assert bad.status == DeliveryStatus.FAILED and bad.last_error.startswith("internal_error: failed 2 times")
    assert good.status == DeliveryStatus.QUEUED
