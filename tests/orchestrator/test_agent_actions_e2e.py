"""End to end over HTTP (issue 19): real gunicorn, Celery worker and beat with ``EXECUTOR_BACKEND=task_controller``
against a fake task controller on 127.0.0.1 that counts what it executes. ``desktop.type`` then
``desktop.purchase`` on a checkout page: the purchase is CRITICAL, waits for two approvers, and after the second
approval the controller has run it exactly once; an action outside the catalogue or bad params is a 400 naming it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from orchestrator import services
from orchestrator.models import Scope
from tests.chaos.servers import INTERNAL_TOKEN, TaskController
from tests.factories import TenantFactory
from tests.orchestrator.test_e2e import database_url, free_port, poll, start_processes, stop_processes

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
CHECKOUT = "https://checkout.shop.example/cart"


@pytest.fixture
def controller_stack(tmp_path: Path) -> Iterator[tuple[str, TaskController, Path]]:
    controller = TaskController()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "orchestrator.settings",
        "DATABASE_URL": database_url(),
        "DATA_DIR": str(tmp_path / "data"),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "data" / "metrics"),
        "SCHEDULER_ENABLED": "true",
        "EXECUTOR_BACKEND": "task_controller",
        "WORKSPACE_PROVIDER": "local",
        "TASK_CONTROLLER_URL": controller.url,
        "INTERNAL_SERVICE_TOKEN": INTERNAL_TOKEN,
        "INTERNAL_CALLBACK_BASE_URL": base,
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    python = sys.executable
    commands = {
        "web": [python, "-m", "gunicorn", "orchestrator.wsgi:application", "--config",
                "python:orchestrator.gunicorn_conf", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        "worker": [
            python, "-m", "celery", "-A", "orchestrator", "worker", "--concurrency", "2", "--loglevel", "INFO",
            "-Q", "default,scheduler,executor,webhooks,maintenance", "-n", f"agents-e2e-{os.getpid()}@%h",
            "--without-gossip", "--without-mingle",
        ],
        "beat": [python, "-m", "celery", "-A", "orchestrator", "beat", "--loglevel", "INFO",
                 "--schedule", str(tmp_path / "beat-schedule")],
    }  # fmt: skip
    (tmp_path / "data").mkdir()
    processes = start_processes(commands, env, tmp_path)
    try:
        poll(lambda: requests.get(f"{base}/api/v1/health/live", timeout=2).ok, 60, "gunicorn")
        yield base, controller, tmp_path
    finally:
        stop_processes(processes)
        controller.close()


def _logs(tmp_path: Path) -> str:
    return "\n".join(f"--- {n}\n{(tmp_path / f'{n}.log').read_text()[-3000:]}" for n in ("web", "worker", "beat"))


def test_desktop_purchase_waits_for_two_approvers_and_runs_once(
    controller_stack: tuple[str, TaskController, Path],
) -> None:
    base, controller, tmp_path = controller_stack
    # The tenant lets service accounts decide CRITICAL requests, so two distinct service keys can approve here
    # (people deciding with step-up is covered in tests/principals).
    tenant = TenantFactory(risk_policy={"deciders": {"CRITICAL": "humans_or_services"}})
    keys = [services.create_api_key(tenant=tenant, name=f"agent-{i}", scopes=list(Scope.values))[1] for i in range(3)]
    agent, first, second = ({"Authorization": f"Bearer {key}"} for key in keys)

    def post(path: str, body: Any, headers: dict[str, str]) -> requests.Response:
        return requests.post(f"{base}/api/v1{path}", json=body, headers=headers, timeout=15)

    bad = {
        "name": "bad",
        "nodes": [
            {"key": "t", "type": "TASK", "action": {"tool": "desktop.teleport", "params": {}}},
            {"key": "p", "type": "TASK", "action": {"tool": "desktop.purchase", "params": {"url": CHECKOUT}}},
        ],
    }
    refused = post("/workflows", bad, agent)
    assert refused.status_code == 400, refused.text
    fields = {e["field"] for e in refused.json()["errors"]}
    assert fields == {"nodes[0].action.tool", "nodes[1].action.params.item"}

    body = {
        "name": "buy a TV",
        "start": True,
        "nodes": [
            {"key": "type", "type": "TASK", "action": {"tool": "desktop.type", "params": {"text": "TV 55in"}}},
            {
                "key": "buy",
                "type": "TASK",
                "depends_on": ["type"],
                "action": {"tool": "desktop.purchase", "params": {"url": CHECKOUT, "item": "TV", "amount": 499}},
            },
        ],
    }
    created = post("/workflows", body, agent)
    assert created.status_code == 201, created.text
    run_id = created.json()["id"]

    def pending() -> dict[str, Any] | None:
        listed = requests.get(f"{base}/api/v1/approvals", headers=first, timeout=5).json()["results"]
        return next((a for a in listed if a["workflow_id"] == run_id), None)

    try:
        approval = poll(pending, 60, "the purchase's approval request")
    except AssertionError:
        print(_logs(tmp_path))
        raise
    assert approval["risk_level"] == "CRITICAL"
    assert approval["tool"] == "desktop.purchase"
    assert controller.executions.get((run_id, "type")) and not controller.executions.get((run_id, "buy"))

    one = post(f"/approvals/{approval['id']}/approve", {"reason": "ok"}, first)
    assert one.status_code == 200, one.text
    assert one.json()["status"] == "PENDING"  # one of two approvers
    assert not controller.executions.get((run_id, "buy"))
    again = post(f"/approvals/{approval['id']}/approve", {"reason": "twice"}, first)
    assert again.status_code in (403, 409), again.text  # the same principal cannot count twice
    two = post(f"/approvals/{approval['id']}/approve", {"reason": "ok too"}, second)
    assert two.status_code == 200, two.text

    def finished() -> dict[str, Any] | None:
        detail = requests.get(f"{base}/api/v1/workflows/{run_id}", headers=agent, timeout=5).json()
        return detail if detail["status"] in ("COMPLETED", "FAILED", "CANCELLED") else None

    try:
        detail = poll(finished, 60, "the run to finish")
    except AssertionError:
        print(_logs(tmp_path))
        raise
    assert detail["status"] == "COMPLETED", detail
    assert len(controller.executions[(run_id, "buy")]) == 1
    assert len(controller.executions[(run_id, "type")]) == 1
