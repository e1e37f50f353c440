"""Fixtures for issue 15: the DEFAULT deciders policy (people only at HIGH/CRITICAL), people with sessions and
personal keys minted through the API, and a helper to ask for approvals at a chosen risk level."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from orchestrator.models import Role, Tenant
from tests.console.helpers import running_step
from tests.factories import MembershipFactory

# An HTTP POST is MEDIUM in the default policy, an e-mail HIGH, a desktop purchase on a checkout site CRITICAL.
MEDIUM_ACTION = {"tool": "http.request", "params": {"method": "POST", "url": "https://api.example.com/orders"}}
HIGH_ACTION = {"tool": "email.send", "params": {"to": "ceo@example.com", "subject": "numbers"}}
CRITICAL_ACTION = {"tool": "desktop.click", "params": {"verb": "buy", "url": "https://checkout.shop.example/cart"}}


@pytest.fixture(autouse=True)
def services_may_decide_every_level() -> None:
    """Off here: these tests run under the settings default (``HIGH``/``CRITICAL``: humans)."""


_key_numbers = itertools.count(1)


class Person:
    """A member with a signed-in session client (``session``) who can mint personal keys through the API."""

    def __init__(self, tenant: Tenant, role: str) -> None:
        self.tenant = tenant
        self.membership = MembershipFactory(tenant=tenant, role=role)
        self.user = self.membership.user
        self.session = APIClient()
        self.session.force_login(self.user)  # a sign-in: recent authentication for step-up

    def mint_key(self, scopes: list[str], *, personal: bool = True, **extra: Any) -> APIClient:
        """A client with a new key minted by this person (personal, or a service account's when operator)."""
        response = self.session.post(
            "/api/v1/api-keys",
            {"name": f"key-{next(_key_numbers)}", "scopes": scopes, "personal": personal, **extra},
            format="json",
        )
        assert response.status_code == 201, response.content
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['key']}")
        client.key_id = response.json()["id"]  # type: ignore[attr-defined]
        return client


@pytest.fixture
def person(tenant: Tenant) -> Callable[..., Person]:
    def make(role: str = Role.REVIEWER, in_tenant: Tenant | None = None) -> Person:
        return Person(in_tenant or tenant, role)

    return make


@pytest.fixture
def ask(tenant: Tenant) -> Callable[..., dict[str, Any]]:
    """``ask(client, action)``: a new running step and an approval request for ``action`` asked by ``client``."""

    def make(client: APIClient, action: dict[str, Any], *, in_tenant: Tenant | None = None) -> dict[str, Any]:
        run = running_step(in_tenant or tenant)
        response = client.post(
            "/api/v1/approvals/request", {"workflow_id": str(run.pk), "node_key": "send", **action}, format="json"
        )
        assert response.status_code == 201, response.content
        return response.json()

    return make
