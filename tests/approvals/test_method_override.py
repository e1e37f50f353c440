"""Issue 16: ``http.request`` risk sees the effective method, method overrides included (headers in any case,
``_method`` in the query or the body), and the reviewer's summary says what is really sent."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from hypothesis import given
from hypothesis import strategies as st

from approvals.policy import assess_node_action, classify, policy_for_tenant
from approvals.preview import summarize
from orchestrator.lib.httpmethods import effective_method, requested_methods

URL = "https://api.example.com/items/7"

OVERRIDES: list[tuple[str, dict[str, Any], str]] = [
    ("X-HTTP-Method-Override", {"headers": {"X-HTTP-Method-Override": "DELETE"}}, "DELETE"),
    ("lower-case header", {"headers": {"x-http-method-override": "delete"}}, "DELETE"),
    ("mixed-case header, padded", {"headers": {"X-Http-Method-OVERRIDE ": " Put "}}, "PUT"),
    ("X-Method-Override", {"headers": {"X-Method-Override": "PATCH"}}, "PATCH"),
    ("X-HTTP-Method", {"headers": {"X-HTTP-Method": "POST"}}, "POST"),
    ("_method in the query", {"url": URL + "?page=2&_method=DELETE"}, "DELETE"),
    ("_METHOD in the query", {"url": URL + "?_METHOD=put"}, "PUT"),
    ("_method in a JSON body", {"json": {"_method": "DELETE", "id": 7}}, "DELETE"),
    ("_method in a form body", {"json": "id=7&_method=PATCH"}, "PATCH"),
    ("unknown method tunnelled", {"headers": {"X-HTTP-Method-Override": "PURGE"}}, "PURGE"),
]


def params(extra: dict[str, Any], method: str = "GET") -> dict[str, Any]:
    return {"method": method, "url": URL, **extra}


@pytest.mark.parametrize(("extra", "tunnelled"), [c[1:] for c in OVERRIDES], ids=[c[0] for c in OVERRIDES])
def test_a_safe_method_tunnelling_another_is_assessed_as_the_other(extra: dict[str, Any], tunnelled: str) -> None:
    result = classify(settings.APPROVAL_RISK_POLICY, tool="http.request", params=params(extra))
    assert (result.level, result.requires_approval) == ("MEDIUM", True)
    assert any(tunnelled in reason and "via" in reason for reason in result.reasons), result.reasons
    assert effective_method(params(extra)).name == tunnelled


@pytest.mark.parametrize(
    "extra",
    [
        {"headers": {"X-HTTP-Method-Override": "GET"}},
        {"headers": {"X-HTTP-Method-Override": ""}},  # empty: ignored
        {"headers": {"X-Other": "DELETE"}},
        {"url": URL + "?method=DELETE"},
        {"json": {"method": "DELETE", "nested": {"_method": "DELETE"}}},
        {"json": ["_method", "DELETE"]},
    ],
)
def test_what_is_not_an_override_leaves_a_get_low(extra: dict[str, Any]) -> None:
    result = classify(settings.APPROVAL_RISK_POLICY, tool="http.request", params=params(extra))
    assert (result.level, result.requires_approval) == ("LOW", False), result.reasons


def test_a_non_string_override_is_an_unrecognised_method() -> None:
    result = classify(
        settings.APPROVAL_RISK_POLICY, tool="http.request", params=params({"json": {"_method": ["DELETE"]}})
    )
    assert (
        result.requires_approval and "unrecognised HTTP method ['DELETE'] (via _method in the body)" in result.reasons
    )


def test_every_requested_method_counts_not_only_the_first() -> None:
    both = params({"headers": {"X-HTTP-Method-Override": "GET"}, "json": {"_method": "DELETE"}})
    assert [m.name for m in requested_methods(both)] == ["GET", "GET", "DELETE"]
    assert classify(settings.APPROVAL_RISK_POLICY, tool="http.request", params=both).requires_approval


def test_the_scheduler_assessment_of_a_node_sees_the_override() -> None:
    config = {"action": {"tool": "http.request", "params": params({"headers": {"X-HTTP-Method": "DELETE"}})}}
    assessment = assess_node_action(policy_for_tenant(None), tenant_id=None, run_id=None, node_key="k", config=config)
    assert assessment.requires_approval


def test_the_reviewer_summary_names_the_tunnelled_method() -> None:
    tunnelled = params({"headers": {"X-HTTP-Method-Override": "DELETE"}})
    assert summarize("http.request", tunnelled) == f"DELETE (sent as GET with the X-HTTP-Method-Override header) {URL}"
    assert summarize("http.request", params({})) == f"GET {URL}"


@given(
    headers=st.dictionaries(st.text(max_size=30), st.one_of(st.text(max_size=20), st.integers(), st.none())),
    body=st.one_of(st.none(), st.text(max_size=60), st.dictionaries(st.text(max_size=10), st.text(max_size=10))),
    url=st.text(max_size=80),
)
def test_never_raises_on_odd_params(headers: dict[str, Any], body: Any, url: str) -> None:
    odd = {"method": "GET", "url": url, "headers": headers, "json": body}
    requested_methods(odd)
    classify(settings.APPROVAL_RISK_POLICY, tool="http.request", params=odd)
    summarize("http.request", odd)
