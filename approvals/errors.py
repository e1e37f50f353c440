"""Domain errors of approvals, with the stable codes of SPEC §6.1 (the API turns them into problem documents)."""

from __future__ import annotations

from orchestrator.lib.errors import ConflictError, GoneError, InvalidStateError, PermissionDeniedError


class ApprovalNotPending(InvalidStateError):
    status, code, title = 409, "approval_not_pending", "Approval is not pending"


class ApprovalNotApproved(InvalidStateError):
    status, code, title = 409, "approval_not_approved", "Approval is not approved"


class ApprovalExpired(GoneError):
    status, code, title = 410, "approval_expired", "Approval expired"


class SelfApprovalForbidden(PermissionDeniedError):
    status, code, title = 403, "self_approval_forbidden", "You cannot decide your own request"


class AlreadyDecided(ConflictError):
    status, code, title = 409, "already_decided", "You already decided this request"


class AlreadyExecuted(ConflictError):
    status, code, title = 409, "already_executed", "This approved action was already executed"


class ActionMismatch(ConflictError):
    status, code, title = 409, "action_mismatch", "The action differs from the approved action"


class ResultAlreadyRecorded(ConflictError):
    status, code, title = 409, "result_already_recorded", "The execution result was already recorded"


class DeciderNotAllowed(PermissionDeniedError):
    status, code, title = 403, "decider_not_allowed", "This kind of principal may not decide at this risk level"


class StepUpRequired(PermissionDeniedError):
    status, code, title = 403, "step_up_required", "Confirm who you are again before deciding"


class NotRoutedReviewer(PermissionDeniedError):
    """Issue 20: the request is routed to reviewer groups and the decider is neither a member nor a delegate."""

    status, code, title = 403, "not_routed_reviewer", "This request is routed to other reviewers"


class DelegationNotAllowed(PermissionDeniedError):
    status, code, title = 403, "delegation_not_allowed", "This delegation is not allowed"
