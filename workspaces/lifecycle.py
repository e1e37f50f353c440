"""The workspace state machine as a literal table (pure Python, no ORM), and the provisioning backoff.

Services apply a transition with a conditional ``UPDATE … WHERE status IN sources(action)`` and treat a zero row
count as "the state forbids it" (409 ``invalid_state``), so two concurrent transitions have exactly one winner.

Waking reuses PROVISIONING: a HIBERNATED (or FAILED, or never provisioned) workspace goes back through
PROVISIONING to READY, because the provider call that resumes a desktop is the one that creates it.
"""

from __future__ import annotations

from enum import StrEnum

from workspaces.models import WorkspaceStatus as S


class Action(StrEnum):
    WAKE = "wake"  # start provisioning: first time, after hibernation, or to retry a failure
    PROVISIONED = "provisioned"  # the provider reports the workspace ready
    PROVISION_FAILED = "provision_failed"  # the provider gave up (fatal error or retries exhausted)
    HIBERNATE = "hibernate"
    TERMINATE = "terminate"


TRANSITIONS: dict[tuple[str, Action], str] = {
    (S.PENDING, Action.WAKE): S.PROVISIONING,
    (S.HIBERNATED, Action.WAKE): S.PROVISIONING,
    (S.FAILED, Action.WAKE): S.PROVISIONING,
    (S.PROVISIONING, Action.PROVISIONED): S.READY,
    (S.PROVISIONING, Action.PROVISION_FAILED): S.FAILED,
    (S.READY, Action.HIBERNATE): S.HIBERNATED,
    (S.PENDING, Action.TERMINATE): S.TERMINATED,
    (S.PROVISIONING, Action.TERMINATE): S.TERMINATED,
    (S.READY, Action.TERMINATE): S.TERMINATED,
    (S.HIBERNATED, Action.TERMINATE): S.TERMINATED,
    (S.FAILED, Action.TERMINATE): S.TERMINATED,
}

TERMINAL: frozenset[str] = frozenset({S.TERMINATED})


def target(status: str, action: Action) -> str | None:
    """The status ``action`` leads to from ``status``, or None when the state forbids it."""
    return TRANSITIONS.get((status, action))


def sources(action: Action) -> list[str]:
    """Every status from which ``action`` is allowed (for the conditional UPDATE's WHERE clause)."""
    return sorted(status for (status, act) in TRANSITIONS if act == action)


def backoff_seconds(attempt: int, *, base: float, cap: float) -> float:
    """Capped exponential backoff before retry number ``attempt`` (1-based): base, 2·base, 4·base, … ≤ cap."""
    if attempt < 1:
        return 0.0
    return float(min(cap, base * (2 ** min(attempt - 1, 30))))
