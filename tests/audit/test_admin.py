"""The Django admin shows audit entries read-only (SPEC §8)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from audit.models import AuditLog
from tests.audit.conftest import emit

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_() -> Client:
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-123")
    client = Client()
    client.force_login(user)
    return client


def test_admin_lists_and_shows_entries(tenant, admin_client_) -> None:
    entry = emit(tenant, reason="shown")
    listing = admin_client_.get("/admin/audit/auditlog/")
    assert listing.status_code == 200
    assert b"workflow.created" in listing.content
    detail = admin_client_.get(f"/admin/audit/auditlog/{entry.pk}/change/")
    assert detail.status_code == 200
    assert entry.hash.encode() in detail.content
    assert b'name="_save"' not in detail.content  # nothing to save
    assert admin_client_.get("/admin/audit/auditlog/?q=shown").status_code == 200
    assert admin_client_.get("/admin/audit/auditcheckpoint/").status_code == 200


def test_admin_cannot_add_change_or_delete(tenant, admin_client_) -> None:
    entry = emit(tenant)
    assert admin_client_.get("/admin/audit/auditlog/add/").status_code == 403
    assert admin_client_.post(f"/admin/audit/auditlog/{entry.pk}/change/", {"reason": "edited"}).status_code == 403
    assert admin_client_.post(f"/admin/audit/auditlog/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    listing = admin_client_.get("/admin/audit/auditlog/")
    assert b"delete_selected" not in listing.content
    assert AuditLog.objects.get(pk=entry.pk).reason == ""
