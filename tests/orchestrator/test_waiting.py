"""``GET /approvals/{id}?wait=N`` and ``GET /workflows/{id}?wait=N`` (issue 19): they answer as soon as the state
changes (announced on commit; Redis pub/sub when REDIS_URL is set, in-process otherwise) or after N seconds, and
hold no database connection while they wait."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from orchestrator import scheduler
from orchestrator.lib import waiting
from tests.conftest import assert_problem
from tests.polling import poll

pytestmark = pytest.mark.django_db(transaction=True)


def pending_approval(api: APIClient) -> tuple[str, str]:
    body = {
        "name": "needs a yes",
        "start": True,
        "nodes": [{"key": "a", "type": "TASK", "action": {"tool": "echo", "params": {}}, "requires_approval": True}],
    }
    created = api.post("/api/v1/workflows", body, format="json")
    assert created.status_code == 201, created.json()
    run_id = created.json()["id"]
    scheduler.tick(dispatch=lambda ids: None)
    listed = api.get("/api/v1/approvals").json()["results"]
    [approval] = [a for a in listed if a["workflow_id"] == run_id]
    return run_id, approval["id"]


class Waiter(threading.Thread):
    """One waiting GET in its own thread (its own DB connection), timed."""

    def __init__(self, client: APIClient, url: str, **headers: str) -> None:
        super().__init__(daemon=True)
        self.client, self.url, self.headers = client, url, headers
        self.response: Any = None
        self.elapsed = 0.0

    def run(self) -> None:
        began = time.monotonic()
        try:
            self.response = self.client.get(self.url, **self.headers)
        finally:
            self.elapsed = time.monotonic() - began
            connection.close()


def _our_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return int(cursor.fetchone()[0])


def test_wait_is_bounded_and_validated(api: APIClient, tenant: Any) -> None:
    run_id, approval_id = pending_approval(api)
    for bad in ("31", "-1", "soon"):
        problem = assert_problem(api.get(f"/api/v1/approvals/{approval_id}?wait={bad}"), 400, "validation_error")
        assert "wait" in str(problem)
        assert_problem(api.get(f"/api/v1/workflows/{run_id}?wait={bad}"), 400, "validation_error")
    began = time.monotonic()
    unchanged = api.get(f"/api/v1/approvals/{approval_id}?wait=0.5")
    assert unchanged.status_code == 200 and unchanged.json()["status"] == "PENDING"
    assert time.monotonic() - began >= 0.5
    assert unchanged["ETag"]
    # A client whose last answer is already out of date gets the current state at once.
    began = time.monotonic()
    stale = api.get(f"/api/v1/approvals/{approval_id}?wait=20", HTTP_IF_NONE_MATCH='"not-the-current-state"')
    assert stale.status_code == 200 and time.monotonic() - began < 5
    assert stale["ETag"] == unchanged["ETag"]


def test_a_decision_wakes_the_approval_and_workflow_waiters(
    api: APIClient, tenant: Any, key_client: Any, settings: Any
) -> None:
    run_id, approval_id = pending_approval(api)
    approval_waiter = Waiter(key_client(tenant), f"/api/v1/approvals/{approval_id}?wait=25")
    workflow_waiter = Waiter(key_client(tenant), f"/api/v1/workflows/{run_id}?wait=25")
    approval_waiter.start()
    workflow_waiter.start()
    poll(lambda: waiting.hub.waiting() == 2, 10, "both requests waiting")
    if connection.vendor == "postgresql":
        # The two waiting requests hold no database connection: only this test's own is open.
        poll(lambda: _our_connections() == 1, 10, "waiters to give their connections back")
    if settings.REDIS_URL:
        poll(waiting.hub.live.is_set, 10, "the Redis subscription")
    rejected = key_client(tenant).post(f"/api/v1/approvals/{approval_id}/reject", {"reason": "no"}, format="json")
    assert rejected.status_code == 200, rejected.json()
    approval_waiter.join(30)
    workflow_waiter.join(30)
    assert approval_waiter.response.json()["status"] == "REJECTED"
    assert workflow_waiter.response.json()["status"] == "FAILED"
    # Woken by the announcement, well before the 25 s (or the 5 s re-check).
    assert approval_waiter.elapsed < 4, approval_waiter.elapsed
    assert workflow_waiter.elapsed < 4, workflow_waiter.elapsed
    assert waiting.hub.waiting() == 0


def test_cancelling_a_run_wakes_its_waiter(api: APIClient, tenant: Any, key_client: Any) -> None:
    run_id, _ = pending_approval(api)
    waiter = Waiter(key_client(tenant), f"/api/v1/workflows/{run_id}?wait=25")
    waiter.start()
    poll(lambda: waiting.hub.waiting() == 1, 10, "the request waiting")
    assert api.post(f"/api/v1/workflows/{run_id}/cancel", {"reason": "enough"}, format="json").status_code == 200
    waiter.join(30)
    assert waiter.response.json()["status"] == "CANCELLED"
    assert waiter.elapsed < 4, waiter.elapsed


# --- Every change the engine makes wakes the run's waiters (issue 19, gap 1) ---------------------------------------

PROMPT_SECONDS = 8.0  # well before the waiters' 20 s deadline, with room for a loaded machine


@pytest.fixture
def announced_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Waiters re-read only when an announcement wakes them (or at their deadline): without Redis they would
    otherwise re-read every second and hide a change nothing announced."""
    monkeypatch.setattr(waiting, "POLL_SECONDS", 60.0)


