"""A reviewer fills an INPUT form in a real Chromium and a DECISION branches on the value (issue 19): the step is
listed under "Inputs for me", the form is drawn from its JSON Schema (text, number, choices, check box, text area),
a wrong value comes back next to its field from the server, and the run continues on the branch the answer chose.
The engine runs in-process (scheduler ticks and inline attempts); axe-core checks the pages."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group

from orchestrator import runs
from orchestrator.models import Role, WorkflowNode, WorkflowRun
from tests.browser.conftest import assert_accessible, screenshot, sign_in
from tests.factories import MembershipFactory
from tests.orchestrator.engine_helpers import drive
from tests.orchestrator.test_inputs import review_workflow

pytestmark = pytest.mark.django_db(transaction=True)


def _waiting_review(tenant: Any, **review: Any) -> WorkflowRun:
    body = review_workflow(**review)
    body["nodes"][0]["form"]["properties"]["notes"] = {"type": "string", "title": "Notes for the customer"}
    run = runs.create_run(tenant=tenant, definition=body)
    drive()
    assert WorkflowNode.objects.get(run=run, key="review").status == "WAITING"
    return run


def test_a_reviewer_fills_the_form_and_the_decision_branches_on_the_value(page, live_server) -> None:
    membership = MembershipFactory(role=Role.REVIEWER)
    membership.user.groups.add(Group.objects.get_or_create(name="refunds")[0])
    run = _waiting_review(membership.tenant, assignees={"groups": ["refunds"]})
    sign_in(page, live_server.url, membership.user.username)

    page.get_by_role("link", name="Inputs for me").click()
    page.get_by_role("link", name="Approve this refund?").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Approve this refund?"
    assert_accessible(page, "input form")
    # The fields in the order the definition wrote them (jsonb does not keep an object's key order).
    labels = page.locator("form.input-form .field").all_inner_texts()
    assert [text.split("\n")[0].rstrip(" *") for text in labels][:2] == ["Approve the refund", "Amount"]

    # A value the form refuses (a negative amount) comes back from the server next to its field.
    page.get_by_label("Approve the refund").check()
    page.get_by_label("Amount").fill("-5")
    page.get_by_label("Reason").fill("Damaged on arrival.\nPhotos attached.")
    page.get_by_label("phone").check()
    page.get_by_role("button", name="Submit").click()
    amount = page.get_by_label("Amount")
    assert amount.get_attribute("aria-invalid") == "true"
    assert page.locator("#field-amount-error").inner_text() == "At least 0."
    assert page.get_by_label("Reason").input_value() == "Damaged on arrival.\nPhotos attached."  # kept
    assert page.get_by_label("phone").is_checked()
    assert page.get_by_role("alert").first.is_visible()
    assert_accessible(page, "input form with an error")
    screenshot(page, "input-form-error")

    amount.fill("120.50")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(f"**/console/runs/{run.pk}/#node-review")
    assert "your input for step review is recorded" in page.get_by_role("status").first.inner_text()

    review = WorkflowNode.objects.get(run=run, key="review")
    assert review.status == "COMPLETED"
    assert review.output == {
        "approved": True,
        "amount": 120.5,
        "reason": "Damaged on arrival.\nPhotos attached.",
        "channel": "phone",
    }
    assert review.submitted_by is not None and review.submitted_by["display"] == membership.user.username
    drive()
    run.refresh_from_db()
    assert run.status == "COMPLETED"
    assert dict(run.nodes.values_list("key", "status"))["ship"] == "COMPLETED"
    assert dict(run.nodes.values_list("key", "status"))["notify_rejection"] == "SKIPPED"

    # The step's page now shows the answer, and nothing waits for this reviewer any more.
    page.goto(f"{live_server.url}/console/runs/{run.pk}/inputs/review/")
    assert "Submitted by" in page.content() and "Photos attached." in page.content()
    assert_accessible(page, "answered input")
    page.goto(f"{live_server.url}/console/inputs/")
    assert "No workflow step is waiting for your input." in page.content()


def test_an_unticked_box_takes_the_other_branch_and_outsiders_see_no_form(page, live_server) -> None:
    membership = MembershipFactory(role=Role.REVIEWER)
    run = _waiting_review(membership.tenant)
    outsider = MembershipFactory(role=Role.REVIEWER, tenant=membership.tenant)
    gated = _waiting_review(membership.tenant, assignees={"groups": ["legal"]})

    sign_in(page, live_server.url, outsider.user.username)
    page.goto(f"{live_server.url}/console/runs/{gated.pk}/inputs/review/")
    assert page.get_by_role("button", name="Submit").count() == 0
    assert "assigned to legal" in page.content()
    page.goto(f"{live_server.url}/console/inputs/")
    assert page.locator("tr[data-input]").count() == 1  # only the unassigned one
    assert_accessible(page, "inputs list")

    page.get_by_role("link", name="Approve this refund?").click()
    page.get_by_label("Amount").fill("0")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(f"**/console/runs/{run.pk}/#node-review")
    drive()
    statuses = dict(run.nodes.values_list("key", "status"))
    assert statuses["ship"] == "SKIPPED" and statuses["notify_rejection"] == "COMPLETED"
    assert WorkflowNode.objects.get(run=run, key="review").output == {"approved": False, "amount": 0}


def test_the_input_form_fits_a_phone(phone_page, live_server) -> None:
    membership = MembershipFactory(role=Role.REVIEWER)
    run = _waiting_review(membership.tenant)
    sign_in(phone_page, live_server.url, membership.user.username)
    phone_page.goto(f"{live_server.url}/console/inputs/")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    phone_page.goto(f"{live_server.url}/console/runs/{run.pk}/inputs/review/")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390 + 1, "the form scrolls sideways"
    assert_accessible(phone_page, "input form on a phone")
    screenshot(phone_page, "input-form-phone")
