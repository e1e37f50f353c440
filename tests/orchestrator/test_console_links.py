"""Console links resolve with and without the trailing slash, and API links carry it (issue 18)."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client, override_settings

from approvals.events import console_url


@override_settings(CONSOLE_BASE_URL="http://127.0.0.1:9123")
def test_console_url_is_absolute_with_the_routes_trailing_slash() -> None:
    approval_id = uuid.uuid4()
    assert console_url(approval_id) == f"http://127.0.0.1:9123/console/approvals/{approval_id}/"


@pytest.mark.django_db
def test_a_console_path_without_its_slash_redirects_to_the_page() -> None:
    approval_id = uuid.uuid4()
    response = Client().get(f"/console/approvals/{approval_id}?x=1")
    assert response.status_code == 302
    assert response["Location"] == f"/console/approvals/{approval_id}/?x=1"


@pytest.mark.django_db
def test_a_path_that_is_no_console_page_stays_404_and_the_api_never_redirects() -> None:
    assert Client().get("/console/no-such-page").status_code == 404
    assert Client().post("/api/v1/workflows/").status_code in (401, 403, 404)  # never a redirect
