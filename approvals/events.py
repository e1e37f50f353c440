"""Approval event payloads (SPEC §7) and the metrics bumped with them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import get_script_prefix, get_urlconf, reverse

from orchestrator import events, metrics
from orchestrator.lib.context import Actor

from .models import ApprovalRequest


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


_SAMPLE_ID = uuid.UUID(int=0)
# The console route with ``{}`` for the id, per (script prefix, URLconf): ``reverse`` costs ~40 µs, once per row of
# a 20-row approvals page otherwise.
_console_paths: dict[tuple[str, Any], str] = {}


def console_url(approval_id: Any) -> str:
    """The approval's console page as an absolute link (``CONSOLE_BASE_URL``, which ``manage.py run`` sets to the
    address it serves), with the trailing slash the console route has."""
    if not isinstance(approval_id, uuid.UUID):
        return settings.CONSOLE_BASE_URL + reverse("console:approval", args=[approval_id])
    where = (get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)
    path = _console_paths.get(where)
    if path is None:
        # A UUID needs no escaping, so the reversed sample with its id replaced is what ``reverse`` would give.
        sample = reverse("console:approval", args=[_SAMPLE_ID])
        path = _console_paths[where] = sample.replace("{", "{{").replace("}", "}}").replace(str(_SAMPLE_ID), "{}")
    return settings.CONSOLE_BASE_URL + path.format(approval_id)


def audit_url(approval_id: Any) -> str:
    return f"/api/v1/audit/approvals/{approval_id}"


def event_data(approval: ApprovalRequest, *, decision: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """Approval id, run id, node key, tool, risk, summary, decision (who, when, reason) and the console link."""
    data = {
        "approval_id": str(approval.pk),
        "run_id": str(approval.run_id),
        "node_key": approval.node.key,
        "tool": approval.tool,
        "risk_level": approval.risk_level,
        "risk_reasons": list(approval.risk_reasons or []),
        "summary": approval.summary,
        "status": approval.status,
        "action_hash": approval.action_hash,
        "requested_by": approval.requested_by,
        "required_approvals": approval.required_approvals,
        "expires_at": _iso(approval.expires_at),
        "valid_until": _iso(approval.valid_until),
        "decision": decision,
        "console_url": console_url(approval.pk),
    }
    data.update(extra)
    return data


def emit_approval_event(
    event_type: str,
    approval: ApprovalRequest,
    *,
    actor: Actor | None,
    before: str | None,
    decision: dict[str, Any] | None = None,
    reason: str = "",
    **extra: Any,
) -> None:
    """Emit ``approval.<x>`` for ``approval`` in the caller's transaction."""
    events.emit(
        event_type,
        tenant_id=approval.tenant_id,
        resource_type="approval",
        resource_id=approval.pk,
        data=event_data(approval, decision=decision, **extra),
        actor=actor,
        before={"status": before} if before else None,
        after={"status": approval.status},
        reason=reason,
    )


def count_outcome(approval: ApprovalRequest, status: str, *, latency_from: datetime | None, at: datetime) -> None:
    """``approvals_total`` (and ``approval_latency_seconds`` for decisions and expiries) once the change commits."""
    risk = approval.risk_level

    def bump() -> None:
        metrics.approvals_total.labels(status=status, risk_level=risk).inc()
        if latency_from is not None:
            metrics.approval_latency_seconds.labels(status=status).observe(
                max(0.0, (at - latency_from).total_seconds())
            )

    transaction.on_commit(bump)
