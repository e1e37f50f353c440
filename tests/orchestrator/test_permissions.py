"""Scopes (API keys) and roles (people) are checked by one rule (SPEC §2)."""

from __future__ import annotations

import pytest
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from orchestrator.models import Role, Scope
from tests.conftest import assert_problem

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


class _Workflows(APIView):
    required_scope = Scope.WORKFLOWS

    def get(self, request):
        return Response({"read": True})

    def post(self, request):
        return Response({"wrote": True})


class _Decide(APIView):
    required_scope = Scope.APPROVALS_REQUEST
    action_scopes = {"decide": Scope.APPROVALS_DECIDE}

    def initial(self, request, *args, **kwargs):
        self.action = "decide" if request.method == "POST" else None
        super().initial(request, *args, **kwargs)

    def get(self, request):
        return Response({"read": True})

    def post(self, request):
        return Response({"decided": True})


urlpatterns = [path("api/v1/wf", _Workflows.as_view()), path("api/v1/decide", _Decide.as_view())]


def test_key_without_the_scope_gets_403_for_reads_and_writes(tenant, key_client) -> None:
    client = key_client(tenant, [Scope.AUDIT])
    assert_problem(client.get("/api/v1/wf"), 403, "permission_denied")
    assert_problem(client.post("/api/v1/wf", {}, format="json"), 403, "permission_denied")


def test_key_with_the_scope_reads_and_writes(tenant, key_client) -> None:
    client = key_client(tenant, [Scope.WORKFLOWS])
    assert client.get("/api/v1/wf").status_code == 200
    assert client.post("/api/v1/wf", {}, format="json").status_code == 200


def test_viewer_reads_but_cannot_write(tenant, member_client) -> None:
    client = member_client(tenant, Role.VIEWER)
    assert client.get("/api/v1/wf").status_code == 200
    assert_problem(client.post("/api/v1/wf", {}, format="json"), 403, "permission_denied")


def test_reviewer_may_decide_but_not_write_workflows(tenant, member_client) -> None:
    client = member_client(tenant, Role.REVIEWER)
    assert client.post("/api/v1/decide", {}, format="json").status_code == 200
    assert_problem(client.post("/api/v1/wf", {}, format="json"), 403, "permission_denied")


def test_operator_may_do_everything(tenant, member_client) -> None:
    client = member_client(tenant, Role.OPERATOR)
    assert client.post("/api/v1/wf", {}, format="json").status_code == 200
    assert client.post("/api/v1/decide", {}, format="json").status_code == 200


def test_person_without_membership_gets_403(db, django_user_model) -> None:
    from rest_framework.test import APIClient

    user = django_user_model.objects.create_user("loner", password="pw-for-tests-123")
    client = APIClient()
    client.force_login(user)
    assert_problem(client.get("/api/v1/wf"), 403, "permission_denied")


def test_session_writes_need_csrf(tenant, db) -> None:
    from rest_framework.test import APIClient

    from tests.factories import MembershipFactory

    membership = MembershipFactory(tenant=tenant, role=Role.OPERATOR)
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(membership.user)
    assert_problem(client.post("/api/v1/wf", {}, format="json"), 403, "permission_denied")
