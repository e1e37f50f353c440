"""The task-controller backend against a real HTTP server on 127.0.0.1 acting as the controller (SPEC §5)."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from orchestrator import reaper, runs, scheduler
from orchestrator.executors import runner
from orchestrator.models import WorkflowNodeRun
from tests.conftest import assert_problem

from .engine_helpers import definition, task

pytestmark = pytest.mark.django_db
TOKEN = "internal-token-for-tests"


class FakeController:
    """Records what it receives; answers polls with ``task_status``."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.task_status: dict[str, dict[str, Any]] = {}
        self.dispatch_status = 202
        controller = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, status: int, body: Any) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                controller.requests.append(
                    {"method": "POST", "path": self.path, "headers": dict(self.headers), "body": body}
                )
                if self.path == "/api/v1/tasks":
                    self._reply(controller.dispatch_status, {"task_id": body.get("task_id"), "status": "QUEUED"})
                else:
                    self._reply(200, {"cancelled": True})

            def do_GET(self) -> None:
                controller.requests.append({"method": "GET", "path": self.path, "headers": dict(self.headers)})
                task_id = self.path.rsplit("/", 1)[-1]
                if task_id in controller.task_status:
                    self._reply(200, controller.task_status[task_id])
                else:
                    self._reply(404, {"detail": "unknown task"})

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def dispatches(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"] == "/api/v1/tasks"]


@pytest.fixture
def controller(settings):
    fake = FakeController()
    settings.EXECUTOR_BACKEND = "task_controller"
    settings.TASK_CONTROLLER_URL = fake.url
    settings.INTERNAL_SERVICE_TOKEN = TOKEN
    settings.INTERNAL_CALLBACK_BASE_URL = "https://orchestrator.example"
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def dispatched_attempt(tenant: Any, **extra: Any) -> tuple[Any, WorkflowNodeRun]:
    run = runs.create_run(tenant=tenant, definition=definition(task("remote", "echo", {"x": 1}, **extra)))
    runs.start_run(run=run)
    scheduler.tick(dispatch=lambda ids: None)
    attempt = WorkflowNodeRun.objects.get(run=run)
    runner.execute(str(attempt.pk))
    attempt.refresh_from_db()
    return run, attempt


def callback(attempt: WorkflowNodeRun, body: dict[str, Any], token: str | None = TOKEN) -> Any:
    client = APIClient()
    headers = {"HTTP_X_INTERNAL_TOKEN": token} if token is not None else {}
    return client.post(f"/api/v1/internal/node-runs/{attempt.pk}/result", body, format="json", **headers)


def test_dispatch_payload_and_headers(tenant, controller: FakeController) -> None:
    run, attempt = dispatched_attempt(tenant)
    [sent] = controller.dispatches()
    task_id = str(attempt.pk)
    assert sent["body"] == {
        "task_id": task_id,
        "workflow_run_id": str(run.pk),
        "node_key": "remote",
        "attempt": 1,
        "workspace_id": None,
        "action": {"tool": "echo", "params": {"x": 1}},
        "fencing_token": None,
        "callback_url": f"https://orchestrator.example/api/v1/internal/node-runs/{task_id}/result",
    }
    assert sent["headers"]["Idempotency-Key"] == task_id
    assert sent["headers"]["X-Internal-Token"] == TOKEN
    assert attempt.status == "RUNNING"
    assert attempt.external_task_id == task_id


def test_callback_is_accepted_once_and_later_reports_are_ignored(tenant, controller: FakeController) -> None:
    run, attempt = dispatched_attempt(tenant)
    first = callback(attempt, {"status": "COMPLETED", "output": {"done": True}})
    assert first.status_code == 200
    assert first.json() == {"accepted": True, "status": "COMPLETED"}
    duplicate = callback(attempt, {"status": "COMPLETED", "output": {"done": "again"}})
    assert duplicate.json() == {"accepted": False, "status": "COMPLETED"}
    late = callback(attempt, {"status": "FAILED", "error": "late"})
    assert late.json() == {"accepted": False, "status": "COMPLETED"}
    run.refresh_from_db()
    assert run.status == "COMPLETED"
    assert run.nodes.get().output == {"done": True}


def test_failed_report_follows_the_retry_policy(tenant, controller: FakeController) -> None:
    run, attempt = dispatched_attempt(tenant, retry={"max_attempts": 2, "backoff_seconds": 0})
    assert callback(attempt, {"status": "FAILED", "error": "desktop crashed"}).json()["accepted"] is True
    node = run.nodes.get()
    assert node.status == "READY"
    assert node.error == "desktop crashed"


def test_bad_or_missing_token_is_refused(tenant, controller: FakeController, settings) -> None:
    _, attempt = dispatched_attempt(tenant)
    assert_problem(callback(attempt, {"status": "COMPLETED"}, token="wrong"), 401, "authentication_failed")
    assert_problem(callback(attempt, {"status": "COMPLETED"}, token=None), 401, "authentication_failed")
    settings.INTERNAL_SERVICE_TOKEN = None
    assert_problem(callback(attempt, {"status": "COMPLETED"}), 403, "permission_denied")
    attempt.refresh_from_db()
    assert attempt.status == "RUNNING"


def test_bad_callbacks_are_4xx(tenant, controller: FakeController) -> None:
    _, attempt = dispatched_attempt(tenant)
    assert_problem(callback(attempt, {"status": "DONE"}), 400, "validation_error")
    client = APIClient()
    unknown = client.post(
        "/api/v1/internal/node-runs/00000000-0000-0000-0000-000000000000/result",
        {"status": "COMPLETED"},
        format="json",
        HTTP_X_INTERNAL_TOKEN=TOKEN,
    )
    assert_problem(unknown, 404, "not_found")


def test_quiet_attempt_is_polled(tenant, controller: FakeController, settings) -> None:
    settings.TASK_CONTROLLER_POLL_SECONDS = 60
    run, attempt = dispatched_attempt(tenant)
    assert reaper.poll_quiet_attempts() == 0  # not quiet yet
    WorkflowNodeRun.objects.filter(pk=attempt.pk).update(last_polled_at=timezone.now() - timedelta(minutes=5))
    controller.task_status[str(attempt.pk)] = {"status": "RUNNING"}
    assert reaper.poll_quiet_attempts() == 1
    attempt.refresh_from_db()
    assert attempt.status == "RUNNING"
    assert attempt.last_polled_at > timezone.now() - timedelta(seconds=5)
    WorkflowNodeRun.objects.filter(pk=attempt.pk).update(last_polled_at=timezone.now() - timedelta(minutes=5))
    controller.task_status[str(attempt.pk)] = {"status": "COMPLETED", "output": {"polled": True}}
    reaper.poll_quiet_attempts()
    run.refresh_from_db()
    assert run.status == "COMPLETED"
    assert run.nodes.get().output == {"polled": True}
    polls = [r for r in controller.requests if r["method"] == "GET"]
    assert polls[0]["path"] == f"/api/v1/tasks/{attempt.pk}"
    assert polls[0]["headers"]["X-Internal-Token"] == TOKEN


def test_dispatch_failure_fails_the_attempt(tenant, controller: FakeController) -> None:
    controller.dispatch_status = 503
    run, attempt = dispatched_attempt(tenant)
    assert attempt.status == "FAILED"
    assert "HTTP 503" in attempt.error
    run.refresh_from_db()
    assert run.status == "FAILED"


def test_cancel_tells_the_controller_to_stop(
    tenant, controller: FakeController, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    from orchestrator import tasks

    monkeypatch.setattr(
        tasks.cancel_remote_tasks, "apply_async", lambda args, **kw: tasks.cancel_remote_tasks.run(*args)
    )
    run, attempt = dispatched_attempt(tenant)
    with django_capture_on_commit_callbacks(execute=True):
        runs.cancel_run(run=run, reason="stop")
    assert any(r["path"] == f"/api/v1/tasks/{attempt.pk}/cancel" for r in controller.requests)
    assert callback(attempt, {"status": "COMPLETED"}).json() == {"accepted": False, "status": "CANCELLED"}
