"""The load the chaos tests put on the stack, and the checks that nothing was lost.

Each workflow is small (3 TASK nodes: ``prep`` → ``send`` → ``done``). Every other one sends an e-mail, a HIGH risk
action that waits for approval; a second identity (the reviewer key) decides over HTTP, approving most and
rejecting every fifth. So the correct terminal state of a run is known up front: COMPLETED, or FAILED when its
approval was rejected. A fan-out workflow (``prep`` → ``width`` leaves → ``done``) is the other shape: when its
``prep`` completes, its leaves are claimed together and dispatched in ``execute_node_runs`` batches.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import psycopg
import requests

from tests.chaos.servers import PrivatePostgres, PrivateRedis, Stack, TaskController, WebhookReceiver, poll

TERMINAL = ("COMPLETED", "FAILED", "CANCELLED")
RETRY = {"max_attempts": 8, "backoff_seconds": 1, "max_backoff_seconds": 2}


def _code(response: requests.Response) -> str:
    """The ``code`` of a problem document ("" when the body is not one)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("code", "")) if isinstance(body, dict) else ""


@dataclass
class Load:
    stack: Stack
    pg: PrivatePostgres
    redis: PrivateRedis
    controller: TaskController
    receiver: WebhookReceiver
    requester_key: str
    reviewer_key: str
    expected: dict[str, str] = field(default_factory=dict)  # run id → COMPLETED | FAILED
    with_approval: set[str] = field(default_factory=set)
    rejected: set[str] = field(default_factory=set)
    decided: set[str] = field(default_factory=set)  # approval ids
    node_counts: dict[str, int] = field(default_factory=dict)  # run id → nodes it was created with
    create_errors: Counter[int] = field(default_factory=Counter)

    @property
    def api(self) -> str:
        return f"{self.stack.base_url}/api/v1"

    def headers(self, reviewer: bool = False) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.reviewer_key if reviewer else self.requester_key}"}

    # --- load ---------------------------------------------------------------------------------------------------
    def workflow_body(self, index: int, approval: bool) -> dict[str, Any]:
        send = (
            {"tool": "email.send", "params": {"to": f"c{index}@example.com", "subject": f"chaos {index}", "body": "x"}}
            if approval
            else {"tool": "noop", "params": {"i": index}}
        )
        return {
            "name": f"chaos-{index}",
            "start": True,
            "nodes": [
                {"key": "prep", "type": "TASK", "action": {"tool": "echo", "params": {"i": index}}, "retry": RETRY},
                {"key": "send", "type": "TASK", "depends_on": ["prep"], "action": send, "retry": RETRY},
                {"key": "done", "type": "TASK", "depends_on": ["send"], "action": {"tool": "noop", "params": {}},
                 "retry": RETRY},
            ],
        }  # fmt: skip

    def fanout_body(self, index: int, width: int) -> dict[str, Any]:
        leaves = [f"leaf{k}" for k in range(width)]
        return {
            "name": f"chaos-fan-{index}",
            "start": True,
            "nodes": [
                {"key": "prep", "type": "TASK", "action": {"tool": "echo", "params": {"i": index}}, "retry": RETRY},
                *({"key": leaf, "type": "TASK", "depends_on": ["prep"], "action": {"tool": "noop", "params": {}},
                   "retry": RETRY} for leaf in leaves),
                {"key": "done", "type": "TASK", "depends_on": leaves, "action": {"tool": "noop", "params": {}},
                 "retry": RETRY},
            ],
        }  # fmt: skip

    def create(self, index: int, *, retry_until: float | None = None, fanout: int = 0) -> str | None:
        """POST one workflow (with an Idempotency-Key, so a retried request cannot create it twice): the 3-node
        one, or with ``fanout`` a fan-out of that width."""
        approval = index % 2 == 0 and not fanout
        body = self.fanout_body(index, fanout) if fanout else self.workflow_body(index, approval)
        key = str(uuid.uuid4())
        while True:
            try:
                response = requests.post(f"{self.api}/workflows", json=body, timeout=15,
                                         headers={**self.headers(), "Idempotency-Key": key})  # fmt: skip
                status = response.status_code
            except requests.RequestException:
                status = 0
            if status == 201:
                run_id = str(response.json()["id"])
                rejected = approval and index % 10 == 0
                self.expected[run_id] = "FAILED" if rejected else "COMPLETED"
                self.node_counts[run_id] = len(body["nodes"])
                if approval:
                    self.with_approval.add(run_id)
                if rejected:
                    self.rejected.add(run_id)
                return run_id
            self.create_errors[status] += 1
            if retry_until is None or time.monotonic() > retry_until:
                return None
            time.sleep(0.5)  # back off before retrying the same request

    def create_many(self, indexes: range, clients: int = 4, retry_for: float = 120) -> None:
        until = time.monotonic() + retry_for
        with ThreadPoolExecutor(max_workers=clients) as pool:
            list(pool.map(lambda i: self.create(i, retry_until=until), indexes))

    def decide_pending(self) -> int:
        """Approve (or reject) every pending approval of our runs, as the reviewer, over HTTP."""
        response = requests.get(f"{self.api}/approvals", params={"status": "PENDING", "limit": 200},
                                headers=self.headers(reviewer=True), timeout=15)  # fmt: skip
        if response.status_code != 200:
            return 0
        decided = 0
        for approval in response.json()["results"]:
            if approval["id"] in self.decided:
                continue
            reject = str(approval["workflow_id"]) in self.rejected
            verb, body = ("reject", {"reason": "chaos says no"}) if reject else ("approve", {"reason": "ok"})
            try:
                answer = requests.post(
                    f"{self.api}/approvals/{approval['id']}/{verb}",
                    json=body,
                    timeout=15,
                    headers={**self.headers(reviewer=True), "Idempotency-Key": approval["id"]},
                )
            except requests.RequestException:
                continue
            if answer.status_code == 200 or (answer.status_code == 409 and _code(answer) != "idempotency_in_progress"):
                self.decided.add(approval["id"])  # decided now, or before (409 approval_not_pending)
                decided += 1
        return decided

    def reviewer_loop(self, stop: threading.Event) -> threading.Thread:
        def loop() -> None:
            while not stop.is_set():
                with contextlib.suppress(requests.RequestException, ValueError, KeyError):
                    self.decide_pending()
                stop.wait(0.5)

        thread = threading.Thread(target=loop, daemon=True, name="reviewer")
        thread.start()
        return thread

    # --- observation ----------------------------------------------------------------------------------------------
    def sql(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.pg.url, connect_timeout=5) as conn:
            return conn.execute(query, args).fetchall()

    def statuses(self, run_ids: list[str]) -> dict[str, str]:
        rows = self.sql("SELECT id::text, status FROM orchestrator_workflowrun WHERE id::text = ANY(%s)", run_ids)
        return dict(rows)

    def unstarted_held_by(self, pids: set[int]) -> set[str]:
        """Attempts the worker with these processes has taken off the queue but not started: the rest of an
        ``execute_node_runs`` message that one of its pool children is working through (it started the first)."""
        messages = self.redis.unacked()
        ids = [i for _, batch in messages for i in batch]
        if not ids:
            return set()
        query = "SELECT id::text, status, lease_owner FROM orchestrator_workflownoderun WHERE id::text = ANY(%s)"
        rows = {row[0]: (row[1], row[2]) for row in self.sql(query, ids)}
        ours = {str(pid) for pid in pids}
        held: set[str] = set()
        for _, batch in messages:
            owners = {rows[i][1].rsplit(":", 1)[-1] for i in batch if i in rows and rows[i][1]}
            if owners & ours:
                held |= {i for i in batch if rows.get(i) == ("RUNNING", "")}
        return held

    def terminal_count(self, run_ids: list[str]) -> int:
        return sum(1 for s in self.statuses(run_ids).values() if s in TERMINAL)

    def wait_all_terminal(self, run_ids: list[str], timeout: float) -> dict[str, str]:
        def done() -> dict[str, str] | None:
            statuses = self.statuses(run_ids)
            return statuses if sum(1 for s in statuses.values() if s in TERMINAL) == len(run_ids) else None

        try:
            return poll(done, timeout, f"{len(run_ids)} runs to finish", interval=1.0)
        except AssertionError:
            statuses = self.statuses(run_ids)
            print("run statuses:", Counter(statuses.values()))
            print(self.sql("SELECT n.status, n.key, count(*) FROM orchestrator_workflownode n JOIN "
                           "orchestrator_workflowrun r ON r.id = n.run_id WHERE r.status NOT IN "
                           "('COMPLETED','FAILED','CANCELLED') GROUP BY 1, 2"))  # fmt: skip
            print(self.stack.logs())
            raise

    # --- the promises ---------------------------------------------------------------------------------------------
    def assert_nothing_lost(self, run_ids: list[str], timeout: float = 180) -> None:
        statuses = self.wait_all_terminal(run_ids, timeout)
        wrong = {r: (statuses.get(r), self.expected[r]) for r in run_ids if statuses.get(r) != self.expected[r]}
        assert not wrong, f"{len(wrong)} runs in the wrong terminal state (got, expected): {list(wrong.items())[:5]}"
        # Nothing half-written: every run in the database has exactly its nodes (3 unless it is a known fan-out).
        counts = self.sql(
            "SELECT r.id::text, count(n.id) FROM orchestrator_workflowrun r LEFT JOIN "
            "orchestrator_workflownode n ON n.run_id = r.id GROUP BY r.id"
        )
        partial = [(run_id, count) for run_id, count in counts if count != self.node_counts.get(run_id, 3)]
        assert not partial, f"runs with a partial node set: {partial[:5]}"
        # Every approved action executed exactly once; rejected ones never.
        for run_id in self.with_approval & set(run_ids):
            executions = self.controller.executions.get((run_id, "send"), [])
            want = 0 if run_id in self.rejected else 1
            assert len(executions) == want, f"run {run_id}: the e-mail step executed {len(executions)}x, want {want}"
        approved = sorted((self.with_approval - self.rejected) & set(run_ids))
        executed = self.sql("SELECT count(*) FROM approvals_approvalrequest WHERE run_id::text = ANY(%s) "
                            "AND status = 'EXECUTED'", approved)  # fmt: skip
        assert executed[0][0] == len(approved), f"{executed[0][0]} of {len(approved)} approvals EXECUTED"
        # Every webhook message delivered at least once, with its id.
        self.assert_webhooks_delivered()
        # The audit chain verifies.
        verify = requests.get(f"{self.api}/audit/verify", headers=self.headers(), timeout=60)
        assert verify.status_code == 200 and verify.json()["ok"] is True, verify.text

    def assert_webhooks_delivered(self, timeout: float = 120) -> None:
        def all_received() -> bool | set[str]:
            ids = {row[0] for row in self.sql("SELECT message_id FROM webhooks_webhookdelivery")}
            missing = ids - self.receiver.received()
            return bool(not missing)

        try:
            poll(all_received, timeout, "every webhook message to reach the receiver", interval=1.0)
        except AssertionError:
            rows = self.sql("SELECT status, count(*) FROM webhooks_webhookdelivery GROUP BY 1")
            print("deliveries by status:", rows)
            raise
