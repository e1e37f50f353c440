"""The risk policy is validated by its JSON Schema (issue 15): at start-up, and a tenant override on save through
the API and the admin, with the wrong field named. An invalid policy is refused, never ignored."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from approvals.apps import check_risk_policy
from approvals.policy_schema import SCHEMA_FILE
from approvals.schema_check import SCHEMAS_DIR
from audit.models import AuditLog
from orchestrator.models import Role, Tenant
from tests.conftest import assert_problem
from tests.principals.test_governance_audit import staff_operator

pytestmark = pytest.mark.django_db


def test_the_schema_lives_in_the_repository_and_the_settings_policy_passes_it() -> None:
    assert (SCHEMAS_DIR / SCHEMA_FILE).is_file()
    check_risk_policy()


def test_start_up_refuses_an_invalid_settings_policy(settings) -> None:
    broken = dict(settings.APPROVAL_RISK_POLICY)
    broken["deciders"] = {"HIGH": "anyone"}
    settings.APPROVAL_RISK_POLICY = broken
    with pytest.raises(ImproperlyConfigured, match=r"APPROVAL_RISK_POLICY\.deciders\.HIGH"):
        check_risk_policy()


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"deciders": {"HIGH": "robots"}}, "risk_policy.deciders.HIGH"),
        ({"required_approvers": {"CRITICAL": 0}}, "risk_policy.required_approvers.CRITICAL"),
        ({"tools": {"wire.send": {"level": "EXTREME"}}}, "risk_policy.tools.wire.send.level"),
        ({"approval_treshold": "HIGH"}, "risk_policy"),  # a typo is an unknown key, not silently ignored
        ([1, 2], "risk_policy"),
    ],
)
def test_a_malformed_tenant_override_is_refused_through_the_api_with_the_field_named(
    tenant, person, override, field
) -> None:
    operator = person(Role.OPERATOR)
    response = operator.session.put(
        f"/api/v1/tenants/{tenant.pk}/risk-policy", {"risk_policy": override}, format="json"
    )
    body = assert_problem(response, 400, "validation_error")
    assert field in [e["field"] for e in body["errors"]], body["errors"]
    assert Tenant.objects.get(pk=tenant.pk).risk_policy == {}
    assert not AuditLog.objects.filter(action="tenant.risk_policy_changed").exists()


def test_only_operators_change_the_policy_and_other_tenants_are_not_found(tenant, other_tenant, person) -> None:
    reviewer = person(Role.REVIEWER)
    assert_problem(
        reviewer.session.put(f"/api/v1/tenants/{tenant.pk}/risk-policy", {"risk_policy": {}}, format="json"), 403
    )
    operator = person(Role.OPERATOR)
    assert_problem(operator.session.get(f"/api/v1/tenants/{other_tenant.pk}/risk-policy"), 404)


def test_a_malformed_tenant_override_is_refused_in_the_admin_with_the_field_named(tenant) -> None:
    admin: Client = staff_operator(tenant)
    response = admin.post(
        f"/admin/orchestrator/tenant/{tenant.pk}/change/",
        {
            "slug": tenant.slug,
            "name": tenant.name,
            "risk_policy": '{"deciders": {"CRITICAL": "humans_or_robots"}}',
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert b"risk_policy.deciders.CRITICAL" in response.content
    assert Tenant.objects.get(pk=tenant.pk).risk_policy == {}
