"""The hand-written conveniences over the generated typed layer (``orchestrator_client.api``).

``Orchestrator(base_url, api_key)`` is the entry point. ``.api`` is the generated ``AuthenticatedClient`` for every
typed call (``from orchestrator_client.api.api.workflows import workflows_list; workflows_list.sync(client=o.api)``);
both share one httpx client whose transport retries with backoff and puts an ``Idempotency-Key`` on every write.
The methods below return plain JSON dicts and raise ``ProblemError`` (with the problem's ``code``) on any 4xx/5xx.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from .api.client import AuthenticatedClient
from .transport import RetryTransport

MAX_WAIT_SECONDS = 30  # the server's bound for ?wait=
TERMINAL_RUN_STATUSES = frozenset({"COMPLETED", "FAILED", "CANCELLED"})
ACTIVE_NODE = frozenset({"PENDING", "READY", "RUNNING", "WAITING_APPROVAL", "WAITING"})


class ProblemError(Exception):
    """An error answer (RFC 9457 problem document): ``status``, ``code`` (stable), ``detail``, ``errors``."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        self.code: str = str(problem.get("code") or f"http_{status}")
        self.detail: str = str(problem.get("detail") or problem.get("title") or "")
        self.errors: list[dict[str, Any]] = list(problem.get("errors") or [])
        fields = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in self.errors[:5])
        super().__init__(f"{status} {self.code}: {self.detail}" + (f" ({fields})" if fields else ""))


class ApprovalTimeout(Exception):
    """``request_approval(timeout=…)`` ran out before a decision; ``approval`` is the last state seen."""

    def __init__(self, approval: dict[str, Any]) -> None:
        super().__init__(f"approval {approval.get('id')} still {approval.get('status')}")
        self.approval = approval


@dataclass(frozen=True)
class ApprovalDecision:
    """How an approval request ended: ``outcome`` is ``approved``, ``rejected``, ``expired`` or ``withdrawn``
    (the run was cancelled). ``approval`` is the request's last state (None when none was needed)."""

    outcome: str
    approval: dict[str, Any] | None
    required: bool = True

    @property
    def approved(self) -> bool:
        return self.outcome == "approved"


OUTCOMES = {"APPROVED": "approved", "EXECUTED": "approved", "REJECTED": "rejected", "EXPIRED": "expired"}
OUTCOMES["WITHDRAWN"] = "withdrawn"