def etag_of_run(client: APIClient, run_id: str) -> str:
    answer = client.get(f"/api/v1/workflows/{run_id}")
    assert answer.status_code == 200, answer.json()
    return str(answer["ETag"])


def woken_by(client: APIClient, run_id: str, change: Any) -> dict[str, Any]:
    """Park a waiter on the run's current state (its ETag), make ``change``, and return the answer; fails unless
    the waiter answered well before its deadline."""
    waiter = Waiter(client, f"/api/v1/workflows/{run_id}?wait=20", HTTP_IF_NONE_MATCH=etag_of_run(client, run_id))
    waiter.start()
    poll(lambda: waiting.hub.waiting() == 1, 10, "the request waiting")
    change()
    waiter.join(30)
    assert waiter.response is not None and waiter.response.status_code == 200
    assert waiter.elapsed < PROMPT_SECONDS, f"answered after {waiter.elapsed:.1f}s: the change was not announced"
    body: dict[str, Any] = waiter.response.json()
    return body


def node_status(run: dict[str, Any], key: str) -> str:
    return str(next(n["status"] for n in run["nodes"] if n["key"] == key))


def the_attempt(run_id: str, key: str) -> str:
    from orchestrator.models import NodeRunStatus, WorkflowNodeRun

    return str(
        WorkflowNodeRun.objects.get(run_id=run_id, node__key=key, status=NodeRunStatus.RUNNING).pk  # one RUNNING
    )


def test_each_engine_change_wakes_the_runs_waiter(
    api: APIClient, tenant: Any, key_client: Any, announced_only: None
) -> None:
    """A node starting, completing, a WAIT beginning and the run finishing each answer a waiting GET at once, on
    PostgreSQL (one-statement completion) and SQLite (the portable path) alike."""
    from orchestrator import completion
    from orchestrator.models import WorkflowNode

    body = {
        "name": "announced",
        "start": True,
        "nodes": [
            {"key": "a", "type": "TASK", "action": {"tool": "noop", "params": {}}},
            {"key": "w", "type": "WAIT", "depends_on": ["a"], "wait": {"seconds": 3600}},
        ],
    }
    created = api.post("/api/v1/workflows", body, format="json")
    assert created.status_code == 201, created.json()
    run_id = created.json()["id"]
    client = key_client(tenant)

    started = woken_by(client, run_id, lambda: scheduler.tick(dispatch=lambda ids: None))
    assert node_status(started, "a") == "RUNNING"

    completed = woken_by(
        client, run_id, lambda: completion.complete_node_run(node_run_id=the_attempt(run_id, "a"), output={"ok": 1})
    )
    assert node_status(completed, "a") == "COMPLETED" and node_status(completed, "w") == "READY"

    timer = woken_by(client, run_id, lambda: scheduler.tick(dispatch=lambda ids: None))
    assert node_status(timer, "w") == "WAITING"

    # The clock jumps past the timer (a test's stand-in for an hour); then the tick ends the WAIT and the run.
    WorkflowNode.objects.filter(run_id=run_id, key="w").update(not_before=timezone.now())
    finished = woken_by(client, run_id, lambda: scheduler.tick(dispatch=lambda ids: None))
    assert finished["status"] == "COMPLETED" and node_status(finished, "w") == "COMPLETED"


