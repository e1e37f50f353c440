"""Login protection and headers (issue 15): lockout after N failed sign-ins (audited), password validators, a CSP
on every HTML page, no-store on pages with action parameters, Secure cookies over HTTPS."""

from __future__ import annotations

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client

from audit.models import AuditLog
from orchestrator.models import Role
from tests.console.helpers import pending_approval
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_repeated_failed_sign_ins_lock_the_account_and_the_lockout_is_audited(tenant, settings) -> None:
    member = MembershipFactory(tenant=tenant, role=Role.REVIEWER)
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        failed = client.post("/console/login/", {"username": member.user.username, "password": "wrong-password"})
        assert failed.status_code == 200 and b"didn't match" in failed.content
    locked = client.post("/console/login/", {"username": member.user.username, "password": "wrong-password"})
    assert locked.status_code == 429 and b"Sign-in locked" in locked.content
    # Now even the right password is refused, from another address too (the account is locked).
    again = Client(REMOTE_ADDR="10.9.8.7").post(
        "/console/login/", {"username": member.user.username, "password": "pw-for-tests-123"}
    )
    assert again.status_code == 429
    # The lockout and each attempt refused while locked are audited (never with the password tried).
    lockouts = list(AuditLog.objects.filter(action="auth.locked_out").order_by("sequence"))
    assert len(lockouts) == 2
    assert {e.metadata["data"]["username"] for e in lockouts} == {member.user.username}
    assert [e.metadata["data"]["ip_address"] for e in lockouts] == ["127.0.0.1", "10.9.8.7"]
    assert "wrong-password" not in str([e.metadata for e in lockouts])


def test_password_validators_require_twelve_characters_and_refuse_common_or_numeric() -> None:
    for weak in ("short-pw", "123456789012345", "password1234"):
        with pytest.raises(ValidationError):
            validate_password(weak)
    validate_password("a-long-enough-passphrase")


def test_html_pages_carry_a_csp_and_sensitive_pages_are_not_stored(tenant) -> None:
    reviewer = MembershipFactory(tenant=tenant, role=Role.REVIEWER)
    approval = pending_approval(tenant)
    client = Client()
    login_page = client.get("/console/login/")
    assert "script-src 'self'" in login_page["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in login_page["Content-Security-Policy"]
    client.force_login(reviewer.user)
    detail = client.get(f"/console/approvals/{approval.pk}/")
    assert detail.status_code == 200 and b"ceo@example.com" in detail.content
    assert "no-store" in detail["Cache-Control"]
    assert "Content-Security-Policy" in detail
    assert "Content-Security-Policy" in client.get("/admin/login/")


def test_session_cookie_is_secure_over_https_and_lives_twelve_hours(tenant, settings) -> None:
    member = MembershipFactory(tenant=tenant, role=Role.REVIEWER)
    assert settings.SESSION_COOKIE_AGE == 12 * 3600
    secure = Client().post(
        "/console/login/", {"username": member.user.username, "password": "pw-for-tests-123"}, secure=True
    )
    assert secure.status_code == 302
    assert secure.cookies["sessionid"]["secure"] is True
    plain = Client().post("/console/login/", {"username": member.user.username, "password": "pw-for-tests-123"})
    assert not plain.cookies["sessionid"]["secure"]
