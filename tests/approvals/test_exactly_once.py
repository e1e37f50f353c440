"""An approved action reaches the executor exactly once (SPEC §6.1), on PostgreSQL with real parallelism.

The executor is either a real HTTP task controller on 127.0.0.1 that counts POSTs, or a local tool that counts its
calls. Every dispatcher (thread or process) calls ``claim_execution`` and runs the action only when it returns True.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from approvals import services
from approvals.gate import claim_execution, record_execution_result
from approvals.models import ApprovalRequest, ApprovalStatus, ExecutionStatus, IdempotencyRecord
from orchestrator.models import Role, Scope, WorkflowNodeRun
from tests.approvals.helpers import counting_server, run_concurrently

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ACTION = {"tool": "email.send", "params": {"to": "a@example.com"}}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def approved(tenant, make_run, make_caller):
    run, node, node_run = make_run(tenant, params=ACTION["params"])
    requester = make_caller(tenant, scopes=[Scope.APPROVALS_REQUEST])
    approval = services.request_action_approval(
        caller=requester, workflow_id=run.pk, node_key=node.key, tool=ACTION["tool"], params=ACTION["params"]
    ).approval
    services.decide_approval(caller=make_caller(tenant, role=Role.REVIEWER), approval=approval, decision="approve")
    return approval, node_run


def dispatch_over_http(approval_id: str, node_run_id: str, url: str) -> bool:
    """One scheduler/worker dispatch: claim, then POST the task to the controller, then report."""
    if not claim_execution(approval_id=approval_id, node_run_id=node_run_id, action=ACTION):
        return False
    urllib.request.urlopen(urllib.request.Request(url, data=b"{}", method="POST"), timeout=10).read()
    record_execution_result(approval_id=approval_id, node_run_id=node_run_id, succeeded=True, output={"sent": 1})
    return True


def test_two_schedulers_and_duplicate_deliveries_reach_the_task_controller_once(approved) -> None:
    approval, node_run = approved
    retry = WorkflowNodeRun.objects.create(node=node_run.node, run=node_run.run, attempt=2)
    with counting_server() as controller:
        # Two schedulers dispatching two attempts at once, plus duplicate Celery deliveries of each.
        attempts = [str(node_run.pk), str(retry.pk)] * 5
        results = run_concurrently(
            [lambda nr=nr: dispatch_over_http(str(approval.pk), nr, controller.url) for nr in attempts]
        )
        assert results.count(True) == 1, results
        assert controller.count == 1
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.EXECUTED
    assert IdempotencyRecord.objects.get(approval=approval).status == ExecutionStatus.COMPLETED


def test_local_tool_runs_once_under_concurrent_dispatch(approved) -> None:
    approval, node_run = approved
    calls: list[dict[str, Any]] = []
    lock = threading.Lock()

    def send_email(params: dict[str, Any]) -> dict[str, Any]:  # the local tool
        with lock:
            calls.append(params)
        return {"sent": True}

    def dispatch() -> bool:
        if not claim_execution(approval_id=str(approval.pk), node_run_id=str(node_run.pk), action=ACTION):
            return False
        output = send_email(ACTION["params"])
        record_execution_result(
            approval_id=str(approval.pk), node_run_id=str(node_run.pk), succeeded=True, output=output
        )
        return True

    results = run_concurrently([dispatch] * 12)
    assert results.count(True) == 1 and len(calls) == 1


def test_a_changed_action_never_reaches_the_executor(approved) -> None:
    approval, node_run = approved
    tampered = {"tool": "email.send", "params": {"to": "a@example.com", "bcc": "x@example.com"}}
    with counting_server() as controller:

        def dispatch() -> bool:
            if not claim_execution(approval_id=str(approval.pk), node_run_id=str(node_run.pk), action=tampered):
                return False
            urllib.request.urlopen(urllib.request.Request(controller.url, data=b"{}", method="POST")).read()
            return True

        assert run_concurrently([dispatch] * 4) == [False] * 4
        assert controller.count == 0
    assert ApprovalRequest.objects.get(pk=approval.pk).status == ApprovalStatus.APPROVED


def _spawn(approval_id: str, node_run_id: str, url: str, mode: str) -> subprocess.Popen[str]:
    env = dict(os.environ)
    settings_dict = connection.settings_dict
    env["DATABASE_URL"] = (
        f"postgres://{settings_dict['USER']}@{settings_dict['HOST'] or '127.0.0.1'}:{settings_dict['PORT'] or 5432}"
        f"/{settings_dict['NAME']}"
    )
    return subprocess.Popen(
        [sys.executable, "-m", "tests.approvals._claimer", approval_id, node_run_id, url, mode],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _read_until(process: subprocess.Popen[str], wanted: str, deadline_s: float = 60) -> list[str]:
    """Lines from ``process`` until ``wanted`` appears (or it exits), bounded by a deadline."""
    lines: list[str] = []
    done = threading.Event()

    def reader() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.strip())
            if line.strip() == wanted:
                break
        done.set()

    threading.Thread(target=reader, daemon=True).start()
    assert done.wait(deadline_s), f"no {wanted!r} within {deadline_s}s: {lines}"
    return lines


@pytest.mark.e2e
@pytest.mark.chaos
@pytest.mark.parametrize(("mode", "executed"), [("hang-after-execute", 1), ("hang-after-claim", 0)])
def test_worker_killed_mid_dispatch_is_never_redispatched(approved, mode: str, executed: int) -> None:
    """A worker SIGKILLed after claiming (before it reports) leaves the record IN_PROGRESS; re-dispatches by two
    fresh worker processes are refused, so the controller saw the action at most once.

    What an operator does then: look at the target system to learn whether the action happened, and record it in
    the admin (IdempotencyRecord → "Resolve stuck executions"); if it must run again, a new approval is needed.
    """
    approval, node_run = approved
    with counting_server() as controller:
        victim = _spawn(str(approval.pk), str(node_run.pk), controller.url, mode)
        wanted = "EXECUTED" if mode == "hang-after-execute" else "CLAIMED"
        try:
            assert wanted in _read_until(victim, wanted)
        finally:
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=30)
        assert victim.returncode == -signal.SIGKILL
        retry = WorkflowNodeRun.objects.create(node=node_run.node, run=node_run.run, attempt=2)
        survivors = [
            _spawn(str(approval.pk), str(node_run.pk), controller.url, "normal"),  # duplicate delivery
            _spawn(str(approval.pk), str(retry.pk), controller.url, "normal"),  # the reaper's retry
        ]
        started = time.monotonic()
        outputs = [p.communicate(timeout=120)[0].split() for p in survivors]
        assert time.monotonic() - started < 120
        assert outputs == [["REFUSED"], ["REFUSED"]], outputs
        assert controller.count == executed
    record = IdempotencyRecord.objects.get(approval=approval)
    assert record.status == ExecutionStatus.IN_PROGRESS and record.node_run_id == str(node_run.pk)
    assert ApprovalRequest.objects.get(pk=approval.pk).status == ApprovalStatus.EXECUTED


@pytest.mark.e2e
def test_a_normal_worker_process_executes_and_reports(approved) -> None:
    approval, node_run = approved
    with counting_server() as controller:
        process = _spawn(str(approval.pk), str(node_run.pk), controller.url, "normal")
        out, err = process.communicate(timeout=120)
        assert out.split() == ["CLAIMED", "EXECUTED", "REPORTED"], err
        assert controller.count == 1
    assert IdempotencyRecord.objects.get(approval=approval).status == ExecutionStatus.COMPLETED
