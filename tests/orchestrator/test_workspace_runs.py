"""Runs in a workspace (SPEC §4): provisioned before the first TASK, one TASK at a time under a lease whose fencing
token reaches the executor, state kept between steps and across runs, hibernated when the run ends."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from orchestrator import completion, runs, scheduler
from orchestrator.executors import runner
from orchestrator.models import NodeStatus, RunStatus, WorkflowNode, WorkflowNodeRun, WorkflowRun
from tests.conftest import assert_problem
from tests.polling import poll as wait_for
from workspaces import operations, services, tasks
from workspaces.models import Workspace, WorkspaceStatus

from .engine_helpers import definition, drive, statuses, task

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def data_dir(settings: Any, tmp_path: Path) -> Path:
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    settings.WORKSPACE_PROVIDER = "local"
    settings.WORKSPACE_PROVISION_POLL_SECONDS = 2
    return settings.DATA_DIR


@pytest.fixture(autouse=True)
def provider_steps(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Provider steps the services ask for are recorded (the test performs them); nothing reaches a broker."""
    asked: list[str] = []
    monkeypatch.setattr(tasks.perform_workspace_operation, "apply_async", lambda args, **kw: asked.append(args[0]))
    return asked


def make_workspace(tenant: Any, *, ready: bool = True) -> Workspace:
    workspace = services.create_workspace(tenant_id=tenant.pk, name="books", provision=ready)
    if ready:
        assert operations.perform_due_operation(workspace_id=workspace.pk) == "ready"
        workspace.refresh_from_db()
    return workspace


def write(key: str, path: str, content: str, **extra: Any) -> dict[str, Any]:
    return task(key, "workspace.write_file", {"path": path, "content": content}, **extra)


def read(key: str, path: str, **extra: Any) -> dict[str, Any]:
    return task(key, "workspace.read_file", {"path": path}, **extra)


def start(tenant: Any, workspace: Workspace | None, *nodes: dict[str, Any]) -> WorkflowRun:
    body = definition(*nodes, workspace_id=str(workspace.pk) if workspace else None)
    run = runs.create_run(tenant=tenant, definition=body)
    return runs.start_run(run=run)


def settle_workspace(workspace: Workspace) -> str:
    """Perform the provider step the workspace owes (provision, hibernate), as the Celery task would."""
    return operations.perform_due_operation(workspace_id=workspace.pk)


def test_file_written_in_one_step_is_read_later_and_by_the_next_run_after_hibernate_and_wake(tenant) -> None:
    workspace = make_workspace(tenant, ready=False)
    run = start(
        tenant,
        workspace,
        write("draft", "notes/today.txt", "hello"),
        task("think", "echo", {"x": 1}, depends_on=["draft"]),
        read("check", "notes/today.txt", depends_on=["think"]),
    )
    # The first TASK finds the workspace PENDING: provisioning starts and the node waits (still READY).
    scheduler.tick(dispatch=lambda ids: None)
    workspace.refresh_from_db()
    assert workspace.status == WorkspaceStatus.PROVISIONING
    assert statuses(run)["draft"] == "READY"
    assert run.nodes.get(key="draft").not_before is not None
    assert settle_workspace(workspace) == "ready"
    drive()
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED, statuses(run)
    assert run.nodes.get(key="check").output == {"path": "notes/today.txt", "content": "hello", "bytes": 5}
    tokens = list(
        WorkflowNodeRun.objects.filter(run=run).order_by("started_at").values_list("fencing_token", flat=True)
    )
    assert None not in tokens and tokens == sorted(tokens) and len(set(tokens)) == len(tokens)
    # The run ended: the lease is released and the workspace hibernates.
    workspace.refresh_from_db()
    assert workspace.lock_owner in (None, "")
    assert workspace.status == WorkspaceStatus.HIBERNATED
    # A second run on the same workspace wakes it and still sees the file.
    second = start(tenant, workspace, read("again", "notes/today.txt"))
    scheduler.tick(dispatch=lambda ids: None)
    workspace.refresh_from_db()
    assert workspace.status == WorkspaceStatus.PROVISIONING
    assert settle_workspace(workspace) == "ready"
    drive()
    second.refresh_from_db()
    assert second.status == RunStatus.COMPLETED
    assert second.nodes.get(key="again").output["content"] == "hello"


