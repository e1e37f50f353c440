"""Issue 16: approval expiry expires every other overdue request when one cannot be expired, and a request whose
expiry keeps failing ends EXPIRED (``internal_error``) without the engine."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from approvals import services
from approvals.gate import check_before_dispatch
from approvals.models import ApprovalRequest, ApprovalStatus
from orchestrator.lib import units
from orchestrator.models import NodeStatus, WorkflowNode
from tests.factories import TenantFactory
from tests.poison import poison

pytestmark = pytest.mark.django_db


def test_one_failing_expiry_does_not_stop_the_others(make_run: Any, settings: Any) -> None:
    settings.UNIT_QUARANTINE_AFTER_FAILURES = 2
    waiting = []
    for tenant in (TenantFactory(), TenantFactory()):
        _run, node, _ = make_run(tenant, node_status=NodeStatus.READY, with_node_run=False)
        assert check_before_dispatch(node=node).proceed is False
        waiting.append((node, ApprovalRequest.objects.get(node=node)))
    (bad_node, bad), (good_node, good) = waiting
    ApprovalRequest.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    # The engine's side of the poisoned request (its node) is what the database refuses.
    with poison(WorkflowNode, bad_node.pk, status=NodeStatus.FAILED):
        assert services.expire_overdue_approvals() == 1
        good.refresh_from_db()
        good_node.refresh_from_db()
        assert good.status == ApprovalStatus.EXPIRED and good_node.status == NodeStatus.FAILED
        bad.refresh_from_db()
        assert bad.status == ApprovalStatus.PENDING
        assert units.failure_count(services.EXPIRY_JOB, f"approval:{bad.pk}") == 1
        services.expire_overdue_approvals()
    bad.refresh_from_db()
    bad_node.refresh_from_db()
    assert bad.status == ApprovalStatus.EXPIRED
    assert bad_node.status == NodeStatus.WAITING_APPROVAL  # the engine was not told: its node is the culprit
