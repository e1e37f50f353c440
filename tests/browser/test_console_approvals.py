"""The reviewer's path in a real Chromium: a workflow created over the API reaches a high-risk step, a reviewer
signs in, finds it in the queue, approves it and watches the run continue (a real Celery worker runs the engine).
Then every refusal a reviewer can meet: reject without a reason, self-approval, expiry, a concurrent decision.

Screenshots of the queue, the detail and the run page (laptop and phone) go to the test output folder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings
from django.db import connection
from django.utils import timezone

from approvals.models import ApprovalRequest, ApprovalStatus
from orchestrator import services
from orchestrator.lib.auth import caller_for_user
from orchestrator.models import Role, RunStatus, Scope, WorkflowRun
from tests.browser.conftest import screenshot, sign_in
from tests.console.helpers import pending_approval
from tests.factories import MembershipFactory, TenantFactory
from tests.polling import poll

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """The live server's (test) database, for the worker process."""
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    return f"sqlite:///{Path(str(db['NAME'])).resolve()}"


@pytest.fixture(scope="module")
def celery_worker(
    django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """A real Celery worker (all queues, solo pool) on the test database and the test process's broker (Redis
    from REDIS_URL, or the filesystem broker under the shared DATA_DIR). Stopped by PID at the end."""
    with django_db_blocker.unblock():
        url = database_url()
    tmp = tmp_path_factory.mktemp("console-worker")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "orchestrator.settings",
        "DATABASE_URL": url,
        "DATA_DIR": str(settings.DATA_DIR),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics"),
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    (tmp / "metrics").mkdir()
    log_path = tmp / "worker.log"
    command = [
        sys.executable, "-m", "celery", "-A", "orchestrator", "worker", "--pool", "solo", "--loglevel", "INFO",
        "-Q", "default,scheduler,executor,webhooks,maintenance", "-n", f"console-browser-{os.getpid()}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield log_path
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def worker_log(path: Path) -> str:
    return path.read_text(errors="replace")[-4000:] if path.exists() else "(no log)"


REPORT_WORKFLOW = {
    "name": "Quarterly report",
    "start": True,
    "nodes": [
        {"key": "collect", "type": "TASK", "action": {"tool": "echo", "params": {"quarter": "Q3"}}},
        {
            "key": "send_report",
            "type": "TASK",
            "depends_on": ["collect"],
            "action": {
                "tool": "email.send",
                "params": {"to": "finance@example.com", "subject": "Q3 report", "body": "Revenue: 1.2M EUR"},
            },
        },
        {"key": "archive", "type": "TASK", "depends_on": ["send_report"], "action": {"tool": "noop", "params": {}}},
    ],
}


def test_reviewer_approves_a_request_made_through_the_api_and_the_workflow_continues(
    page, phone_page, live_server, celery_worker
) -> None:
    tenant = TenantFactory()
    reviewer = MembershipFactory(tenant=tenant, role=Role.REVIEWER)
    _, key = services.create_api_key(tenant=tenant, name="agent", scopes=[Scope.WORKFLOWS])
    created = requests.post(
        f"{live_server.url}/api/v1/workflows",
        json=REPORT_WORKFLOW,
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    run_id = created.json()["id"]
    try:
        approval = poll(
            lambda: ApprovalRequest.objects.filter(run_id=run_id).first(), 60, "the scheduler to ask for approval"
        )
    except AssertionError:
        print(worker_log(celery_worker))
        raise

    sign_in(page, live_server.url, reviewer.user.username)
    page.goto(f"{live_server.url}/console/")
    assert page.title().startswith("(1) Pending approvals")
    row = page.locator(f'tr[data-approval="{approval.pk}"]')
    assert "HIGH" in row.inner_text() and "email.send" in row.inner_text() and "Quarterly report" in row.inner_text()
    screenshot(page, "queue")
    sign_in(phone_page, live_server.url, reviewer.user.username)
    phone_page.goto(f"{live_server.url}/console/")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 391
    screenshot(phone_page, "queue-phone")

    row.get_by_role("link").click()
    page.wait_for_url(f"**/console/approvals/{approval.pk}/")
    assert page.get_by_role("heading", level=1).is_visible()
    assert "finance@example.com" in page.locator('[data-card="email"]').inner_text()
    assert page.locator('svg.dag a[data-key="send_report"]').get_attribute("data-status") == "WAITING_APPROVAL"
    assert page.locator("#quorum-text").inner_text() == "0 of 1 approval"
    screenshot(page, "approval-detail")
    phone_page.goto(page.url)
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 391
    screenshot(phone_page, "approval-detail-phone")

    page.get_by_label("Why you approve (optional)").fill("Figures checked with finance.")
    page.get_by_role("button", name="Approve…").click()
    page.get_by_role("button", name="Yes, approve").click()  # HIGH risk: the confirmation step
    assert page.get_by_role("status").filter(has_text="Approved").is_visible()
    assert page.locator("#approval-status").inner_text() in ("Approved", "Executed")
    assert page.get_by_role("button", name="Approve").count() == 0

    page.get_by_role("link", name="Follow the workflow run").click()
    page.wait_for_url(f"**/console/runs/{run_id}/")
    from playwright.sync_api import expect

    try:  # the run page refreshes itself while the run is live
        # Not wait_for_function with a string: its polls after the first eval() in the page, which the console's
        # CSP (no 'unsafe-eval') refuses, so it failed whenever the run was not complete at the first look.
        expect(page.locator("#run-status")).to_have_text("Completed", timeout=60_000)
    except Exception:
        print(worker_log(celery_worker))
        raise
    states = {n.get_attribute("data-key"): n.get_attribute("data-status") for n in page.locator("svg.dag a").all()}
    assert states == {"collect": "COMPLETED", "send_report": "COMPLETED", "archive": "COMPLETED"}
    assert WorkflowRun.objects.get(pk=run_id).status == RunStatus.COMPLETED
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.EXECUTED
    screenshot(page, "run-completed")
    phone_page.goto(page.url)
    screenshot(phone_page, "run-completed-phone")


def test_reject_needs_a_reason(page, live_server) -> None:
    tenant = TenantFactory()
    reviewer = MembershipFactory(tenant=tenant, role=Role.REVIEWER)
    approval = pending_approval(tenant)
    sign_in(page, live_server.url, reviewer.user.username)
    page.goto(f"{live_server.url}/console/approvals/{approval.pk}/")
    page.get_by_role("button", name="Reject").click()
    assert "Say why you reject" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Why you reject (required)").get_attribute("aria-invalid") == "true"
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING
    screenshot(page, "reject-without-reason")
    page.get_by_label("Why you reject (required)").fill("Wrong recipient: this goes to the board, not finance.")
    page.get_by_role("button", name="Reject").click()
    assert page.get_by_role("status").filter(has_text="Rejected").is_visible()
    assert "Wrong recipient" in page.locator("#outcome").inner_text()
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.REJECTED


def test_requester_sees_the_self_approval_refusal(page, live_server) -> None:
    tenant = TenantFactory()
    operator = MembershipFactory(tenant=tenant, role=Role.OPERATOR)
    approval = pending_approval(tenant, requester=caller_for_user(operator.user))
    sign_in(page, live_server.url, operator.user.username)
    page.goto(f"{live_server.url}/console/approvals/{approval.pk}/")
    page.get_by_role("button", name="Approve").click()
    assert "cannot decide it yourself" in page.get_by_role("alert").inner_text()
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING


def test_expired_request_shows_expired_and_offers_no_buttons(page, live_server) -> None:
    tenant = TenantFactory()
    reviewer = MembershipFactory(tenant=tenant, role=Role.REVIEWER)
    approval = pending_approval(tenant)
    ApprovalRequest.objects.filter(pk=approval.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    sign_in(page, live_server.url, reviewer.user.username)
    page.goto(f"{live_server.url}/console/approvals/{approval.pk}/")
    assert page.locator("#approval-status").inner_text() == "Expired"
    assert "expired" in page.locator("#outcome").inner_text()
    assert page.get_by_role("button", name="Approve").count() == 0
    assert page.get_by_role("button", name="Reject").count() == 0
    screenshot(page, "approval-expired")


def test_second_reviewer_deciding_after_the_first_sees_the_conflict(browser, page, live_server) -> None:
    tenant = TenantFactory()
    first = MembershipFactory(tenant=tenant, role=Role.REVIEWER)
    second = MembershipFactory(tenant=tenant, role=Role.REVIEWER)
    approval = pending_approval(tenant)
    url = f"{live_server.url}/console/approvals/{approval.pk}/"
    other = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    try:
        sign_in(page, live_server.url, first.user.username)
        sign_in(other, live_server.url, second.user.username)
        page.goto(url)
        other.goto(url)  # both see the buttons
        page.get_by_role("button", name="Approve…").click()
        page.get_by_role("button", name="Yes, approve").click()
        assert page.get_by_role("status").filter(has_text="Approved").is_visible()
        other.get_by_label("Why you reject (required)").fill("Not this quarter.")
        other.get_by_role("button", name="Reject").click()
        alert = other.get_by_role("alert").inner_text()
        assert "Someone else decided this request first" in alert and "approved" in alert
        assert other.locator("#approval-status").inner_text() == "Approved"
        screenshot(other, "decision-conflict")
    finally:
        other.context.close()
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.APPROVED
