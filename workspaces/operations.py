"""Provider operations of workspaces: claim the due operation, call the provider once, settle the outcome.

A transition (``workspaces.services``) records the operation the provider owes (``operation`` +
``operation_due_at``). A step *claims* it by moving ``operation_due_at`` forward to ``now + step lease`` with a
conditional UPDATE and settles with ``WHERE operation_due_at = <its claim>``: a step never overwrites a newer
transition (for example a terminate that arrived while provisioning was in flight), and a worker that dies
mid-step leaves a claim that expires; ``enqueue_due_operations`` (the periodic sweep) picks it up again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from orchestrator import events
from orchestrator.lib import units

from .lifecycle import Action, backoff_seconds, sources, target
from .models import Operation, Workspace, WorkspaceStatus
from .providers import FatalProviderError, RetryableProviderError, get_provider
from .services import enqueue_operation, event_data, notify_settled

logger = logging.getLogger(__name__)


def _step_lease() -> timedelta:
    # Long enough for the provider calls of one step (two HTTP calls with their timeouts) plus slack.
    return timedelta(seconds=2 * settings.WORKSPACE_PROVIDER_TIMEOUT_SECONDS + 30)


def perform_due_operation(*, workspace_id: Any) -> str:
    """Claim the workspace's due provider operation, call the provider once, and settle the outcome.

    Returns what happened (``not_due``, ``ready``, ``polling``, ``retrying``, ``failed``, ``done``, ``superseded``),
    for logs and tests. Preconditions: none (safe to call twice, concurrently, or for a workspace with nothing
    due). Side effects: on provisioning success READY + ``workspace.provisioned``; on retryable errors a later
    step with capped exponential backoff; when provisioning gives up FAILED with the reason in ``last_error``.
    """
    now = timezone.now()
    claim = now + _step_lease()
    claimed = (
        Workspace.objects.filter(pk=workspace_id, operation_due_at__lte=now)
        .exclude(operation=Operation.NONE)
        .update(operation_due_at=claim)
    )
    if not claimed:
        return "not_due"
    workspace = Workspace.objects.get(pk=workspace_id)
    operation = workspace.operation
    provider = get_provider(workspace.provider)
    ready = True
    try:
        if operation == Operation.PROVISION:
            result = provider.provision(
                workspace_id=str(workspace.pk), tenant_id=str(workspace.tenant_id), name=workspace.name
            )
            ready = result.ready
        elif operation == Operation.HIBERNATE:
            provider.hibernate(workspace_id=str(workspace.pk))
        else:
            provider.terminate(workspace_id=str(workspace.pk))
    except RetryableProviderError as exc:
        return _settle_retryable(workspace, claim=claim, reason=exc.reason, retry_after=exc.retry_after)
    except FatalProviderError as exc:
        return _settle_failure(workspace, claim=claim, reason=exc.reason)
    if not ready:
        return _settle_polling(workspace, claim=claim)
    return _settle_success(workspace, claim=claim)


def _claimed(workspace: Workspace, claim: datetime) -> Any:
    return Workspace.objects.filter(pk=workspace.pk, operation=workspace.operation, operation_due_at=claim)


def _superseded(workspace: Workspace, claim: datetime) -> str:
    """A newer transition replaced the operation during the call: hand over to it at once."""
    with transaction.atomic():
        released = Workspace.objects.filter(pk=workspace.pk, operation_due_at=claim).update(
            operation_due_at=timezone.now()
        )
        if released:
            enqueue_operation(workspace.pk)
    return "superseded"


def _settle_success(workspace: Workspace, *, claim: datetime) -> str:
    now = timezone.now()
    with transaction.atomic():
        if workspace.operation != Operation.PROVISION:
            if not _claimed(workspace, claim).update(
                operation=Operation.NONE, operation_due_at=None, operation_attempts=0, updated_at=now
            ):
                return _superseded(workspace, claim)
            return "done"
        updated = (
            _claimed(workspace, claim)
            .filter(status__in=sources(Action.PROVISIONED))
            .update(
                status=target(WorkspaceStatus.PROVISIONING, Action.PROVISIONED),
                status_changed_at=now,
                operation=Operation.NONE,
                operation_due_at=None,
                operation_attempts=0,
                last_error="",
                last_used_at=now,
                updated_at=now,
            )
        )
        if not updated:
            return _superseded(workspace, claim)
        workspace.refresh_from_db()
        events.emit(
            "workspace.provisioned",
            tenant_id=workspace.tenant_id,
            resource_type="workspace",
            resource_id=workspace.pk,
            data=event_data(workspace, provider=workspace.provider),
            before={"status": WorkspaceStatus.PROVISIONING},
            after={"status": workspace.status},
        )
        notify_settled(workspace.pk, workspace.status)
    return "ready"


def _settle_polling(workspace: Workspace, *, claim: datetime) -> str:
    now = timezone.now()
    started = workspace.operation_started_at or now
    timeout = settings.WORKSPACE_PROVISION_TIMEOUT_SECONDS
    if (now - started).total_seconds() >= timeout:
        return _settle_failure(workspace, claim=claim, reason=f"the desktop was not ready after {timeout}s")
    delay = settings.WORKSPACE_PROVISION_POLL_SECONDS
    with transaction.atomic():
        if not _claimed(workspace, claim).update(operation_due_at=now + timedelta(seconds=delay), updated_at=now):
            return _superseded(workspace, claim)
        enqueue_operation(workspace.pk, delay_seconds=delay)
    return "polling"


def _settle_retryable(workspace: Workspace, *, claim: datetime, reason: str, retry_after: float | None) -> str:
    attempts = workspace.operation_attempts + 1
    limit = settings.WORKSPACE_PROVISION_MAX_ATTEMPTS
    if attempts >= limit:
        return _settle_failure(workspace, claim=claim, reason=f"gave up after {attempts} attempts: {reason}")
    cap = float(settings.WORKSPACE_PROVISION_MAX_BACKOFF_SECONDS)
    delay = backoff_seconds(attempts, base=float(settings.WORKSPACE_PROVISION_BACKOFF_SECONDS), cap=cap)
    if retry_after is not None:  # the server knows best when capacity comes back, within our cap
        delay = min(cap, max(delay, retry_after))
    now = timezone.now()
    logger.info(
        "workspace %s: %s failed (attempt %s/%s), retrying in %ss: %s",
        workspace.pk,
        workspace.operation,
        attempts,
        limit,
        delay,
        reason,
    )
    with transaction.atomic():
        if not _claimed(workspace, claim).update(
            operation_attempts=attempts,
            operation_due_at=now + timedelta(seconds=delay),
            last_error=reason[:2000],
            updated_at=now,
        ):
            return _superseded(workspace, claim)
        enqueue_operation(workspace.pk, delay_seconds=delay)
    return "retrying"


def _settle_failure(workspace: Workspace, *, claim: datetime, reason: str) -> str:
    """Provisioning that cannot succeed → FAILED with the reason; a failed hibernate/terminate is recorded, dropped."""
    now = timezone.now()
    message = f"{workspace.operation} failed: {reason}"[:2000]
    with transaction.atomic():
        queryset = _claimed(workspace, claim)
        changes: dict[str, Any] = {
            "operation": Operation.NONE,
            "operation_due_at": None,
            "last_error": message,
            "updated_at": now,
        }
        if workspace.operation == Operation.PROVISION:
            queryset = queryset.filter(status__in=sources(Action.PROVISION_FAILED))
            changes.update(status=WorkspaceStatus.FAILED, status_changed_at=now)
        if not queryset.update(**changes):
            return _superseded(workspace, claim)
        if workspace.operation == Operation.PROVISION:
            notify_settled(workspace.pk, WorkspaceStatus.FAILED)
    logger.warning("workspace %s: %s", workspace.pk, message)
    return "failed"


def enqueue_due_operations(*, limit: int = 500) -> int:
    """Re-enqueue provider operations that are due (lost messages, crashed workers); returns how many."""
    due = (
        Workspace.objects.exclude(operation=Operation.NONE)
        .filter(operation_due_at__lte=timezone.now())
        .values_list("pk", "tenant_id")[:limit]
    )
    rows = list(due)
    # Each workspace is a unit (issue 16): a message that cannot be sent is reported and the others still go. No
    # quarantine: the operation itself (``perform_due_operation``) settles failures, this only re-sends.
    guard = units.Guard(REQUEUE_JOB)
    for workspace_id, tenant_id in rows:
        unit = units.Unit(key=f"workspace:{workspace_id}", ids={"tenant": tenant_id, "workspace": workspace_id})
        with guard.unit(unit, sql=False):
            enqueue_operation(workspace_id)
    return len(rows) - guard.failures


REQUEUE_JOB = "workspaces.requeue"
