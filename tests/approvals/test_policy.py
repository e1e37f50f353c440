"""The risk policy (SPEC §6.2) as a table: every default rule, malformed input, unknown tools, tenant overrides."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from hypothesis import given
from hypothesis import strategies as st

from approvals.policy import classify, host_of, merge_policy, policy_for_tenant

CASES: list[tuple[str, Any, Any, str, bool, int]] = [
    # (id, tool, params, level, requires_approval, approvers)
    ("email", "email.send", {"to": "a@b.c", "subject": "hi"}, "HIGH", True, 1),
    ("sms", "sms.send", {"to": "+4912345"}, "HIGH", True, 1),
    ("payment tool", "payments.charge", {"amount": 10}, "HIGH", True, 1),
    ("stripe payment", "stripe.payment_intent", {}, "HIGH", True, 1),
    ("bank transfer", "bank.transfer", {"iban": "DE00"}, "HIGH", True, 1),
    ("transfer tool", "transfer_funds", {}, "HIGH", True, 1),
    ("payout", "vendor.payout", {}, "HIGH", True, 1),
    ("http get", "http.request", {"method": "GET", "url": "https://example.com"}, "LOW", False, 1),
    ("http default get", "http.request", {"url": "https://example.com"}, "LOW", False, 1),
    ("http head lower-case", "http.request", {"method": "head", "url": "https://example.com"}, "LOW", False, 1),
    ("http post", "http.request", {"method": "POST", "url": "https://example.com"}, "MEDIUM", True, 1),
    ("http put", "http.request", {"method": "put", "url": "https://example.com"}, "MEDIUM", True, 1),
    ("http patch", "http.request", {"method": "PATCH"}, "MEDIUM", True, 1),
    ("http delete", "http.request", {"method": "DELETE", "url": "x"}, "MEDIUM", True, 1),
    ("http odd method", "http.request", {"method": "BREW"}, "MEDIUM", True, 1),
    ("http method not a string", "http.request", {"method": 42}, "MEDIUM", True, 1),
    ("http method null", "http.request", {"method": None}, "LOW", False, 1),
    ("delete file", "workspace.delete_file", {"path": "a.txt"}, "MEDIUM", True, 1),
    ("remove user", "users.remove", {}, "MEDIUM", True, 1),
    ("purge", "cache.purge", {}, "MEDIUM", True, 1),
    ("desktop click harmless", "desktop.click", {"x": 1, "y": 2}, "LOW", False, 1),
    ("desktop buy verb", "desktop.action", {"verb": "buy", "url": "https://shop.example.com"}, "MEDIUM", True, 1),
    ("desktop submit tool", "desktop.submit", {"url": "https://forms.example.com"}, "MEDIUM", True, 1),
    ("desktop confirm intent", "desktop.click", {"intent": "Confirm order"}, "MEDIUM", True, 1),
    ("desktop cancel", "desktop.action", {"action": "cancel"}, "MEDIUM", True, 1),
    ("desktop subscribe", "desktop.action", {"verb": "subscribe"}, "MEDIUM", True, 1),
    ("desktop payment host", "desktop.click", {"url": "https://payments.example.com/x"}, "HIGH", True, 1),
    ("desktop checkout host", "desktop.type", {"url": "https://checkout.shop.com"}, "HIGH", True, 1),
    ("desktop billing host", "desktop.scroll", {"url": "https://billing.example.com"}, "HIGH", True, 1),
    ("desktop bank host", "desktop.click", {"url": "https://mybank.example"}, "HIGH", True, 1),
    (
        "desktop pay on checkout",
        "desktop.action",
        {"verb": "pay", "url": "https://checkout.x.com"},
        "CRITICAL",
        True,
        2,
    ),
    ("desktop delete on bank", "desktop.delete", {"url": "https://bank.example.com"}, "CRITICAL", True, 2),
    (
        "desktop purchase url without scheme",
        "desktop.action",
        {"verb": "purchase", "url": "checkout.x.com/p"},
        "CRITICAL",
        True,
        2,
    ),
    ("url host only", "desktop.click", {"host": "billing.acme.io"}, "HIGH", True, 1),
    ("malformed url", "desktop.click", {"url": "http://[::1"}, "LOW", False, 1),
    ("url not a string", "desktop.click", {"url": ["https://bank.example"]}, "LOW", False, 1),
    ("verb not a string", "desktop.action", {"verb": {"x": "buy"}}, "LOW", False, 1),
    ("noop", "noop", {}, "LOW", False, 1),
    ("echo", "echo", {"a": 1}, "LOW", False, 1),
    ("unknown tool", "weather.lookup", {"city": "Berlin"}, "LOW", False, 1),
    ("empty tool", "", {}, "LOW", False, 1),
    ("tool not a string", 12345, {}, "LOW", False, 1),
    ("tool none", None, None, "LOW", False, 1),
    ("params a list", "email.send", ["to", "x"], "HIGH", True, 1),
    ("params a string", "http.request", "POST https://x", "LOW", False, 1),
]


@pytest.mark.parametrize(
    ("tool", "params", "level", "needs", "approvers"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_default_policy_classifies(tool: Any, params: Any, level: str, needs: bool, approvers: int) -> None:
    result = classify(settings.APPROVAL_RISK_POLICY, tool=tool, params=params)
    assert (result.level, result.requires_approval, result.required_approvers) == (level, needs, approvers)
    if level != "LOW":
        assert result.reasons, "a risky action says why"


def test_requires_approval_flag_forces_approval_of_a_low_risk_task() -> None:
    result = classify(settings.APPROVAL_RISK_POLICY, tool="noop", params={}, requires_approval=True)
    assert result.requires_approval is True
    assert "requires_approval" in result.reasons[-1]


def test_requires_approval_must_be_true_not_truthy() -> None:
    assert (
        classify(settings.APPROVAL_RISK_POLICY, tool="noop", params={}, requires_approval="yes").requires_approval
        is False
    )


TENANT_CASES: list[tuple[str, Any, Any, Any, str, bool, int]] = [
    ("downgrade email", {"tools": {"email.send": {"level": "LOW"}}}, "email.send", {}, "LOW", False, 1),
    ("upgrade a custom tool", {"tools": {"crm.update": {"level": "CRITICAL"}}}, "crm.update", {}, "CRITICAL", True, 2),
    ("threshold HIGH", {"approval_threshold": "HIGH"}, "http.request", {"method": "POST"}, "MEDIUM", False, 1),
    ("threshold LOW", {"approval_threshold": "LOW"}, "noop", {}, "LOW", True, 1),
    ("quorum 3 for HIGH", {"required_approvers": {"HIGH": 3}}, "email.send", {}, "HIGH", True, 3),
    ("unknown tools MEDIUM", {"default_level": "MEDIUM"}, "weather.lookup", {}, "MEDIUM", True, 1),
    (
        "extra host keyword",
        {"desktop": {"sensitive_host_keywords": ["crypto"]}},
        "desktop.click",
        {"url": "https://crypto.ex"},
        "HIGH",
        True,
        1,
    ),
    ("bad override ignored", "not a dict", "email.send", {}, "HIGH", True, 1),
    ("bad level in rule is MEDIUM", {"tools": {"email.send": {"level": "SUPER"}}}, "email.send", {}, "MEDIUM", True, 1),
    ("bad approvers fall back to 1", {"required_approvers": {"HIGH": "two"}}, "email.send", {}, "HIGH", True, 1),
    ("bad threshold falls back", {"approval_threshold": 7}, "http.request", {"method": "POST"}, "MEDIUM", True, 1),
    (
        "broken sections ignored",
        {"http": [], "desktop": 3, "delete": None, "tools": []},
        "http.request",
        {"method": "POST"},
        "LOW",
        False,
        1,
    ),
]


@pytest.mark.parametrize(
    ("override", "tool", "params", "level", "needs", "approvers"),
    [case[1:] for case in TENANT_CASES],
    ids=[case[0] for case in TENANT_CASES],
)
def test_tenant_override_is_merged_over_defaults(
    override: Any, tool: str, params: Any, level: str, needs: bool, approvers: int
) -> None:
    result = classify(policy_for_tenant(override), tool=tool, params=params)
    assert (result.level, result.requires_approval, result.required_approvers) == (level, needs, approvers)


def test_override_does_not_change_the_settings_default() -> None:
    before = repr(settings.APPROVAL_RISK_POLICY)
    merge_policy(settings.APPROVAL_RISK_POLICY, {"tools": {"email.send": {"level": "LOW"}}})
    assert repr(settings.APPROVAL_RISK_POLICY) == before


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://Pay.Example.com:8443/x", "pay.example.com"),
        ("checkout.example.com/cart", "checkout.example.com"),
        ("//bank.example", "bank.example"),
        ("", ""),
        ("http://[::1", ""),
        (None, ""),
        (3.5, ""),
    ],
)
def test_host_of_tolerates_odd_urls(url: Any, host: str) -> None:
    assert host_of(url) == host


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@given(
    tool=st.one_of(
        st.text(max_size=30), st.sampled_from(["http.request", "desktop.action", "email.send"]), json_values
    ),
    params=st.one_of(
        json_values, st.dictionaries(st.sampled_from(["method", "url", "verb", "host", "action"]), json_values)
    ),
    override=st.one_of(
        json_values,
        st.dictionaries(
            st.sampled_from(["tools", "http", "desktop", "required_approvers", "approval_threshold", "default_level"]),
            json_values,
        ),
    ),
)
def test_classification_never_crashes(tool: Any, params: Any, override: Any) -> None:
    result = classify(policy_for_tenant(override), tool=tool, params=params)
    assert result.level in ("LOW", "MEDIUM", "HIGH", "CRITICAL")
    assert 1 <= result.required_approvers <= 10