def test_provisioning_failure_fails_the_run_with_the_reason(tenant, monkeypatch) -> None:
    from workspaces.providers import FatalProviderError

    class Broken:
        name = "local"

        def provision(self, **kwargs: Any) -> Any:
            raise FatalProviderError("disk full")

    monkeypatch.setattr(operations, "get_provider", lambda name: Broken())
    workspace = make_workspace(tenant, ready=False)
    run = start(tenant, workspace, write("draft", "a.txt", "x"), task("later", depends_on=["draft"]))
    scheduler.tick(dispatch=lambda ids: None)
    assert settle_workspace(workspace) == "failed"
    drive()
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "could not be provisioned" in run.error and "disk full" in run.error
    assert statuses(run) == {"draft": "FAILED", "later": "CANCELLED"}
    assert not WorkflowNodeRun.objects.filter(run=run).exists()


def test_workspace_tool_without_a_workspace_fails_clearly_without_retrying(tenant) -> None:
    run = start(tenant, None, write("draft", "a.txt", "x", retry={"max_attempts": 3}))
    drive()
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    attempts = list(WorkflowNodeRun.objects.filter(run=run).values_list("error", flat=True))
    assert len(attempts) == 1
    assert "workspace tools need a run with a workspace" in attempts[0]


def test_path_escape_is_a_permanent_failure(tenant) -> None:
    workspace = make_workspace(tenant)
    run = start(tenant, workspace, write("evil", "../outside.txt", "x", retry={"max_attempts": 3}))
    drive()
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert WorkflowNodeRun.objects.filter(run=run).count() == 1
    assert "path_not_allowed" in WorkflowNodeRun.objects.get(run=run).error
    workspace.refresh_from_db()
    assert not workspace.lock_owner


def test_second_task_waits_for_the_lock_and_is_due_when_the_first_releases(tenant) -> None:
    workspace = make_workspace(tenant)
    run = start(tenant, workspace, task("a"), task("b"))
    dispatched: list[str] = []
    scheduler.tick(batch_size=10, dispatch=dispatched.extend)
    first = WorkflowNodeRun.objects.get(run=run)
    waiting = WorkflowNode.objects.get(run=run, status=NodeStatus.READY)
    assert waiting.not_before is not None  # held: deferred until the lease would expire
    workspace.refresh_from_db()
    assert workspace.lock_owner == f"node-run:{first.pk}"
    assert workspace.fencing_token == first.fencing_token
    assert runner.execute(str(first.pk)) == "completed"
    waiting.refresh_from_db()
    assert waiting.not_before is not None and waiting.not_before <= first.node.finished_at  # brought forward
    drive()
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED


def test_cancel_releases_the_lease_of_the_running_attempt(tenant) -> None:
    workspace = make_workspace(tenant)
    run = start(tenant, workspace, task("a"))
    scheduler.tick(dispatch=lambda ids: None)
    workspace.refresh_from_db()
    assert workspace.lock_owner
    runs.cancel_run(run=run, reason="stop")
    workspace.refresh_from_db()
    assert not workspace.lock_owner


