"""A Hypothesis state machine over request / approve / reject / expire / execute / report / clock-advance.

Invariant: executions ≤ 1 per approved action, and none for requests that ended rejected, expired or withdrawn
(or are still pending or approved). Also checked: a claim succeeds exactly when the request was APPROVED, inside
its validity window, and not yet executed. The clock is frozen and advanced with time-machine.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from approvals import gate, services
from approvals.models import ApprovalRequest, ApprovalStatus
from orchestrator.lib.auth import caller_for_api_key, caller_for_user
from orchestrator.lib.errors import DomainError
from orchestrator.models import (
    NodeRunStatus,
    NodeStatus,
    NodeType,
    Role,
    RunStatus,
    Scope,
    WorkflowNode,
    WorkflowNodeRun,
    WorkflowRun,
)
from tests.conftest import signed_in
from tests.factories import MembershipFactory, TenantFactory

pytestmark = pytest.mark.django_db

ACTIONS = [
    ("email.send", {"to": "a@example.com"}),  # HIGH, one approver
    ("email.send", {"to": "b@example.com"}),
    ("desktop.action", {"verb": "pay", "url": "https://checkout.example.com"}),  # CRITICAL, two approvers
]


class ApprovalMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.traveller = time_machine.travel(datetime(2030, 1, 1, tzinfo=UTC), tick=False)
        self.clock = self.traveller.start()
        from orchestrator import services as core

        self.tenant = TenantFactory()
        self.run = WorkflowRun.objects.create(tenant=self.tenant, name="sm", status=RunStatus.RUNNING)
        self.node = WorkflowNode.objects.create(run=self.run, key="act", type=NodeType.TASK, status=NodeStatus.RUNNING)
        self.node_runs = [
            WorkflowNodeRun.objects.create(node=self.node, run=self.run, attempt=1, status=NodeRunStatus.RUNNING)
        ]
        key, _ = core.create_api_key(tenant=self.tenant, name="svc", scopes=[Scope.APPROVALS_REQUEST])
        self.requester = caller_for_api_key(key)
        self.reviewers = [
            signed_in(caller_for_user(MembershipFactory(tenant=self.tenant, role=Role.REVIEWER).user)) for _ in range(3)
        ]
        self.ids: list[Any] = []
        self.executions: Counter[Any] = Counter()

    def teardown(self) -> None:
        self.traveller.stop()

    def _pick(self, index: int) -> ApprovalRequest:
        return ApprovalRequest.objects.get(pk=self.ids[index % len(self.ids)])

    @rule(action=st.integers(0, len(ACTIONS) - 1))
    def request(self, action: int) -> None:
        tool, params = ACTIONS[action]
        ask = services.request_action_approval(
            caller=self.requester, workflow_id=self.run.pk, node_key=self.node.key, tool=tool, params=params
        )
        assert ask.approval is not None
        if ask.approval.pk not in self.ids:
            self.ids.append(ask.approval.pk)
        if ask.created:
            assert ask.approval.status == ApprovalStatus.PENDING

    @precondition(lambda self: self.ids)
    @rule(index=st.integers(0, 50), reviewer=st.integers(0, 2))
    def approve(self, index: int, reviewer: int) -> None:
        with contextlib.suppress(DomainError):
            services.decide_approval(caller=self.reviewers[reviewer], approval=self._pick(index), decision="approve")

    @precondition(lambda self: self.ids)
    @rule(index=st.integers(0, 50), reviewer=st.integers(0, 2))
    def reject(self, index: int, reviewer: int) -> None:
        with contextlib.suppress(DomainError):
            services.decide_approval(
                caller=self.reviewers[reviewer], approval=self._pick(index), decision="reject", reason="no"
            )

    @rule()
    def expire(self) -> None:
        services.expire_overdue_approvals()

    @rule(minutes=st.sampled_from([1, 10, 30, 59, 61, 125]))
    def advance_clock(self, minutes: int) -> None:
        self.clock.shift(timedelta(minutes=minutes))

    @rule()
    def retry_node(self) -> None:
        attempt = len(self.node_runs) + 1
        self.node_runs.append(WorkflowNodeRun.objects.create(node=self.node, run=self.run, attempt=attempt))

    @precondition(lambda self: self.ids)
    @rule(index=st.integers(0, 50), node_run=st.integers(0, 50), tamper=st.booleans())
    def execute(self, index: int, node_run: int, tamper: bool) -> None:
        approval = self._pick(index)
        action = {"tool": approval.tool, "params": dict(approval.params)}
        if tamper:
            action["params"]["extra"] = 1
        from django.utils import timezone

        executable = (
            approval.status == ApprovalStatus.APPROVED
            and approval.valid_until is not None
            and timezone.now() < approval.valid_until
            and not tamper
        )
        chosen = self.node_runs[node_run % len(self.node_runs)]
        claimed = gate.claim_execution(approval_id=str(approval.pk), node_run_id=str(chosen.pk), action=action)
        assert claimed == executable, (approval.status, approval.valid_until, tamper)
        if claimed:
            self.executions[approval.pk] += 1  # the tool runs here

    @precondition(lambda self: self.ids)
    @rule(index=st.integers(0, 50), ok=st.booleans())
    def report(self, index: int, ok: bool) -> None:
        approval = self._pick(index)
        gate.record_execution_result(approval_id=str(approval.pk), node_run_id=str(self.node_runs[0].pk), succeeded=ok)

    @invariant()
    def executions_at_most_once_and_only_for_executed(self) -> None:
        for pk, status in ApprovalRequest.objects.filter(pk__in=self.ids).values_list("pk", "status"):
            assert self.executions[pk] <= 1
            if status == ApprovalStatus.EXECUTED:
                assert self.executions[pk] == 1
            else:  # PENDING, APPROVED, REJECTED, EXPIRED, WITHDRAWN: never executed
                assert self.executions[pk] == 0, status

    @invariant()
    def at_most_one_live_request_per_action(self) -> None:
        live = ApprovalRequest.objects.filter(pk__in=self.ids, status__in=["PENDING", "APPROVED"])
        hashes = list(live.values_list("action_hash", flat=True))
        assert len(hashes) == len(set(hashes))


def test_approval_state_machine_never_executes_twice_or_without_approval(db: Any) -> None:
    run_state_machine_as_test(
        ApprovalMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