def test_a_failed_attempt_that_retries_wakes_the_runs_waiter(
    api: APIClient, tenant: Any, key_client: Any, announced_only: None
) -> None:
    """An attempt failing with retries left puts its node back to READY (backoff): no event, still announced; and
    the retry's attempt starting is announced too."""
    from orchestrator import completion
    from orchestrator.models import WorkflowNode

    body = {
        "name": "retried",
        "start": True,
        "nodes": [{"key": "a", "type": "TASK", "action": {"tool": "noop", "params": {}}, "retry": {"max_attempts": 3}}],
    }
    run_id = api.post("/api/v1/workflows", body, format="json").json()["id"]
    client = key_client(tenant)
    scheduler.tick(dispatch=lambda ids: None)
    retried = woken_by(
        client, run_id, lambda: completion.fail_node_run(node_run_id=the_attempt(run_id, "a"), error="flaky")
    )
    assert node_status(retried, "a") == "READY" and retried["status"] == "RUNNING"
    WorkflowNode.objects.filter(run_id=run_id, key="a").update(not_before=timezone.now())  # the backoff passed
    restarted = woken_by(client, run_id, lambda: scheduler.tick(dispatch=lambda ids: None))
    assert node_status(restarted, "a") == "RUNNING" and next(n for n in restarted["nodes"])["attempts"] == 2


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.slow
def test_a_change_made_by_another_process_wakes_the_waiter_through_redis(
    api: APIClient, tenant: Any, key_client: Any, announced_only: None, tmp_path: Any
) -> None:
    """The node is started by another process (a scheduler tick in a subprocess): only the Redis subscription
    can carry that announcement here."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    run_id = api.post(
        "/api/v1/workflows",
        {"name": "remote", "start": True, "nodes": [{"key": "a", "type": "TASK", "action": {"tool": "noop"}}]},
        format="json",
    ).json()["id"]
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "orchestrator.settings",
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }
    tick = (
        "import django; django.setup(); from orchestrator import scheduler; "
        "print(scheduler.tick(dispatch=lambda ids: None))"
    )

    def remote_tick() -> None:
        # The subscription is live before the change: the wake-up can only be the announcement's.
        poll(waiting.hub.live.is_set, 10, "the Redis subscription")
        done = subprocess.run(
            [sys.executable, "-c", tick], cwd=Path(__file__).resolve().parents[2], env=env, capture_output=True
        )
        assert done.returncode == 0 and done.stdout.strip() == b"1", done.stderr.decode()[-2000:]

    started = woken_by(key_client(tenant), run_id, remote_tick)
    assert node_status(started, "a") == "RUNNING"


# --- Announcements are coalesced per transaction, and never dropped by a savepoint -------------------------------


def test_announcements_are_published_once_per_key_per_transaction_after_commit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django.db import transaction

    published: list[list[str]] = []
    monkeypatch.setattr(waiting, "publish_many", published.append)
    with transaction.atomic():
        for _ in range(3):
            waiting.run_changed("R1")
        waiting.changed("approval", "A1")
        assert published == []  # nothing before commit
    assert published == [["orch:changed:approval:a1", "orch:changed:workflow:r1"]]
    published.clear()
    waiting.run_changed("R2")  # outside a transaction: at once
    assert published == [["orch:changed:workflow:r2"]]


def test_an_announcement_after_a_rolled_back_savepoint_is_still_published(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first announcement registered the transaction's callback inside a savepoint that rolled back (and took
    the callback with it); the same key announced again afterwards must still be published."""
    from django.db import transaction

    published: list[list[str]] = []
    monkeypatch.setattr(waiting, "publish_many", published.append)
    with transaction.atomic():
        try:
            with transaction.atomic():
                waiting.run_changed("R1")
                raise RuntimeError("this unit failed")
        except RuntimeError:
            pass
        waiting.run_changed("R1")
    assert published == [["orch:changed:workflow:r1"]]


