"""Fixtures for issue 20: routing rules in settings, people in reviewer groups with e-mail addresses, and asking
for approvals over the API (a key of its own, so no person is the requester unless a test says so)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from orchestrator.models import Role, Scope, Tenant
from tests.console.helpers import running_step
from tests.principals.conftest import Person

MEDIUM_ACTION = {"tool": "http.request", "params": {"method": "POST", "url": "https://api.example.com/orders"}}
HIGH_ACTION = {"tool": "email.send", "params": {"to": "ceo@example.com", "subject": "numbers"}}

_numbers = itertools.count(1)


def rule(name: str = "orders", groups: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"name": name, "match": {"tools": ["http.*"]}, "groups": groups or ["finance"], **extra}


@pytest.fixture
def routing(settings: Any) -> Callable[..., None]:
    """``routing(rule(...), ..., **top_level)``: the settings routing with these rules."""

    def set_rules(*rules: dict[str, Any], **top: Any) -> None:
        settings.APPROVAL_ROUTING = {**settings.APPROVAL_ROUTING, "rules": list(rules), **top}

    return set_rules


@pytest.fixture
def reviewer_in(tenant: Tenant) -> Callable[..., Person]:
    """``reviewer_in("finance", ...)``: a signed-in reviewer (with an e-mail address) in those groups."""

    def make(*groups: str, role: str = Role.REVIEWER) -> Person:
        person = Person(tenant, role)
        person.user.email = f"reviewer{next(_numbers)}@example.com"
        person.user.save(update_fields=["email"])
        for name in groups:
            person.user.groups.add(Group.objects.get_or_create(name=name)[0])
        return person

    return make


@pytest.fixture
def requester(tenant: Tenant, key_client: Callable[..., APIClient]) -> APIClient:
    return key_client(tenant, [Scope.APPROVALS_REQUEST, Scope.WORKFLOWS])


@pytest.fixture
def ask(tenant: Tenant, requester: APIClient) -> Callable[..., dict[str, Any]]:
    """``ask(action, client=requester, run_name=..., tags=[...])``: a new running step and its approval request."""

    def make(action: dict[str, Any], client: APIClient | None = None, **run_fields: Any) -> dict[str, Any]:
        run = running_step(tenant)
        if run_fields:
            tags = run_fields.pop("tags", None)
            if tags is not None:
                run.metadata = {**(run.metadata or {}), "tags": tags}
            for name, value in run_fields.items():
                setattr(run, name, value)
            run.save()
        response = (client or requester).post(
            "/api/v1/approvals/request", {"workflow_id": str(run.pk), "node_key": "send", **action}, format="json"
        )
        assert response.status_code == 201, response.content
        return response.json()

    return make
