from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from orchestrator import events
from tests.webhooks.receiver import Receiver
from webhooks import services
from webhooks.models import WebhookDelivery


@pytest.fixture(autouse=True)
def _private_networks_allowed(settings: Any) -> None:
    """The receiver lives on 127.0.0.1; SSRF tests that need the guard pass allow_private explicitly."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True


@pytest.fixture(autouse=True)
def _no_pending_wake_up() -> None:
    """A wake-up flag left by an earlier test (its message never consumed) would coalesce this test's away."""
    from django.core.cache import cache

    cache.delete(services.WAKE_PENDING_KEY)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture
def make_endpoint(tenant):
    def make(url: str, events_: list[str] | None = None, tenant_=None, **kwargs: Any):
        return services.create_endpoint(tenant_id=(tenant_ or tenant).pk, url=url, events=events_ or ["*"], **kwargs)

    return make


def emit_event(tenant, event_type: str = "workflow.created", **data: Any) -> events.Event:
    return events.emit(
        event_type, tenant_id=tenant.pk, resource_type="workflow", resource_id="wf-1", data={"run": "wf-1", **data}
    )


def delivery_for(endpoint, event: events.Event) -> WebhookDelivery:
    return WebhookDelivery.objects.get(endpoint=endpoint, event_id=event.id)