def test_fencing_token_reaches_the_task_controller_payload(tenant, settings) -> None:
    from .test_task_controller import FakeController

    fake = FakeController()
    settings.EXECUTOR_BACKEND = "task_controller"
    settings.TASK_CONTROLLER_URL = fake.url
    settings.INTERNAL_SERVICE_TOKEN = "t"
    workspace = make_workspace(tenant)
    run = start(tenant, workspace, write("draft", "a.txt", "x"))
    scheduler.tick(dispatch=lambda ids: None)
    attempt = WorkflowNodeRun.objects.get(run=run)
    assert runner.execute(str(attempt.pk)) == "dispatched"
    workspace.refresh_from_db()
    [sent] = fake.dispatches()
    assert sent["body"]["workspace_id"] == str(workspace.pk)
    assert sent["body"]["fencing_token"] == workspace.fencing_token == attempt.fencing_token
    assert workspace.lock_owner == f"node-run:{attempt.pk}"
    # The controller's report ends the attempt and releases the lease.
    completion.report_node_run_result(node_run_id=attempt.pk, status="COMPLETED", output={"ok": True})
    workspace.refresh_from_db()
    assert not workspace.lock_owner
    fake.server.shutdown()


def test_create_run_refuses_another_tenants_workspace(api, other_tenant) -> None:
    foreign = make_workspace(other_tenant, ready=False)
    body = definition(task("a"), workspace_id=str(foreign.pk))
    problem = assert_problem(api.post("/api/v1/workflows", body, format="json"), 400, "validation_error")
    assert problem["errors"][0]["field"] == "workspace_id"


# --- Real concurrent worker processes on PostgreSQL -----------------------------------------------------------


def spawn(log: Path, data_dir: Path, err: Path) -> subprocess.Popen[bytes]:
    db = connection.settings_dict
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "orchestrator.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "DATA_DIR": str(data_dir),  # shared: the workspace folder is under it
        "PROMETHEUS_MULTIPROC_DIR": str(data_dir.parent / f"metrics-{err.stem}"),
        "WORKSPACE_PROVIDER": "local",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "tests.orchestrator.engine_worker", str(log)],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=open(err, "wb"),
    )


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_parallel_branches_in_one_workspace_never_overlap(tenant, data_dir: Path, tmp_path: Path) -> None:
    """Two runs of four parallel branches each share one workspace; three worker processes claim and execute. Every
    attempt holds the workspace lock, so no two attempts' [started_at, finished_at] intervals overlap."""
    workspace = make_workspace(tenant)
    branches = [f"b{i}" for i in range(4)]
    nodes = [
        task("root"),
        {"key": "fan", "type": "PARALLEL", "depends_on": ["root"], "branches": branches},
        *[task(b, "sleep", {"seconds": 0.2}) for b in branches],
        *[write(f"w{b}", f"{b}.txt", b, depends_on=[b]) for b in branches],
        read("join", "b0.txt", depends_on=[f"w{b}" for b in branches]),
    ]
    created = [
        runs.create_run(tenant=tenant, definition=definition(*nodes, workspace_id=str(workspace.pk))) for _ in range(2)
    ]
    log = tmp_path / "workers.log"
    workers = [spawn(log, data_dir, tmp_path / f"w{i}.err") for i in range(3)]
    try:
        wait_for(lambda: log.exists() and log.read_text().count("START") == 3, 60, "the workers")
        for run in created:
            runs.start_run(run=run)
        wait_for(
            lambda: not WorkflowRun.objects.filter(pk__in=[r.pk for r in created], status="RUNNING").exists(),
            90,
            "the runs",
        )
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
            worker.wait(timeout=10)
    for run in created:
        run.refresh_from_db()
        assert run.status == RunStatus.COMPLETED, (statuses(run), (tmp_path / "w0.err").read_text()[-2000:])
        assert run.nodes.get(key="join").output["content"] == "b0"
    spans = sorted(
        WorkflowNodeRun.objects.filter(run__in=created, status="COMPLETED").values_list(
            "started_at", "finished_at", "node__key"
        )
    )
    assert len(spans) == 2 * (1 + 4 + 4 + 1)
    for (_, end, key), (begin, _, next_key) in itertools.pairwise(spans):
        assert end <= begin, f"{key} and {next_key} overlapped in the workspace"
    tokens = list(WorkflowNodeRun.objects.filter(run__in=created).order_by("started_at").values_list("fencing_token"))
    assert tokens == sorted(tokens) and len(set(tokens)) == len(tokens)  # one fresh token per attempt
