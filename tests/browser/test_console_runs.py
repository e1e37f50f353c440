"""Sign-in and the run page's DAG in a real Chromium."""

from __future__ import annotations

import pytest

from orchestrator.models import NodeType, Role, WorkflowNode, WorkflowRun
from tests.browser.conftest import screenshot, sign_in
from tests.factories import MembershipFactory, TenantFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _run_with_nodes(tenant) -> WorkflowRun:
    run = WorkflowRun.objects.create(tenant=tenant, name="Quarterly invoice run", status="RUNNING")
    for key, status, deps in [
        ("fetch", "COMPLETED", []),
        ("check", "COMPLETED", ["fetch"]),
        ("send", "WAITING_APPROVAL", ["check"]),
        ("skip_notice", "SKIPPED", ["check"]),
    ]:
        WorkflowNode.objects.create(run=run, key=key, type=NodeType.TASK, status=status, depends_on=deps)
    return run


def test_wrong_password_is_refused_with_a_message(page, live_server) -> None:
    membership = MembershipFactory(role=Role.REVIEWER)
    page.goto(f"{live_server.url}/console/login/")
    page.get_by_label("Username").fill(membership.user.username)
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().startswith("Your username and password didn't match")


def test_run_page_draws_the_dag_with_node_states(page, live_server) -> None:
    membership = MembershipFactory(role=Role.VIEWER)
    run = _run_with_nodes(membership.tenant)
    sign_in(page, live_server.url, membership.user.username)
    page.goto(f"{live_server.url}/console/runs/{run.pk}/")
    svg = page.locator("svg.dag")
    assert svg.is_visible()
    states = {
        node.get_attribute("data-key"): node.get_attribute("data-status")
        for node in page.locator("svg.dag a.dag-node").all()
    }
    assert states == {"fetch": "COMPLETED", "check": "COMPLETED", "send": "WAITING_APPROVAL", "skip_notice": "SKIPPED"}
    page.locator('svg.dag a[data-key="send"]').click()
    assert page.url.endswith("#node-send")
    screenshot(page, "run-page")


def test_run_of_another_tenant_is_404(page, live_server) -> None:
    membership = MembershipFactory(role=Role.OPERATOR)
    foreign = _run_with_nodes(TenantFactory())
    sign_in(page, live_server.url, membership.user.username)
    response = page.goto(f"{live_server.url}/console/runs/{foreign.pk}/")
    assert response is not None and response.status == 404


def test_console_works_on_a_phone(phone_page, live_server) -> None:
    membership = MembershipFactory(role=Role.VIEWER)
    run = _run_with_nodes(membership.tenant)
    sign_in(phone_page, live_server.url, membership.user.username)
    phone_page.goto(f"{live_server.url}/console/runs/{run.pk}/")
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, "the page scrolls sideways on a phone"
    screenshot(phone_page, "run-page-phone")
