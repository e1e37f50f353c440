"""Crash recovery (issue 24): attempts no worker started are re-dispatched, idempotent ones whose worker died are
retried on their own budget, an approval is never wasted by a crash, and a stuck non-idempotent execution is left
to an operator, who resolves it (mark done, or a fresh approval). The end-to-end proof with real processes killed
is tests/chaos/test_recovery_chaos.py."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.utils import timezone

from approvals import execution
from approvals.models import ApprovalRequest, IdempotencyRecord
from audit.models import AuditLog
from orchestrator import heartbeats, reaper, recovery, runs, scheduler, wakeups
from orchestrator.executors import runner
from orchestrator.lib import tools
from orchestrator.models import Membership, WorkerHeartbeat, WorkflowNode, WorkflowNodeRun

from .engine_helpers import definition, drive, task
from .test_runs import approve_pending

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_executor_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    """The broker's executor queue is empty (a shared test broker may hold other tests' messages)."""
    monkeypatch.setattr(wakeups, "executor_backlog", lambda: 0)


EMAIL = {"to": "a@example.com", "subject": "s", "body": "b"}


def started_run(tenant: Any, *nodes: dict[str, Any]) -> Any:
    run = runs.create_run(tenant=tenant, definition=definition(*nodes))
    runs.start_run(run=run)
    scheduler.tick(dispatch=lambda ids: None)
    return run


def dispatched_attempt(tenant: Any, *nodes: dict[str, Any]) -> tuple[Any, WorkflowNodeRun]:
    """A started run whose first attempt was created and "published" (the message is dropped here)."""
    run = started_run(tenant, *nodes)
    return run, WorkflowNodeRun.objects.get(run=run)


def age(attempt: WorkflowNodeRun, seconds: float) -> None:
    """The attempt was published ``seconds`` ago (and nobody started it)."""
    WorkflowNodeRun.objects.filter(pk=attempt.pk).update(started_at=timezone.now() - timedelta(seconds=seconds))


def held_by_dead_worker(attempt: WorkflowNodeRun, who: str = "dead-host:4242") -> None:
    """A worker took the attempt (it holds the lease) and then stopped beating."""
    now = timezone.now()
    WorkflowNodeRun.objects.filter(pk=attempt.pk).update(
        lease_owner=who, lease_expires_at=now + timedelta(seconds=30), started_at=now - timedelta(seconds=20)
    )
    WorkerHeartbeat.objects.create(identity=who, booted_at=now - timedelta(minutes=5), seen_at=now - timedelta(60))


def recovered_events(run: Any) -> list[dict[str, Any]]:
    return [
        log.metadata["data"]
        for log in AuditLog.objects.filter(action="node.recovered").order_by("id")
        if log.metadata["data"].get("run_id") == str(run.pk)
    ]


def run_published(capture: list[Any]) -> list[str]:
    """Run what recovery published (the on-commit callbacks were captured: the test transaction never commits)."""
    outcomes = []
    for attempt in WorkflowNodeRun.objects.filter(status="RUNNING", lease_owner=""):
        outcomes.append(runner.execute(str(attempt.pk)))
    assert capture, "recovery published nothing"
    return outcomes


def test_an_attempt_queued_too_long_is_redispatched_and_runs_once(tenant, django_capture_on_commit_callbacks):
    run, attempt = dispatched_attempt(tenant, task("a", "echo", {"v": 1}))
    assert recovery.recover_attempts() == 0  # not late yet
    age(attempt, 11)
    with django_capture_on_commit_callbacks() as published:
        assert recovery.recover_attempts() == 1
    attempt.refresh_from_db()
    assert (attempt.lease_owner, attempt.redispatches, attempt.status) == ("", 1, "RUNNING")
    assert run_published(published) == ["completed"]
    assert runner.execute(str(attempt.pk)) == "duplicate"  # a second copy of the message does nothing
    run.refresh_from_db()
    assert run.status == "COMPLETED"
    assert WorkflowNodeRun.objects.filter(run=run).count() == 1  # the same attempt, not a new one
    [event] = recovered_events(run)
    assert (event["recovery"], event["reason"], event["count"]) == ("redispatched", "queued", 1)


def test_redispatches_back_off_are_bounded_and_then_fail_with_a_reason(tenant, settings):
    settings.NODE_MAX_REDISPATCHES = 2
    run, attempt = dispatched_attempt(tenant, task("a", "echo", {"v": 1}))
    age(attempt, 11)
    assert recovery.recover_attempts() == 1
    assert recovery.recover_attempts() == 0  # the next one waits twice as long
    age(attempt, 19)
    assert recovery.recover_attempts() == 0
    age(attempt, 21)
    assert recovery.recover_attempts() == 1
    age(attempt, 1000)
    assert recovery.recover_attempts() == 0  # budget spent
    WorkflowNodeRun.objects.filter(pk=attempt.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert reaper.reap_expired_leases() == 1
    attempt.refresh_from_db()
    assert attempt.status == "FAILED"
    assert "never started by a worker" in attempt.error and "re-dispatched 2 time(s)" in attempt.error
    run.refresh_from_db()
    assert run.status == "FAILED"


def test_a_busy_queue_is_not_a_lost_message(tenant, monkeypatch):
    _, attempt = dispatched_attempt(tenant, task("a", "echo", {"v": 1}))
    age(attempt, 11)
    monkeypatch.setattr(wakeups, "executor_backlog", lambda: 3)
    assert recovery.recover_attempts() == 0  # its message is most likely still among those three
    monkeypatch.setattr(wakeups, "executor_backlog", lambda: None)  # the broker cannot say: re-publish
    assert recovery.recover_attempts() == 1


def test_the_reaper_redispatches_instead_of_failing_a_never_started_attempt(tenant):
    run, attempt = dispatched_attempt(tenant, task("a", "echo", {"v": 1}))
    WorkflowNodeRun.objects.filter(pk=attempt.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert reaper.reap_expired_leases() == 1
    attempt.refresh_from_db()
    assert (attempt.status, attempt.redispatches) == ("RUNNING", 1)
    assert attempt.lease_expires_at > timezone.now()
    assert recovered_events(run)[0]["reason"] == "dispatch_lease"


def test_idempotent_attempt_of_a_dead_worker_is_retried_on_its_own_budget(tenant):
    run, attempt = dispatched_attempt(tenant, task("a", "echo", {"v": 1}))  # declared retries: none (1 attempt)
    held_by_dead_worker(attempt)
    assert recovery.recover_attempts() == 1
    attempt.refresh_from_db()
    assert attempt.status == "FAILED"
    assert "died while running" in attempt.error and "crash retry 1 of 3" in attempt.error
    node = WorkflowNode.objects.get(run=run)
    assert (node.status, node.crash_retries, node.attempts - node.retry_base) == ("READY", 1, 0)
    drive()
    run.refresh_from_db()
    assert run.status == "COMPLETED"
    assert list(WorkflowNodeRun.objects.filter(run=run).values_list("attempt", "status")) == [
        (1, "FAILED"),
        (2, "COMPLETED"),
    ]
    [event] = recovered_events(run)
    assert (event["recovery"], event["reason"]) == ("retried", "worker_gone")


def test_crash_retries_are_bounded(tenant, settings):
    settings.NODE_CRASH_RETRIES = 0
    _run, attempt = dispatched_attempt(tenant, task("a", "echo", {"v": 1}))
    held_by_dead_worker(attempt)
    assert recovery.recover_attempts() == 0
    assert reaper.reap_expired_leases() == 1  # today's rule: failed by the node's policy
    attempt.refresh_from_db()
    assert attempt.status == "FAILED" and "stopped renewing" in attempt.error


def test_a_live_worker_keeps_its_attempts_and_a_restarted_one_loses_them(tenant):
    _run, attempt = dispatched_attempt(tenant, task("a", "echo", {"v": 1}))
    now = timezone.now()
    WorkflowNodeRun.objects.filter(pk=attempt.pk).update(
        lease_owner="host:7", lease_expires_at=now + timedelta(seconds=30), started_at=now - timedelta(seconds=5)
    )
    heartbeats.beat("host:7", booted_at=now - timedelta(minutes=1))
    assert recovery.recover_attempts() == 0
    attempt.refresh_from_db()
    assert attempt.status == "RUNNING" and attempt.lease_owner == "host:7"
    heartbeats.beat("host:7", booted_at=timezone.now())  # a new process took the same identity
    assert recovery.recover_attempts() == 1
    attempt.refresh_from_db()
    assert attempt.status == "FAILED"


def test_goodbye_marks_a_worker_gone_at_once() -> None:
    now = timezone.now()
    heartbeats.beat("host:8", booted_at=now)
    assert heartbeats.gone_owners(now)["host:8"] == now
    heartbeats.say_goodbye("host:8")
    assert heartbeats.gone_owners(now)["host:8"] is None


def test_a_non_idempotent_started_action_is_never_rerun_and_waits_for_an_operator(tenant, make_api_key):
    run = started_run(tenant, task("a", "email.send", EMAIL))
    approval = approve_pending(run, make_api_key)
    scheduler.tick(dispatch=lambda ids: None)
    attempt = WorkflowNodeRun.objects.get(run=run)
    assert execution.claim_execution(approval_id=attempt.approval_id, node_run_id=str(attempt.pk),
                                     action=attempt.input)  # fmt: skip
    held_by_dead_worker(attempt)  # it claimed, then died: did the e-mail leave? nobody knows
    assert recovery.recover_attempts() == 0
    assert reaper.reap_expired_leases() == 1
    attempt.refresh_from_db()
    assert attempt.status == "FAILED"
    assert IdempotencyRecord.objects.get(approval=approval).status == "IN_PROGRESS"
    assert mail.outbox == []


def test_an_approval_is_never_wasted_by_a_crash_before_the_claim(
    tenant, make_api_key, django_capture_on_commit_callbacks
):
    run = started_run(tenant, task("a", "email.send", EMAIL))
    approval = approve_pending(run, make_api_key)
    scheduler.tick(dispatch=lambda ids: None)
    attempt = WorkflowNodeRun.objects.get(run=run)
    held_by_dead_worker(attempt)  # took it off the queue, died before claiming the approval
    with django_capture_on_commit_callbacks() as published:
        assert recovery.recover_attempts() == 1
    attempt.refresh_from_db()
    assert (attempt.lease_owner, attempt.redispatches, attempt.approval_id) == ("", 1, str(approval.pk))
    assert run_published(published) == ["completed"]
    drive()
    run.refresh_from_db()
    assert run.status == "COMPLETED"
    assert len(mail.outbox) == 1
    approval.refresh_from_db()
    assert approval.status == "EXECUTED"
    assert ApprovalRequest.objects.filter(run_id=run.pk).count() == 1  # no second approval asked
    assert IdempotencyRecord.objects.get(approval=approval).node_run_id == str(attempt.pk)
    [event] = recovered_events(run)
    assert (event["recovery"], event["approval_id"]) == ("redispatched", str(approval.pk))


def test_an_action_whose_result_was_recorded_is_finished_from_the_record(tenant, make_api_key):
    run = started_run(tenant, task("a", "email.send", EMAIL), task("b", depends_on=["a"]))
    approval = approve_pending(run, make_api_key)
    scheduler.tick(dispatch=lambda ids: None)
    attempt = WorkflowNodeRun.objects.get(run=run)
    assert execution.claim_execution(approval_id=attempt.approval_id, node_run_id=str(attempt.pk),
                                     action=attempt.input)  # fmt: skip
    execution.record_result(approval_id=approval.pk, node_run_id=str(attempt.pk), succeeded=True, output={"sent": 1})
    held_by_dead_worker(attempt)  # it recorded the result, then died before completing the attempt
    assert recovery.recover_attempts() == 1
    attempt.refresh_from_db()
    assert (attempt.status, attempt.output) == ("COMPLETED", {"sent": 1})
    drive()
    run.refresh_from_db()
    assert run.status == "COMPLETED" and mail.outbox == []  # finished, not sent again
    assert recovered_events(run)[0]["recovery"] == "finished"


def test_an_approved_message_lost_before_any_worker_is_dispatched_again(tenant, make_api_key):
    run = started_run(tenant, task("a", "email.send", EMAIL))
    approval = approve_pending(run, make_api_key)
    scheduler.tick(dispatch=lambda ids: None)
    attempt = WorkflowNodeRun.objects.get(run=run)
    age(attempt, 11)
    assert recovery.recover_attempts() == 1
    drive()
    run.refresh_from_db()
    assert run.status == "COMPLETED" and len(mail.outbox) == 1
    assert ApprovalRequest.objects.filter(run_id=run.pk).count() == 1
    approval.refresh_from_db()
    assert approval.status == "EXECUTED"


def stuck_execution(tenant: Any, make_api_key: Any) -> tuple[Any, ApprovalRequest, IdempotencyRecord]:
    """An approved e-mail claimed by a worker that died: the attempt reaped, the node and run FAILED."""
    run = started_run(tenant, task("a", "email.send", EMAIL), task("b", depends_on=["a"]))
    approval = approve_pending(run, make_api_key)
    scheduler.tick(dispatch=lambda ids: None)
    attempt = WorkflowNodeRun.objects.get(run=run)
    assert execution.claim_execution(approval_id=attempt.approval_id, node_run_id=str(attempt.pk),
                                     action=attempt.input)  # fmt: skip
    held_by_dead_worker(attempt)
    assert recovery.recover_attempts() == 0  # expires the dead worker's lease, re-runs nothing
    assert reaper.reap_expired_leases() == 1
    attempt.refresh_from_db()
    assert attempt.status == "FAILED", attempt.error
    run.refresh_from_db()
    assert run.status == "FAILED"
    return run, approval, IdempotencyRecord.objects.get(approval=approval)


def test_operator_asks_for_a_fresh_approval(tenant, make_api_key):
    run, approval, record = stuck_execution(tenant, make_api_key)
    execution.resolve_stuck_execution(record=record, succeeded=False, note="no trace at the SMTP relay",
                                      fresh_approval=True)  # fmt: skip
    record.refresh_from_db()
    assert record.status == "FAILED"
    run.refresh_from_db()
    assert run.status == "RUNNING"
    drive()
    node = WorkflowNode.objects.get(run=run, key="a")
    assert node.status == "WAITING_APPROVAL"
    fresh = ApprovalRequest.objects.get(run_id=run.pk, status="PENDING")
    assert fresh.pk != approval.pk and fresh.action_hash == approval.action_hash
    audit = AuditLog.objects.get(action="approval.execution_resolved")
    assert audit.metadata["data"]["resolution"] == "fresh_approval" and audit.reason == "no trace at the SMTP relay"
    approve_pending(run, make_api_key)
    drive()
    run.refresh_from_db()
    assert run.status == "COMPLETED" and len(mail.outbox) == 1


def test_operator_marks_done_with_an_output(tenant, make_api_key):
    _, _approval, record = stuck_execution(tenant, make_api_key)
    execution.resolve_stuck_execution(record=record, succeeded=True, note="the relay logged it",
                                      output={"sent": 1})  # fmt: skip
    record.refresh_from_db()
    assert (record.status, record.output) == ("COMPLETED", {"sent": 1})
    assert AuditLog.objects.get(action="approval.execution_resolved").metadata["data"]["resolution"] == "done"
    with pytest.raises(Exception, match="fresh approval"):
        execution.resolve_stuck_execution(record=record, succeeded=True, note="x", fresh_approval=True)


def test_which_built_in_tools_are_safe_to_repeat() -> None:
    assert tools.is_idempotent({"tool": "echo", "params": {}})
    assert tools.is_idempotent({"tool": "http.request", "params": {"url": "http://x", "method": "get"}})
    assert tools.is_idempotent({"tool": "http.request", "params": {"url": "http://x"}})
    assert not tools.is_idempotent({"tool": "http.request", "params": {"url": "http://x", "method": "POST"}})
    assert not tools.is_idempotent({"tool": "email.send", "params": EMAIL})
    assert not tools.is_idempotent({"tool": "nope", "params": {}})
    assert not tools.is_idempotent("echo")


def operator_client(tenant: Any, role: str = "operator") -> Any:
    user = get_user_model().objects.create_user(f"{role}-user", "o@example.com", "pw-for-tests-123")
    Membership.objects.create(user=user, tenant=tenant, role=role)
    client = Client()
    client.force_login(user)
    return client


def test_console_lists_a_stuck_execution_and_asks_for_a_fresh_approval(tenant, make_api_key):
    run, approval, record = stuck_execution(tenant, make_api_key)
    assert "Nothing is stuck" in operator_client(tenant, "reviewer").get("/console/stuck/").content.decode()
    client = operator_client(tenant)
    page = client.get("/console/stuck/").content.decode()
    assert f'data-execution="{record.pk}"' in page and "ask for a fresh approval" in page
    refused = client.post(f"/console/stuck/{record.pk}/resolve/", {"resolution": "fresh_approval", "note": " "},
                          follow=True)  # fmt: skip
    assert "audit log" in refused.content.decode()  # the note is required
    done = client.post(f"/console/stuck/{record.pk}/resolve/",
                       {"resolution": "fresh_approval", "note": "not in the relay's log"}, follow=True)  # fmt: skip
    assert "Asked for a fresh approval" in done.content.decode()
    record.refresh_from_db()
    assert record.status == "FAILED"
    drive()
    assert ApprovalRequest.objects.filter(run_id=run.pk, status="PENDING").exclude(pk=approval.pk).count() == 1


def test_console_marks_done_with_output(tenant, make_api_key):
    _, _, record = stuck_execution(tenant, make_api_key)
    client = operator_client(tenant)
    bad = client.post(f"/console/stuck/{record.pk}/resolve/",
                      {"resolution": "done", "note": "seen", "output": "{nope"}, follow=True)  # fmt: skip
    assert "must be JSON" in bad.content.decode()
    client.post(f"/console/stuck/{record.pk}/resolve/",
                {"resolution": "done", "note": "seen at the relay", "output": '{"sent": 1}'})  # fmt: skip
    record.refresh_from_db()
    assert (record.status, record.output) == ("COMPLETED", {"sent": 1})


def test_admin_action_asks_for_a_fresh_approval(tenant, make_api_key):
    run, _, record = stuck_execution(tenant, make_api_key)
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("ops", "ops@example.com", "pw-for-tests-123"))
    url = "/admin/approvals/idempotencyrecord/"
    form = {"action": "ask_fresh_approval", "_selected_action": [str(record.pk)]}
    assert "ask for a fresh approval" in client.post(url, form).content.decode()
    client.post(url, {**form, "apply": "1", "note": "relay has no trace"}, follow=True)
    record.refresh_from_db()
    assert record.status == "FAILED"
    run.refresh_from_db()
    assert run.status == "RUNNING"
    audit = AuditLog.objects.get(action="approval.execution_resolved")
    assert audit.metadata["data"]["resolution"] == "fresh_approval"


def test_the_approval_queue_links_to_the_stuck_executions(tenant):
    page = operator_client(tenant).get("/console/").content.decode()
    assert 'href="/console/stuck/"' in page