@pytest.mark.redis
def test_one_redis_round_trip_per_transaction(settings: Any) -> None:
    from django.db import transaction

    before = waiting.Stats.round_trips
    with transaction.atomic():
        for n in range(5):
            waiting.run_changed(f"R{n}")
    assert waiting.Stats.round_trips == before + 1


# --- Lost wake-ups: the subscription's gaps (issue 19, gap 2) -------------------------------------------------------


class Resource:
    """A resource whose state the test changes without announcing it (the announcement is lost in a gap)."""

    def __init__(self) -> None:
        self.state = "A"
        self.reads = 0
        self.during_first_read: Any = None

    def read(self) -> tuple[Any, Any]:
        self.reads += 1
        seen = self.state
        if self.reads == 1 and self.during_first_read is not None:
            self.during_first_read()
        return seen, seen


def waited(resource: Resource, seconds: float = 20) -> tuple[str, float]:
    began = time.monotonic()
    _, value = waiting.wait_for_change(["orch:changed:test:x"], resource.read, baseline=None, seconds=seconds)
    return value, time.monotonic() - began


@pytest.fixture
def driven_hub(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The hub without its Redis thread (the test plays Redis: ``subscribed()``, ``lost()``), and a poll interval
    far below the waiters' 20 s deadline."""
    settings.REDIS_URL = ""
    monkeypatch.setattr(waiting, "POLL_SECONDS", 0.2)
    hub = waiting.Hub()  # not the process's hub, whose Redis thread other tests may have started
    monkeypatch.setattr(waiting, "hub", hub)
    return hub


def test_a_change_before_the_subscription_is_confirmed_is_not_lost(driven_hub: Any) -> None:
    """The request reads while the hub is still subscribing; meanwhile a change is committed and its PUBLISH reaches
    nobody; then Redis confirms the subscription. The waiter must not sleep to its deadline on the old state."""
    driven_hub.lost()
    resource = Resource()

    def change_then_confirm() -> None:
        resource.state = "B"  # announced while not subscribed: lost
        driven_hub.subscribed()

    resource.during_first_read = change_then_confirm
    value, elapsed = waited(resource)
    assert value == "B" and elapsed < 5, elapsed


def test_a_change_while_the_subscription_is_down_is_not_lost(driven_hub: Any) -> None:
    """A waiter sleeps under a live subscription; the connection drops, a change is announced into the gap, and the
    subscription comes back. The waiter must see the change well before its deadline."""
    driven_hub.subscribed()
    resource = Resource()
    outcome: list[tuple[str, float]] = []
    thread = threading.Thread(target=lambda: outcome.append(waited(resource)), daemon=True)
    thread.start()
    poll(lambda: resource.reads >= 1 and waiting.hub.waiting() == 1, 10, "the waiter sleeping")
    driven_hub.lost()
    resource.state = "B"  # announced while the subscription is down: lost
    driven_hub.subscribed()
    thread.join(20)
    [(value, elapsed)] = outcome
    assert value == "B" and elapsed < 5, elapsed


def test_a_subscription_renewed_during_the_read_is_not_trusted(driven_hub: Any, monkeypatch: Any) -> None:
    """The subscription drops and comes back while the request reads (its wake-ups raced ahead of the read): the
    waiter cannot know whether an announcement fell into the gap, so it re-reads instead of sleeping."""
    driven_hub.subscribed()
    resource = Resource()
    # Renewals that wake nobody: only the generation tells the waiter the subscription changed under it.
    monkeypatch.setattr(driven_hub, "wake_all", lambda: None)

    def renewed_with_a_lost_change() -> None:
        driven_hub.lost()
        resource.state = "B"
        driven_hub.subscribed()

    resource.during_first_read = renewed_with_a_lost_change
    value, elapsed = waited(resource)
    assert value == "B" and elapsed < 5, elapsed


def test_an_approval_waiter_is_answered_when_its_deadline_shows_it_expired(
    api: APIClient, tenant: Any, key_client: Any, announced_only: None
) -> None:
    """Nothing is announced when a PENDING request's time runs out (reads never write; the expiry job runs later),
    yet it is shown EXPIRED from then on: the waiter re-reads at that moment, not at its own deadline."""
    from datetime import timedelta

    from approvals.models import ApprovalRequest

    _, approval_id = pending_approval(api)
    ApprovalRequest.objects.filter(pk=approval_id).update(expires_at=timezone.now() + timedelta(seconds=2))
    client = key_client(tenant)
    current = client.get(f"/api/v1/approvals/{approval_id}")
    assert current.json()["status"] == "PENDING"
    waiter = Waiter(client, f"/api/v1/approvals/{approval_id}?wait=20", HTTP_IF_NONE_MATCH=current["ETag"])
    waiter.start()
    waiter.join(30)
    assert waiter.response.json()["status"] == "EXPIRED"
    assert waiter.elapsed < PROMPT_SECONDS, waiter.elapsed


def test_a_vote_short_of_the_quorum_wakes_the_approval_waiter(
    api: APIClient, tenant: Any, key_client: Any, announced_only: None
) -> None:
    """A first approval of a request needing two emits no event but shows in its decisions: announced."""
    from approvals.models import ApprovalRequest

    _, approval_id = pending_approval(api)
    ApprovalRequest.objects.filter(pk=approval_id).update(required_approvals=2)
    client = key_client(tenant)
    current = client.get(f"/api/v1/approvals/{approval_id}")
    waiter = Waiter(client, f"/api/v1/approvals/{approval_id}?wait=20", HTTP_IF_NONE_MATCH=current["ETag"])
    waiter.start()
    poll(lambda: waiting.hub.waiting() == 1, 10, "the request waiting")
    voted = key_client(tenant).post(f"/api/v1/approvals/{approval_id}/approve", {}, format="json")
    assert voted.status_code == 200, voted.json()
    waiter.join(30)
    answer = waiter.response.json()
    assert answer["status"] == "PENDING" and len(answer["decisions"]) == 1
    assert waiter.elapsed < PROMPT_SECONDS, waiter.elapsed


def test_without_redis_a_change_announced_elsewhere_is_seen_by_the_poll(
    api: APIClient, tenant: Any, key_client: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The embedded default (``make run``: SQLite, no Redis): the worker process's announcements cannot reach the web
    process, so a waiter re-reads every ``POLL_SECONDS``. Here the node starts with its announcement lost (as it is
    across processes), and the waiter still answers within a poll or two, not at its 20 s deadline."""
    settings.REDIS_URL = ""
    monkeypatch.setattr(waiting, "POLL_SECONDS", 0.5)
    monkeypatch.setattr(waiting, "hub", waiting.Hub())  # without the Redis subscription earlier tests started
    run_id = api.post(
        "/api/v1/workflows",
        {"name": "polled", "start": True, "nodes": [{"key": "a", "type": "TASK", "action": {"tool": "noop"}}]},
        format="json",
    ).json()["id"]
    client = key_client(tenant)

    def start_unannounced() -> None:
        with monkeypatch.context() as patch:
            patch.setattr(waiting, "publish_many", lambda keys: None)  # announced in "another process"
            scheduler.tick(dispatch=lambda ids: None)

    started = woken_by(client, run_id, start_unannounced)
    assert node_status(started, "a") == "RUNNING"
