"""Tenancy, credentials and request bookkeeping for the orchestrator.

The workflow engine's models live beside these (``WorkflowRun`` and friends) once the engine lands.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Tenant(models.Model):
    """An organisation: every workflow, workspace, approval, webhook and audit entry belongs to one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    # Per-tenant override of the risk policy (SPEC §6.2); empty means "use the settings default".
    risk_policy = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    REVIEWER = "reviewer", "Reviewer"
    OPERATOR = "operator", "Operator"


class Membership(models.Model):
    """A person's role in one tenant."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "tenant"], name="membership_unique_user_tenant"),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant} ({self.role})"


class Scope(models.TextChoices):
    WORKFLOWS = "workflows", "Workflows"
    WORKSPACES = "workspaces", "Workspaces"
    APPROVALS_REQUEST = "approvals:request", "Request approvals"
    APPROVALS_DECIDE = "approvals:decide", "Decide approvals"
    WEBHOOKS = "webhooks", "Webhooks"
    AUDIT = "audit", "Audit"


class ServiceAccount(models.Model):
    """A named non-human principal of one tenant (a CI job, an agent). Its keys act as it.

    ``owner`` is the person accountable for it, if any: for separation of duties the account's keys also speak
    for that person (docs/decisions.md, "Principals").
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="service_accounts")
    name = models.CharField(max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tenant", "name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="service_account_unique_tenant_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} @ {self.tenant_id}"


class ApiKey(models.Model):
    """A credential for one tenant. Only a SHA-256 of the key is stored; the key is shown once.

    Every key belongs to exactly one principal: a person (``owner_user``, a personal key that acts as that person)
    or a service account. ``created_by`` is the person who minted it (none for keys made by commands).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    owner_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="api_keys"
    )
    service_account = models.ForeignKey(
        ServiceAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="api_keys"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    prefix = models.CharField(max_length=16, unique=True, help_text="Visible part of the key, for recognising it.")
    key_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"
        verbose_name_plural = "API keys"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(owner_user__isnull=False, service_account__isnull=True)
                | models.Q(owner_user__isnull=True, service_account__isnull=False),
                name="api_key_one_owner_principal",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotentRequest(models.Model):
    """One ``Idempotency-Key`` seen from one caller (SPEC §2): the request fingerprint and the stored response."""

    class Status(models.TextChoices):
        IN_PROGRESS = "IN_PROGRESS"
        COMPLETED = "COMPLETED"

    id = models.BigAutoField(primary_key=True)
    caller = models.CharField(max_length=80, help_text="api_key:<id> or user:<id>")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    response_content_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["caller", "key"], name="idempotent_request_unique_caller_key"),
            models.CheckConstraint(
                condition=models.Q(status__in=["IN_PROGRESS", "COMPLETED"]),
                name="idempotent_request_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.caller}:{self.key} ({self.status})"


class RunStatus(models.TextChoices):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class NodeType(models.TextChoices):
    """Names of the built-in node types, for code and tests that name one. The valid types are those registered
    in ``orchestrator.nodes`` (the column is not limited to these choices: adding a type needs no migration)."""

    TASK = "TASK"
    DECISION = "DECISION"
    PARALLEL = "PARALLEL"
    WAIT = "WAIT"
    INPUT = "INPUT"


class NodeStatus(models.TextChoices):
    PENDING = "PENDING"
    READY = "READY"
    RUNNING = "RUNNING"
    WAITING_APPROVAL = "WAITING_APPROVAL"
    WAITING = "WAITING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
    CANCELLED = "CANCELLED"


class NodeRunStatus(models.TextChoices):
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class WorkflowRun(models.Model):
    """One execution of a workflow definition (SPEC §3)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="runs")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    workspace = models.ForeignKey(
        "workspaces.Workspace", null=True, blank=True, on_delete=models.PROTECT, related_name="runs"
    )
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.PENDING)
    # Who created and who started the run: the requester of approvals the scheduler asks for (SPEC §6.1).
    created_by = models.JSONField(default=dict, blank=True, help_text='{"type", "id", "display"}')
    started_by = models.JSONField(default=dict, blank=True, help_text='{"type", "id", "display"}')
    error = models.TextField(blank=True)
    cancel_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=RunStatus.values), name="run_status_valid"),
        ]
        indexes = [
            # The list endpoint: newest first with the id as tie-breaker, so a page is an index range (no sort).
            models.Index(fields=["tenant", "status", "-created_at", "-id"], name="run_tenant_status_idx"),
            models.Index(fields=["tenant", "-created_at", "-id"], name="run_tenant_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"


class WorkflowNode(models.Model):
    """A node of a run's DAG; ``config`` holds the type-specific definition fields as validated."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    run = models.ForeignKey(WorkflowRun, on_delete=models.CASCADE, related_name="nodes")
    key = models.CharField(max_length=64)
    # The node's index in the submitted definition: answers list nodes in the order their author wrote them.
    position = models.PositiveIntegerField(default=0)
    type = models.CharField(max_length=16)  # a type registered in ``orchestrator.nodes`` (validated on create)
    name = models.CharField(max_length=200, blank=True)
    depends_on = models.JSONField(default=list, blank=True)
    config = models.JSONField(default=dict, blank=True)
    # Keys of the nodes that depend on this one: successors are resolved by key with one set-based UPDATE.
    successors = models.JSONField(default=list, blank=True)
    # ``"on_failure": "continue"``: a failure of this node does not fail the run (denormalised for SQL).
    continue_on_failure = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=NodeStatus.choices, default=NodeStatus.PENDING)
    # Dependencies not yet COMPLETED: successors become READY with one set-based UPDATE when it reaches 0.
    pending_dependencies = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    # Attempts made before the last manual retry: the retry budget counts ``attempts - retry_base``.
    retry_base = models.PositiveIntegerField(default=0)
    # Automatic retries after a worker crash (idempotent tools only; orchestrator/recovery.py): their own budget,
    # ``NODE_CRASH_RETRIES``, not the node's declared retries.
    crash_retries = models.PositiveIntegerField(default=0, db_default=0)
    output = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    # Earliest time the scheduler may act: retry backoff for READY nodes, the timer for WAITING nodes.
    not_before = models.DateTimeField(null=True, blank=True)
    # The approval granted for this node's action (set when its request is approved): the gate hands it to the
    # attempt by id instead of searching requests by action hash.
    approval_id = models.CharField(max_length=64, blank=True)
    # An INPUT node: who submitted its values (``{"type", "id", "display"}``; null until then, and when it expired).
    submitted_by = models.JSONField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["run", "position", "key"]
        constraints = [
            models.UniqueConstraint(fields=["run", "key"], name="node_unique_run_key"),
            models.CheckConstraint(condition=models.Q(status__in=NodeStatus.values), name="node_status_valid"),
        ]
        indexes = [
            # The scheduler's hot query: ready (or timed) work only, a tiny index whatever the history size.
            models.Index(
                fields=["not_before"],
                name="node_ready_idx",
                condition=models.Q(status__in=["READY", "WAITING"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"


class WorkflowNodeRun(models.Model):
    """One attempt of a TASK node: its own status, input, output, error, timings and lease."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    node = models.ForeignKey(WorkflowNode, on_delete=models.CASCADE, related_name="node_runs")
    run = models.ForeignKey(WorkflowRun, on_delete=models.CASCADE, related_name="node_runs")
    attempt = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=NodeRunStatus.choices, default=NodeRunStatus.RUNNING)
    input = models.JSONField(default=dict, blank=True)
    output = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    # Lease: the worker holding the attempt and until when; the reaper retries/fails expired ones.
    lease_owner = models.CharField(max_length=200, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    fencing_token = models.BigIntegerField(null=True, blank=True)
    # When the attempt must end (``timeout_seconds``); the lease never runs past it.
    timeout_at = models.DateTimeField(null=True, blank=True)
    # The approval this attempt executes (approvals gate), if any.
    approval_id = models.CharField(max_length=64, blank=True)
    external_task_id = models.CharField(max_length=200, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    # How many times recovery re-published this attempt because no worker started it (orchestrator/recovery.py);
    # bounded by ``NODE_MAX_REDISPATCHES``. Until a worker starts it, ``started_at`` is when it was last published.
    # (A database default too: the claim statement inserts attempts in raw SQL.)
    redispatches = models.PositiveIntegerField(default=0, db_default=0)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["node", "attempt"]
        constraints = [
            models.UniqueConstraint(fields=["node", "attempt"], name="node_run_unique_attempt"),
            models.CheckConstraint(condition=models.Q(status__in=NodeRunStatus.values), name="node_run_status_valid"),
        ]
        indexes = [
            models.Index(
                fields=["lease_expires_at"],
                name="node_run_live_lease_idx",
                condition=models.Q(status="RUNNING"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.node_id}#{self.attempt} ({self.status})"


class ConsoleProfile(models.Model):
    """A person's console preferences: the time zone absolute times (such as an approval's expiry) are shown in."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="console_profile"
    )
    time_zone = models.CharField(max_length=64, default="UTC", help_text="An IANA zone name, e.g. Europe/Berlin.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "console profile"

    def __str__(self) -> str:
        return f"{self.user_id}: {self.time_zone}"


class WorkerHeartbeat(models.Model):
    """One executor process (``host:pid``, the lease owner it writes on attempts) announcing it is alive.

    Refreshed every ``WORKER_HEARTBEAT_SECONDS`` by the process itself (orchestrator/heartbeats.py). Recovery reads
    it to notice within seconds that a worker is gone (no beat for ``WORKER_HEARTBEAT_TIMEOUT_SECONDS``) or was
    replaced by a new process with the same identity (``booted_at`` later than an attempt's start).
    """

    identity = models.CharField(max_length=200, primary_key=True)
    booted_at = models.DateTimeField()
    seen_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["seen_at"], name="worker_heartbeat_seen_idx")]

    def __str__(self) -> str:
        return self.identity
