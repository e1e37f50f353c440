"""The console pages of INPUT steps (issue 19) through Django's client: CSRF, tenancy, who sees the form, values
typed as text turned into the form's JSON, errors next to their fields, and a step past its due time."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from orchestrator import runs
from orchestrator.console.inputs import values_from_post
from orchestrator.models import Role, WorkflowNode
from tests.factories import MembershipFactory
from tests.orchestrator.engine_helpers import drive
from tests.orchestrator.test_inputs import FORM, review_workflow

pytestmark = pytest.mark.django_db


def waiting_run(tenant, **review):
    run = runs.create_run(tenant=tenant, definition=review_workflow(**review))
    drive()
    return run


def url(run) -> str:
    return reverse("console:input", args=[run.pk, "review"])


def signed_in(tenant, role: str, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(MembershipFactory(tenant=tenant, role=role).user)
    return client


def test_posting_needs_the_csrf_token(tenant) -> None:
    run = waiting_run(tenant)
    client = signed_in(tenant, Role.REVIEWER, csrf=True)
    assert client.post(url(run), {"approved": "true", "amount": "1"}).status_code == 403
    token = client.get(url(run)).context["csrf_token"]
    response = client.post(url(run), {"approved": "true", "amount": "1", "csrfmiddlewaretoken": str(token)})
    assert response.status_code == 302
    assert WorkflowNode.objects.get(run=run, key="review").output == {"approved": True, "amount": 1}


def test_anonymous_is_sent_to_sign_in_and_another_tenant_gets_404(tenant, other_tenant) -> None:
    run = waiting_run(tenant)
    assert Client().get(url(run)).status_code == 302
    assert Client().get(reverse("console:inputs")).status_code == 302
    assert signed_in(other_tenant, Role.OPERATOR).get(url(run)).status_code == 404


def test_a_viewer_sees_the_question_but_no_form_and_no_listing(tenant) -> None:
    run = waiting_run(tenant)
    viewer = signed_in(tenant, Role.VIEWER)
    html = viewer.get(url(run)).content.decode()
    assert "Approve this refund?" in html and "reviewer or operator role" in html
    assert 'type="submit" class="button primary"' not in html
    assert viewer.post(url(run), {"approved": "true", "amount": "1"}).status_code == 302
    assert WorkflowNode.objects.get(run=run, key="review").status == "WAITING"
    assert "No workflow step is waiting for your input." in viewer.get(reverse("console:inputs")).content.decode()


def test_text_that_is_not_a_number_is_shown_next_to_its_field(tenant) -> None:
    run = waiting_run(tenant)
    response = signed_in(tenant, Role.REVIEWER).post(url(run), {"amount": "twelve", "reason": "a\r\nb"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="field-amount-error">Enter a number.</p>' in html
    assert "a\nb</textarea>" in html
    missing = signed_in(tenant, Role.REVIEWER).post(url(run), {"approved": "true"})
    assert missing.status_code == 400 and 'id="field-amount-error">Required.</p>' in missing.content.decode()


def test_values_from_post_follow_the_form() -> None:
    from django.http import QueryDict

    values, typed, errors = values_from_post(FORM, QueryDict("amount=12&reason=&channel=email"))
    assert values == {"approved": False, "amount": 12, "channel": "email"} and not errors
    assert typed["approved"] == "false" and typed["reason"] == ""  # shown again as posted
    values, _, errors = values_from_post(FORM, QueryDict("approved=true&amount=1.5&channel=fax"))
    assert values == {"approved": True, "amount": 1.5} and errors == {"channel": "Choose one of the listed options."}
    _, _, errors = values_from_post(FORM, QueryDict("amount=inf"))
    assert errors == {"amount": "Enter a number."}


def test_past_the_due_time_the_page_says_so_and_refuses(tenant) -> None:
    run = waiting_run(tenant, due_in_minutes=1)
    reviewer = signed_in(tenant, Role.REVIEWER)
    with time_machine.travel(timezone.now() + timedelta(minutes=2), tick=False):
        assert "past its due time" in reviewer.get(url(run)).content.decode()
        response = reviewer.post(url(run), {"approved": "true", "amount": "1"}, follow=True)
        assert any("not recorded" in str(m) for m in response.context["messages"])
    assert WorkflowNode.objects.get(run=run, key="review").status == "WAITING"  # the scheduler expires it


def test_the_run_page_links_to_the_waiting_input(tenant) -> None:
    run = waiting_run(tenant)
    html = signed_in(tenant, Role.VIEWER).get(reverse("console:run", args=[run.pk])).content.decode()
    assert f'href="{url(run)}"' in html and "waits for input" in html


def test_an_answer_sent_elsewhere_meanwhile_is_reported_and_shown(tenant) -> None:
    run = waiting_run(tenant)
    first, second = signed_in(tenant, Role.REVIEWER), signed_in(tenant, Role.OPERATOR)
    assert second.get(url(run)).status_code == 200  # the form is open in a second browser
    assert first.post(url(run), {"approved": "true", "amount": "3"}).status_code == 302
    response = second.post(url(run), {"amount": "9"}, follow=True)
    notes = [str(m) for m in response.context["messages"]]
    assert any("not recorded" in n and "already answered by" in n for n in notes), notes
    html = response.content.decode()
    assert "Submitted by" in html and "<dd>3</dd>" in html and "<dd>Yes</dd>" in html
    assert WorkflowNode.objects.get(run=run, key="review").output == {"approved": True, "amount": 3}


def test_the_list_asks_about_group_membership_once_per_tenant_and_groups(tenant, django_assert_max_num_queries) -> None:
    """Listing many steps assigned to the same group costs the same queries as listing one."""
    from django.contrib.auth.models import Group

    client = signed_in(tenant, Role.REVIEWER)
    user = client.session["_auth_user_id"]
    Group.objects.get_or_create(name="finance")[0].user_set.add(user)
    listing = reverse("console:inputs")
    waiting_run(tenant, assignees={"groups": ["finance"]})
    with django_assert_max_num_queries(50) as one:
        assert client.get(listing).content.count(b"Approve this refund?") == 1
    for _ in range(5):
        waiting_run(tenant, assignees={"groups": ["finance"]})
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert client.get(listing).content.count(b"Approve this refund?") == 6
