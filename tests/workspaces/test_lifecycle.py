"""The workspace state machine, exhaustively, without a database."""

from __future__ import annotations

import itertools

import pytest

from workspaces.lifecycle import TRANSITIONS, Action, backoff_seconds, sources, target
from workspaces.models import WorkspaceStatus as S

# Every (status, action) pair and where it leads; None means 409 invalid_state.
EXPECTED: dict[str, dict[Action, str | None]] = {
    S.PENDING: {
        Action.WAKE: S.PROVISIONING,
        Action.PROVISIONED: None,
        Action.PROVISION_FAILED: None,
        Action.HIBERNATE: None,
        Action.TERMINATE: S.TERMINATED,
    },
    S.PROVISIONING: {
        Action.WAKE: None,
        Action.PROVISIONED: S.READY,
        Action.PROVISION_FAILED: S.FAILED,
        Action.HIBERNATE: None,
        Action.TERMINATE: S.TERMINATED,
    },
    S.READY: {
        Action.WAKE: None,
        Action.PROVISIONED: None,
        Action.PROVISION_FAILED: None,
        Action.HIBERNATE: S.HIBERNATED,
        Action.TERMINATE: S.TERMINATED,
    },
    S.HIBERNATED: {
        Action.WAKE: S.PROVISIONING,
        Action.PROVISIONED: None,
        Action.PROVISION_FAILED: None,
        Action.HIBERNATE: None,
        Action.TERMINATE: S.TERMINATED,
    },
    S.FAILED: {
        Action.WAKE: S.PROVISIONING,
        Action.PROVISIONED: None,
        Action.PROVISION_FAILED: None,
        Action.HIBERNATE: None,
        Action.TERMINATE: S.TERMINATED,
    },
    S.TERMINATED: {action: None for action in Action},
}


@pytest.mark.parametrize(("status", "action"), list(itertools.product(S.values, list(Action))))
def test_every_status_and_action_leads_where_the_table_says(status: str, action: Action) -> None:
    assert target(status, action) == EXPECTED[status][action]


def test_expected_table_covers_every_status_and_action() -> None:
    assert set(EXPECTED) == set(S.values)
    assert all(set(row) == set(Action) for row in EXPECTED.values())


def test_transition_map_only_names_known_statuses() -> None:
    for (status, _action), to in TRANSITIONS.items():
        assert status in S.values and to in S.values


def test_sources_are_the_statuses_that_allow_the_action() -> None:
    for action in Action:
        assert sources(action) == sorted(s for s in S.values if EXPECTED[s][action] is not None)


def test_terminated_is_a_dead_end() -> None:
    assert all(target(S.TERMINATED, action) is None for action in Action)


def test_backoff_doubles_from_the_base_and_is_capped() -> None:
    delays = [backoff_seconds(n, base=2, cap=30) for n in range(1, 8)]
    assert delays == [2, 4, 8, 16, 30, 30, 30]
    assert backoff_seconds(0, base=2, cap=30) == 0
    assert backoff_seconds(10_000, base=2, cap=30) == 30  # no overflow for absurd attempt numbers