class Orchestrator:
    """A client of one orchestrator with one API key (``Authorization: Bearer <key>``).

    ``retries``/``backoff``: see ``RetryTransport``. ``transport``: an httpx transport to wrap (tests).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        retries: int = 4,
        backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api = AuthenticatedClient(
            base_url=self.base_url,
            token=api_key,
            timeout=httpx.Timeout(timeout),
            httpx_args={"transport": RetryTransport(transport, retries=retries, backoff=backoff)},
            raise_on_unexpected_status=False,
        )
        self.http: httpx.Client = self.api.get_httpx_client()

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Orchestrator:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- plumbing ----------------------------------------------------------------------------------------------

    def request(self, method: str, path: str, *, json: Any = None, **kwargs: Any) -> httpx.Response:
        """One call under ``/api/v1``; raises ``ProblemError`` for 4xx/5xx."""
        response = self.http.request(method, f"/api/v1{path}", json=json, **kwargs)
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {"detail": response.text[:300]}
            raise ProblemError(response.status_code, problem if isinstance(problem, dict) else {"detail": problem})
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        return response.json() if response.content else None

    def _wait(self, path: str, seconds: float, etag: str | None) -> tuple[dict[str, Any], str | None]:
        seconds = max(0.0, min(float(seconds), MAX_WAIT_SECONDS))
        headers = {"If-None-Match": etag} if etag else {}
        response = self.request(
            "GET", path, params={"wait": seconds} if seconds else None, headers=headers, timeout=seconds + 30
        )
        return response.json(), response.headers.get("ETag")

    # --- workflows ---------------------------------------------------------------------------------------------

    def create_workflow(self, definition: dict[str, Any]) -> dict[str, Any]:
        return self._json("POST", "/workflows", json=definition)  # type: ignore[no-any-return]

    def get_workflow(self, workflow_id: str, *, wait: float = 0, etag: str | None = None) -> dict[str, Any]:
        """The run; with ``wait`` (≤ 30 s), answered when the run changes (from ``etag``)."""
        return self._wait(f"/workflows/{workflow_id}", wait, etag)[0]

    def wait_for_workflow(self, workflow_id: str, *, timeout: float | None = None) -> dict[str, Any]:
        """Wait (long polling, no busy loop) until the run is COMPLETED, FAILED or CANCELLED; returns it.
        Raises ``TimeoutError`` after ``timeout`` seconds (None: no limit)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        run, etag = self._wait(f"/workflows/{workflow_id}", 0, None)
        while run["status"] not in TERMINAL_RUN_STATUSES:
            left = MAX_WAIT_SECONDS if deadline is None else deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"workflow {workflow_id} still {run['status']}")
            run, etag = self._wait(f"/workflows/{workflow_id}", min(left, MAX_WAIT_SECONDS), etag)
        return run

    def start_workflow(self, workflow_id: str) -> dict[str, Any]:
        return self._json("POST", f"/workflows/{workflow_id}/start")  # type: ignore[no-any-return]

    def cancel_workflow(self, workflow_id: str, reason: str = "") -> dict[str, Any]:
        return self._json("POST", f"/workflows/{workflow_id}/cancel", json={"reason": reason})  # type: ignore[no-any-return]

    def submit_input(self, workflow_id: str, key: str, values: dict[str, Any]) -> dict[str, Any]:
        """Submit the values an INPUT step waits for (its ``input.form`` says which); returns the step, COMPLETED
        with the values as its output. Raises ``ProblemError``: 400 ``validation_error`` (``errors`` name each
        field, e.g. ``values.amount``), 403 ``permission_denied``/``not_input_assignee``, 409
        ``input_not_waiting``/``input_expired``. The key needs ``approvals:decide`` (a reviewer's)."""
        path = f"/workflows/{workflow_id}/nodes/{key}/input"
        return self._json("POST", path, json={"values": values})  # type: ignore[no-any-return]

    def waiting_input(self, workflow_id: str, key: str, *, timeout: float | None = None) -> dict[str, Any]:
        """Wait (long polling) until the run's step ``key`` is WAITING for input, and return that step (its
        ``input`` has the prompt, form and due time). Raises ``TimeoutError`` after ``timeout`` seconds, and
        ``ProblemError`` (409 ``input_not_waiting``) when the run ended without the step asking."""
        deadline = None if timeout is None else time.monotonic() + timeout
        run, etag = self._wait(f"/workflows/{workflow_id}", 0, None)
        while True:
            node = next((n for n in run.get("nodes", []) if n.get("key") == key), None)
            if node is not None and node.get("status") == "WAITING" and node.get("input") is not None:
                return node
            if run["status"] in TERMINAL_RUN_STATUSES or (node is not None and node["status"] not in ACTIVE_NODE):
                problem = {"code": "input_not_waiting", "detail": f"step {key!r} is not waiting for input"}
                raise ProblemError(409, problem)
            left = MAX_WAIT_SECONDS if deadline is None else deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"step {key!r} of workflow {workflow_id} is not waiting for input yet")
            run, etag = self._wait(f"/workflows/{workflow_id}", min(left, MAX_WAIT_SECONDS), etag)

    # --- approvals ---------------------------------------------------------------------------------------------

    def list_approvals(self, *, status: str = "PENDING", workflow_id: str | None = None) -> list[dict[str, Any]]:
        """The first page of approval requests (``status=ALL`` for every status), optionally of one run."""
        params = {"status": status, **({"workflow_id": workflow_id} if workflow_id else {})}
        return list(self._json("GET", "/approvals", params=params)["results"])

    def get_approval(self, approval_id: str, *, wait: float = 0, etag: str | None = None) -> dict[str, Any]:
        return self._wait(f"/approvals/{approval_id}", wait, etag)[0]

    def approve(self, approval_id: str, reason: str = "") -> dict[str, Any]:
        body = {"reason": reason} if reason else {}
        return self._json("POST", f"/approvals/{approval_id}/approve", json=body)  # type: ignore[no-any-return]

    def reject(self, approval_id: str, reason: str) -> dict[str, Any]:
        return self._json("POST", f"/approvals/{approval_id}/reject", json={"reason": reason})  # type: ignore[no-any-return]

    def ask_approval(
        self,
        *,
        workflow_id: str,
        node_key: str,
        tool: str,
        params: dict[str, Any],
        context: dict[str, Any] | None = None,
        reasoning: str = "",
    ) -> dict[str, Any]:
        """``POST /approvals/request``: the request (asking again for the same action returns the same one), or
        ``{"requires_approval": false, …}`` for an action that needs none."""
        body: dict[str, Any] = {"workflow_id": workflow_id, "node_key": node_key, "tool": tool, "params": params}
        if context is not None:
            body["context"] = context
        if reasoning:
            body["reasoning"] = reasoning
        return self._json("POST", "/approvals/request", json=body)  # type: ignore[no-any-return]

    def wait_for_decision(self, approval_id: str, *, timeout: float | None = None) -> ApprovalDecision:
        """Wait (long polling) until the request is decided or ends; raises ``ApprovalTimeout`` after ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        approval, etag = self._wait(f"/approvals/{approval_id}", 0, None)
        while approval["status"] not in OUTCOMES:
            left = MAX_WAIT_SECONDS if deadline is None else deadline - time.monotonic()
            if left <= 0:
                raise ApprovalTimeout(approval)
            approval, etag = self._wait(f"/approvals/{approval_id}", min(left, MAX_WAIT_SECONDS), etag)
        return ApprovalDecision(outcome=OUTCOMES[approval["status"]], approval=approval)

    def request_approval(
        self,
        *,
        workflow_id: str,
        node_key: str,
        tool: str,
        params: dict[str, Any],
        context: dict[str, Any] | None = None,
        reasoning: str = "",
        timeout: float | None = None,
    ) -> ApprovalDecision:
        """Ask for approval of an action and wait for the decision: ``approved`` / ``rejected`` / ``expired`` /
        ``withdrawn``. An action the policy lets through needs no request: ``approved`` with ``required=False``.
        Raises ``ProblemError`` (``.code``) when the server refuses, ``ApprovalTimeout`` after ``timeout``."""
        asked = self.ask_approval(
            workflow_id=workflow_id, node_key=node_key, tool=tool, params=params, context=context, reasoning=reasoning
        )
        if asked.get("requires_approval") is False:
            return ApprovalDecision(outcome="approved", approval=None, required=False)
        return self.wait_for_decision(str(asked["id"]), timeout=timeout)

    # --- workspaces and locks ----------------------------------------------------------------------------------

    def create_workspace(self, **body: Any) -> dict[str, Any]:
        return self._json("POST", "/workspaces", json=body)  # type: ignore[no-any-return]

    def get_workspace(self, workspace_id: str) -> dict[str, Any]:
        return self._json("GET", f"/workspaces/{workspace_id}")  # type: ignore[no-any-return]

    def acquire_lock(self, workspace_id: str, **body: Any) -> dict[str, Any]:
        return self._json("POST", f"/workspaces/{workspace_id}/lock", json=body)  # type: ignore[no-any-return]

    def release_lock(self, workspace_id: str, **body: Any) -> Any:
        return self._json("DELETE", f"/workspaces/{workspace_id}/lock", json=body)
