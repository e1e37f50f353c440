"""Issue 16: the workspace sweeps go on past a workspace the database refuses (no quarantine: it stays READY)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from orchestrator.lib import units
from tests.factories import TenantFactory
from tests.poison import poison
from workspaces import services
from workspaces.models import Workspace, WorkspaceStatus

pytestmark = pytest.mark.django_db


def test_one_workspace_that_cannot_hibernate_does_not_stop_the_others(make_workspace: Any, settings: Any) -> None:
    settings.WORKSPACE_IDLE_HIBERNATE_MINUTES = 30
    settings.UNIT_QUARANTINE_AFTER_FAILURES = 2
    bad = make_workspace(TenantFactory(), name="bad")
    make_workspace(TenantFactory(), name="good")
    with (
        time_machine.travel(timezone.now() + timedelta(minutes=31)),
        poison(Workspace, bad.pk, status=WorkspaceStatus.HIBERNATED),
    ):
        assert services.hibernate_idle_workspaces() == 1
        assert services.hibernate_idle_workspaces() == 0  # the second failure: reported, nothing to quarantine
    assert dict(Workspace.objects.values_list("name", "status")) == {"bad": "READY", "good": "HIBERNATED"}
    assert units.failure_count(services.HIBERNATE_JOB, f"workspace:{bad.pk}") == 2
