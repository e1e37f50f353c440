"""bootstrap_demo leaves a newcomer a real pending approval: its sample workflow reaches a high-risk step."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from approvals.models import ApprovalRequest, ApprovalStatus
from approvals.selectors import approvals_for
from orchestrator import scheduler
from orchestrator.executors import runner
from orchestrator.lib.auth import caller_for_user
from orchestrator.management.commands.bootstrap_demo import DEMO_RUN_NAME
from orchestrator.models import ApiKey, Membership, RunStatus, WorkflowRun

pytestmark = pytest.mark.django_db(transaction=True)  # the engine dispatches on commit


def drive_engine(max_rounds: int = 20) -> None:
    """Tick the scheduler and execute what it dispatches, in this process, until nothing more is dispatched."""
    queue: list[str] = []
    with scheduler.inline_wakeups(dispatch=queue.extend):
        for _ in range(max_rounds):
            scheduler.run_ticks(dispatch=queue.extend)
            if not queue:
                return
            while queue:
                runner.execute(queue.pop(0))


def test_demo_workflow_is_created_once_and_waits_for_a_reviewer(capsys) -> None:
    call_command("bootstrap_demo")
    call_command("bootstrap_demo")
    out = capsys.readouterr().out
    assert "Sign in at /console/ as reviewer2" in out
    run = WorkflowRun.objects.get(name=DEMO_RUN_NAME)
    assert WorkflowRun.objects.filter(name=DEMO_RUN_NAME).count() == 1
    demo_key = ApiKey.objects.get(name="demo")
    assert run.status == RunStatus.RUNNING
    assert run.started_by["type"] == "api_key" and run.started_by["id"] == str(demo_key.pk)

    drive_engine()

    approval = ApprovalRequest.objects.get(run=run)
    assert approval.status == ApprovalStatus.PENDING and approval.tool == "email.send"
    assert approval.risk_level in ("HIGH", "CRITICAL")
    assert approval.requested_by["type"] == "api_key"  # the demo key asked, so any demo reviewer may decide
    reviewer2 = Membership.objects.get(tenant__slug="demo", user__username="reviewer2").user
    assert approval in approvals_for(caller_for_user(reviewer2)).filter(status=ApprovalStatus.PENDING)
