"""The task-controller provider against a real HTTP server on 127.0.0.1 (SPEC §5 workspace calls)."""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone

from workspaces import operations, services
from workspaces.models import Operation, Workspace, WorkspaceStatus
from workspaces.providers import RetryableProviderError, TaskControllerProvider

pytestmark = pytest.mark.django_db

TOKEN = "internal-secret-for-tests"
PATH = re.compile(r"^/api/v1/workspaces/(?P<id>[^/]+)/desktop(?:/(?P<verb>hibernate|terminate))?$")


class FakeTaskController:
    """Desktops by workspace id; ``script[(method, verb)]`` holds canned responses served before normal behaviour."""

    def __init__(self) -> None:
        self.desktops: dict[str, str] = {}
        self.create_state = "ready"
        self.requests: list[dict[str, Any]] = []
        self.script: dict[tuple[str, str], list[tuple[int, dict[str, Any], dict[str, str]]]] = {}
        self.release = threading.Event()  # a scripted "hang" waits on this
        self.lock = threading.Lock()

    def respond(self, method: str, path: str, headers: Any, body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        match = PATH.match(path)
        if not match:
            return 404, {"error": "no route"}, {}
        workspace_id, verb = match["id"], match["verb"] or ""
        with self.lock:
            self.requests.append({"method": method, "verb": verb, "id": workspace_id, "headers": headers, "body": body})
            canned = self.script.get((method, verb))
            if canned:
                return canned.pop(0)
            if headers.get("X-Internal-Token") != TOKEN:
                return 401, {"error": "bad token"}, {}
            if method == "GET":
                if workspace_id not in self.desktops:
                    return 404, {"error": "no desktop"}, {}
                return 200, {"status": self.desktops[workspace_id]}, {}
            if verb == "":
                self.desktops[workspace_id] = self.create_state
                return 201, {"status": self.create_state}, {}
            if workspace_id not in self.desktops:
                return 404, {"error": "no desktop"}, {}
            if verb == "hibernate":
                self.desktops[workspace_id] = "hibernated"
            else:
                del self.desktops[workspace_id]
            return 200, {"status": verb + "d"}, {}

    def calls(self) -> list[str]:
        return [f"{r['method']} {r['verb'] or 'desktop'}" for r in self.requests]


@pytest.fixture
def controller(settings) -> Iterator[FakeTaskController]:
    fake = FakeTaskController()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}") if length else {}
            status, payload, headers = fake.respond(method, self.path, self.headers, body)
            if payload == "hang":
                fake.release.wait(10)
                payload = {"status": "ready"}
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (the timeout test)

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    settings.WORKSPACE_PROVIDER = "task_controller"
    settings.TASK_CONTROLLER_URL = f"http://127.0.0.1:{server.server_address[1]}"
    settings.INTERNAL_SERVICE_TOKEN = TOKEN
    settings.WORKSPACE_PROVIDER_TIMEOUT_SECONDS = 1
    try:
        yield fake
    finally:
        fake.release.set()
        server.shutdown()
        server.server_close()


def make_due(workspace: Workspace) -> None:
    """Skip the backoff wait: the test drives steps itself instead of a worker's countdown."""
    Workspace.objects.filter(pk=workspace.pk).update(operation_due_at=timezone.now())


def step(workspace: Workspace) -> str:
    make_due(workspace)
    outcome = operations.perform_due_operation(workspace_id=workspace.pk)
    workspace.refresh_from_db()
    return outcome


def new_workspace(tenant: Any) -> Workspace:
    workspace = services.create_workspace(tenant_id=tenant.pk, name="desk", provision=True)
    assert workspace.provider == "task_controller"
    return workspace


def test_provisioning_creates_the_desktop_and_polls_until_it_is_ready(tenant, controller) -> None:
    controller.create_state = "creating"
    workspace = new_workspace(tenant)
    assert step(workspace) == "polling"
    assert workspace.status == WorkspaceStatus.PROVISIONING
    controller.desktops[str(workspace.pk)] = "ready"
    assert step(workspace) == "ready"
    assert workspace.status == WorkspaceStatus.READY
    assert controller.calls() == ["GET desktop", "POST desktop", "GET desktop"]
    create = controller.requests[1]
    assert create["headers"]["X-Internal-Token"] == TOKEN
    assert create["body"] == {"workspace_id": str(workspace.pk), "tenant_id": str(tenant.pk), "name": "desk"}


def test_capacity_errors_retry_with_backoff_and_then_succeed(tenant, controller) -> None:
    controller.script[("POST", "")] = [
        (503, {"error": "no capacity"}, {"Retry-After": "3"}),
        (429, {"error": "slow down"}, {}),
    ]
    workspace = new_workspace(tenant)
    started = timezone.now()
    assert step(workspace) == "retrying"
    assert workspace.operation_attempts == 1
    assert "503 (no capacity)" in workspace.last_error
    assert 2.9 <= (workspace.operation_due_at - started).total_seconds() <= 4  # Retry-After 3 beats the base 2
    assert step(workspace) == "retrying"
    assert workspace.operation_attempts == 2 and "429" in workspace.last_error
    assert step(workspace) == "ready"
    assert workspace.status == WorkspaceStatus.READY and workspace.last_error == ""


