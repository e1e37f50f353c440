"""Approval requests for risky actions, the decisions people take on them, and the execution guard (SPEC §6)."""

from __future__ import annotations

import uuid

from django.db import models

from orchestrator.models import Tenant, WorkflowNode, WorkflowNodeRun, WorkflowRun


class ApprovalStatus(models.TextChoices):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    EXECUTED = "EXECUTED"
    WITHDRAWN = "WITHDRAWN"


LIVE_STATUSES = (ApprovalStatus.PENDING, ApprovalStatus.APPROVED)


class RiskLevel(models.TextChoices):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"


class ApprovalSource(models.TextChoices):
    SCHEDULER = "scheduler", "Scheduler (TASK before dispatch)"
    SERVICE = "service", "Service (POST /approvals/request)"


class ApprovalRequest(models.Model):
    """One risky action waiting for (or past) human approval.

    ``action_hash`` is SHA-256 over tenant, run, node, tool and every param (``approvals.hashing``): a decision binds
    to exactly that action. At most one live (PENDING or APPROVED) request exists per tenant and action hash, which
    is what makes "asking again returns the same request" safe under concurrency.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="approval_requests")
    run = models.ForeignKey(WorkflowRun, on_delete=models.CASCADE, related_name="approval_requests")
    node = models.ForeignKey(WorkflowNode, on_delete=models.CASCADE, related_name="approval_requests")
    node_run = models.ForeignKey(
        WorkflowNodeRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="approval_requests"
    )
    source = models.CharField(max_length=16, choices=ApprovalSource.choices)
    tool = models.CharField(max_length=100, db_index=True)
    params = models.JSONField(default=dict, blank=True)
    context = models.JSONField(default=dict, blank=True)
    reasoning = models.TextField(blank=True)
    summary = models.CharField(max_length=300)
    preview = models.TextField(blank=True, help_text="A human-readable rendering of the action.")
    risk_level = models.CharField(max_length=16, choices=RiskLevel.choices)
    risk_reasons = models.JSONField(default=list, blank=True)
    required_approvals = models.PositiveSmallIntegerField(default=1)
    action_hash = models.CharField(max_length=64)
    requested_by = models.JSONField(default=dict, blank=True, help_text='{"type", "id", "display"}')
    status = models.CharField(max_length=16, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING)
    created_at = models.DateTimeField(db_index=True)
    expires_at = models.DateTimeField(help_text="A PENDING request expires at this time.")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    valid_until = models.DateTimeField(null=True, blank=True, help_text="An APPROVED request expires at this time.")
    expired_at = models.DateTimeField(null=True, blank=True)
    executed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # --- issue 20: routing (approvals.routing). Empty groups: not routed, every reviewer of the tenant decides.
    routing_rule = models.CharField(max_length=100, blank=True)
    assigned_groups = models.JSONField(default=list, blank=True, help_text="Reviewer groups that may decide.")
    escalation_groups = models.JSONField(
        default=list, blank=True, help_text="Added to the assigned groups at escalation."
    )
    slack_channel = models.CharField(max_length=100, blank=True)
    remind_at = models.DateTimeField(null=True, blank=True)
    escalate_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=ApprovalStatus.values), name="approval_status_valid"),
            models.CheckConstraint(condition=models.Q(risk_level__in=RiskLevel.values), name="approval_risk_valid"),
            models.CheckConstraint(condition=models.Q(required_approvals__gte=1), name="approval_quorum_positive"),
            models.UniqueConstraint(
                fields=["tenant", "action_hash"],
                condition=models.Q(status__in=["PENDING", "APPROVED"]),
                name="approval_one_live_request_per_action",
            ),
        ]
        indexes = [
            # The list endpoint: newest first with the id as tie-breaker, so a page is an index range (no sort), by
            # status (the PENDING default) and across statuses (status=ALL).
            models.Index(fields=["tenant", "status", "-created_at", "-id"], name="approval_tenant_status_idx"),
            models.Index(fields=["tenant", "-created_at", "-id"], name="approval_tenant_created_idx"),
            models.Index(fields=["action_hash"], name="approval_action_hash_idx"),
            # The expiry sweep and expire-on-read: only live rows, whatever the history size.
            models.Index(fields=["expires_at"], name="approval_pending_exp_idx", condition=models.Q(status="PENDING")),
            models.Index(
                fields=["valid_until"], name="approval_approved_exp_idx", condition=models.Q(status="APPROVED")
            ),
            # Issue 20: the periodic reminder and escalation passes read only live, not yet handled rows.
            models.Index(
                fields=["remind_at"],
                name="approval_remind_idx",
                condition=models.Q(status="PENDING", reminded_at__isnull=True),
            ),
            models.Index(
                fields=["escalate_at"],
                name="approval_escalate_idx",
                condition=models.Q(status="PENDING", escalated_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tool} ({self.risk_level}, {self.status})"


class DecisionKind(models.TextChoices):
    APPROVE = "approve"
    REJECT = "reject"


class ApprovalDecision(models.Model):
    """One person's (or key's) decision on a request; a quorum needs N distinct approving deciders."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    approval = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="decisions")
    decision = models.CharField(max_length=8, choices=DecisionKind.choices)
    decider_type = models.CharField(max_length=16)
    decider_id = models.CharField(max_length=64)
    decider_display = models.CharField(max_length=200, blank=True)
    # The principals the deciding credential speaks for ("user:<id>", "service_account:<id>"): separation of duties
    # and the quorum compare these, never credentials (approvals.authority).
    principals = models.JSONField(default=list, blank=True)
    # How the decider recently proved who they are, when the level asked for it: "password" or "totp".
    step_up = models.CharField(max_length=16, blank=True)
    reason = models.TextField(blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField()
    # Issue 20: a delegate's vote names the reviewer it stands in for ({"type": "user", "id", "display"}).
    on_behalf_of = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["approval", "decider_type", "decider_id"], name="approval_decision_one_per_decider"
            ),
            models.CheckConstraint(
                condition=models.Q(decision__in=DecisionKind.values), name="approval_decision_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.decision} by {self.decider_display or self.decider_id}"

    def as_dict(self) -> dict[str, object]:
        return {
            "decision": self.decision,
            "by": {"type": self.decider_type, "id": self.decider_id, "display": self.decider_display},
            "at": self.created_at.isoformat().replace("+00:00", "Z"),
            "reason": self.reason,
            "step_up": self.step_up or None,
            "on_behalf_of": self.on_behalf_of or None,
        }


class ExecutionStatus(models.TextChoices):
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class IdempotencyRecord(models.Model):
    """The execution guard of an approved action (SPEC §6.1 "Exactly once").

    Inserted when the single execution is claimed; the one-to-one with the approval and the unique
    (action hash, node run) key make a second claim impossible, whoever asks (duplicate deliveries, a retry, a
    second scheduler). A claim whose worker died stays IN_PROGRESS: nothing runs the action again by itself.
    Not to be confused with ``orchestrator.IdempotentRequest`` (the HTTP ``Idempotency-Key`` header).
    """

    id = models.BigAutoField(primary_key=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    approval = models.OneToOneField(ApprovalRequest, on_delete=models.CASCADE, related_name="execution")
    action_hash = models.CharField(max_length=64)
    node_run_id = models.CharField(max_length=64, blank=True, help_text="The claiming node run ('' if none).")
    status = models.CharField(max_length=16, choices=ExecutionStatus.choices, default=ExecutionStatus.IN_PROGRESS)
    claimed_by = models.JSONField(default=dict, blank=True)
    output = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["action_hash", "node_run_id"], name="idempotency_record_unique_key"),
            models.CheckConstraint(
                condition=models.Q(status__in=ExecutionStatus.values), name="idempotency_record_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action_hash[:12]}…/{self.node_run_id or '-'} ({self.status})"

    def as_dict(self) -> dict[str, object]:
        return {
            "status": self.status,
            "node_run_id": self.node_run_id or None,
            "claimed_at": self.created_at.isoformat().replace("+00:00", "Z"),
            "completed_at": self.completed_at.isoformat().replace("+00:00", "Z") if self.completed_at else None,
            "output": self.output,
            "error": self.error,
        }


# Issue 20's models live in their own module; imported here so Django registers them with this app.
from .models_routing import (  # noqa: E402, F401
    Delegation,
    NotificationChannel,
    NotificationKind,
    NotificationOutbox,
    OutboxStatus,
    SlackIdentity,
    TenantRouting,
)