def test_capacity_that_never_comes_fails_the_workspace_with_the_reason(tenant, controller, settings) -> None:
    settings.WORKSPACE_PROVISION_MAX_ATTEMPTS = 3
    controller.script[("POST", "")] = [(503, {"error": "no capacity"}, {}) for _ in range(3)]
    workspace = new_workspace(tenant)
    assert [step(workspace) for _ in range(3)] == ["retrying", "retrying", "failed"]
    assert workspace.status == WorkspaceStatus.FAILED and workspace.operation == Operation.NONE
    assert workspace.last_error.startswith("provision failed: gave up after 3 attempts: create desktop:")
    assert "503 (no capacity)" in workspace.last_error


@pytest.mark.parametrize("status", [400, 401, 403, 422])
def test_client_errors_are_fatal_at_once(tenant, controller, status) -> None:
    controller.script[("POST", "")] = [(status, {"error": "nope"}, {})]
    workspace = new_workspace(tenant)
    assert step(workspace) == "failed"
    assert workspace.status == WorkspaceStatus.FAILED
    assert f"refused with {status}" in workspace.last_error
    assert controller.calls() == ["GET desktop", "POST desktop"]


def test_wrong_internal_token_fails_provisioning(tenant, controller, settings) -> None:
    settings.INTERNAL_SERVICE_TOKEN = "wrong"
    workspace = new_workspace(tenant)
    assert step(workspace) == "failed"
    assert "desktop status: task controller refused with 401" in workspace.last_error


def test_desktop_in_an_error_state_fails(tenant, controller) -> None:
    workspace = new_workspace(tenant)
    controller.desktops[str(workspace.pk)] = "ERROR"
    assert step(workspace) == "failed"
    assert "desktop is in state 'error'" in workspace.last_error


def test_server_errors_on_status_are_retried(tenant, controller) -> None:
    controller.script[("GET", "")] = [(502, {"error": "bad gateway"}, {})]
    workspace = new_workspace(tenant)
    assert step(workspace) == "retrying" and "502 (server error)" in workspace.last_error
    assert step(workspace) == "ready"


def test_unreachable_controller_is_retried(tenant, controller, settings) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.TASK_CONTROLLER_URL = f"http://127.0.0.1:{port}"
    workspace = new_workspace(tenant)
    assert step(workspace) == "retrying"
    assert "unreachable" in workspace.last_error


def test_a_controller_that_hangs_times_out_and_is_retried(tenant, controller) -> None:
    controller.script[("GET", "")] = [(200, "hang", {})]
    workspace = new_workspace(tenant)
    assert step(workspace) == "retrying"
    assert "timed out after 1s" in workspace.last_error
    controller.release.set()


def test_hibernate_wake_and_terminate_call_the_controller(tenant, controller) -> None:
    workspace = new_workspace(tenant)
    assert step(workspace) == "ready"
    services.hibernate_workspace(workspace_id=workspace.pk)
    assert step(workspace) == "done"
    assert controller.desktops[str(workspace.pk)] == "hibernated"

    services.wake_workspace(workspace_id=workspace.pk)
    assert step(workspace) == "ready"  # a hibernated desktop is resumed by POST …/desktop
    assert controller.desktops[str(workspace.pk)] == "ready"

    services.terminate_workspace(workspace_id=workspace.pk)
    assert step(workspace) == "done"
    assert str(workspace.pk) not in controller.desktops
    assert controller.calls() == [
        "GET desktop",
        "POST desktop",
        "POST hibernate",
        "GET desktop",
        "POST desktop",
        "POST terminate",
    ]


def test_terminating_a_desktop_the_controller_never_had_is_done(tenant, controller) -> None:
    workspace = services.create_workspace(tenant_id=tenant.pk)
    services.terminate_workspace(workspace_id=workspace.pk)
    assert step(workspace) == "done"  # 404 from …/terminate: nothing to destroy
    assert workspace.operation == Operation.NONE


def test_hibernate_server_error_is_retried(tenant, controller) -> None:
    workspace = new_workspace(tenant)
    step(workspace)
    controller.script[("POST", "hibernate")] = [(500, {"error": "oops"}, {})]
    services.hibernate_workspace(workspace_id=workspace.pk)
    assert step(workspace) == "retrying"
    assert step(workspace) == "done"
    assert workspace.status == WorkspaceStatus.HIBERNATED


def test_non_json_answer_is_retryable(controller) -> None:
    controller.script[("GET", "")] = [(200, b"<html>not json</html>", {})]
    provider = TaskControllerProvider()
    with pytest.raises(RetryableProviderError, match="not JSON"):
        provider.provision(workspace_id="abc", tenant_id="t", name="n")
