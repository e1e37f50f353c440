"""The declarative risk policy (SPEC §6.2): an action (tool + params) → a level, reasons, and what approval it needs.

A registered tool declares its default risk in its ``@tool(...)`` descriptor (``orchestrator.lib.tools``; no
declared risk counts as MEDIUM); the policy's ``tools`` table (an exact name, else the matching patterns) overrides
it, and the ``http``, ``delete`` and ``desktop`` rules can only raise it. No ORM. The policy is a dict
(``settings.APPROVAL_RISK_POLICY``, shape documented in
``docs/decisions.md``) that a tenant's ``risk_policy`` JSON is merged over (dicts merge key by key, everything else
replaces). Classification never raises: malformed input (a URL without a scheme, a number where a string belongs, a
broken tenant override) is classified with what can be understood, and unknown values fall back to the defaults.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from orchestrator.lib.httpmethods import requested_methods
from orchestrator.lib.tools import RISK_LEVELS, get_tool

from .hashing import action_hash

LEVELS: tuple[str, ...] = RISK_LEVELS
_RANK = {level: rank for rank, level in enumerate(LEVELS)}
_TOKEN_RE = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class RiskAssessment:
    """What the policy says about one action."""

    level: str
    reasons: list[str] = field(default_factory=list)
    requires_approval: bool = False
    required_approvers: int = 1


def merge_policy(base: Mapping[str, Any], override: Any) -> dict[str, Any]:
    """``base`` with ``override`` merged over it: nested dicts merge, other values replace; junk is ignored."""
    merged: dict[str, Any] = dict(base)
    if not isinstance(override, Mapping):
        return merged
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_policy(merged[key], value)
        else:
            merged[key] = value
    return merged


def _level(value: Any, default: str = "LOW") -> str:
    text = str(value).upper() if value is not None else ""
    return text if text in _RANK else default


def _max(a: str, b: str) -> str:
    return a if _RANK[a] >= _RANK[b] else b


def _tokens(value: Any) -> list[str]:
    return _TOKEN_RE.findall(str(value).lower()) if value is not None else []


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if isinstance(v, (str, int, float))]
    return []


def host_of(url: Any) -> str:
    """The lower-case host of ``url``; a URL without a scheme (``shop.example/pay``) still yields its host."""
    if not isinstance(url, str) or not url.strip():
        return ""
    text = url.strip()
    try:
        parts = urlsplit(text if "//" in text else f"//{text}")
        return (parts.hostname or "").lower()
    except ValueError:  # e.g. an invalid IPv6 literal
        return ""


def _tool_rules(policy: Mapping[str, Any], tool: str) -> list[tuple[str, str]]:
    """(level, reason) from the ``tools`` table: an exact name wins over patterns; patterns combine."""
    table = policy.get("tools")
    if not isinstance(table, Mapping):
        return []
    exact = table.get(tool)
    if isinstance(exact, Mapping):
        return [
            (
                _level(exact.get("level"), "MEDIUM"),
                str(exact.get("reason") or f"{tool} is classified {exact.get('level')}"),
            )
        ]
    found = []
    for pattern, rule in table.items():
        if not isinstance(rule, Mapping) or not isinstance(pattern, str) or pattern == tool:
            continue
        if fnmatch.fnmatchcase(tool, pattern):
            found.append((_level(rule.get("level"), "MEDIUM"), str(rule.get("reason") or f"{tool} matches {pattern}")))
    return found


def _declared_rules(policy: Mapping[str, Any], tool: str) -> list[tuple[str, str]]:
    """The policy's ``tools`` table when it names ``tool``, else the risk the registered tool declares."""
    table = _tool_rules(policy, tool)
    if table:
        return table
    declared = get_tool(tool)
    if declared is None:
        return []
    level, reasons = declared.declared_risk()
    return [(level, reason) for reason in reasons] or [(level, "")]


def _http_rules(policy: Mapping[str, Any], tool: str, params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every method the request asks for counts (``orchestrator.lib.httpmethods``): the declared one and the
    overrides a server may honour (``X-HTTP-Method-Override`` and kin, ``_method`` in the query or body), so a
    GET tunnelling a DELETE is assessed as the DELETE."""
    http = policy.get("http")
    if not isinstance(http, Mapping) or tool not in _strings(http.get("tools")):
        return []
    safe = {m.upper() for m in _strings(http.get("safe_methods"))}
    mutating = {m.upper() for m in _strings(http.get("mutating_methods"))}
    level = _level(http.get("mutating_level"), "MEDIUM")
    found: list[tuple[str, str]] = []
    for method in requested_methods(params):
        via = "" if method.source == "method" else f" (via {method.source})"
        if not method.valid:  # not a string: ``name`` is its repr
            found.append((level, f"unrecognised HTTP method {method.name}{via}"))
        elif method.name in safe:
            continue
        elif method.name in mutating:
            found.append((level, f"HTTP {method.name} changes remote state{via}"))
        else:
            found.append((level, f"unrecognised HTTP method {method.name!r}{via}"))
    return found


def _delete_rules(policy: Mapping[str, Any], tool: str) -> list[tuple[str, str]]:
    rule = policy.get("delete")
    if not isinstance(rule, Mapping):
        return []
    verbs = {v.lower() for v in _strings(rule.get("verbs"))}
    hit = sorted(verbs.intersection(_tokens(tool)))
    if not hit:
        return []
    return [(_level(rule.get("level"), "MEDIUM"), f"{tool} deletes things ({hit[0]})")]


def _desktop_rules(policy: Mapping[str, Any], tool: str, params: Mapping[str, Any]) -> list[tuple[str, str]]:
    desk = policy.get("desktop")
    if not isinstance(desk, Mapping):
        return []
    if not any(tool.startswith(prefix) for prefix in _strings(desk.get("tool_prefixes"))):
        return []
    verbs = {v.lower() for v in _strings(desk.get("risky_verbs"))}
    words = _tokens(tool.rsplit(".", 1)[-1])
    for key in _strings(desk.get("verb_params")):
        words.extend(_tokens(params.get(key)) if isinstance(params.get(key), (str, int, float)) else [])
    verb_hits = sorted(verbs.intersection(words))
    keywords = [k.lower() for k in _strings(desk.get("sensitive_host_keywords"))]
    host = ""
    for key in _strings(desk.get("url_params")):
        host = host_of(params.get(key))
        if host:
            break
    host_hits = [k for k in keywords if k and k in host]
    out: list[tuple[str, str]] = []
    if verb_hits and host_hits:
        out.append(
            (
                _level(desk.get("both_level"), "CRITICAL"),
                f"desktop action '{verb_hits[0]}' on a {host_hits[0]} site ({host})",
            )
        )
    elif verb_hits:
        out.append((_level(desk.get("verb_level"), "MEDIUM"), f"desktop action '{verb_hits[0]}'"))
    elif host_hits:
        out.append((_level(desk.get("host_level"), "HIGH"), f"desktop action on a {host_hits[0]} site ({host})"))
    return out


def classify(policy: Mapping[str, Any], *, tool: Any, params: Any, requires_approval: Any = False) -> RiskAssessment:
    """Classify an action. Never raises: odd types are coerced or ignored, unknown tools get ``default_level``."""
    tool_name = tool if isinstance(tool, str) else ("" if tool is None else str(tool))
    params_map: Mapping[str, Any] = params if isinstance(params, Mapping) else {}
    findings: list[tuple[str, str]] = []
    for rules in (
        _declared_rules(policy, tool_name),
        _http_rules(policy, tool_name, params_map),
        _delete_rules(policy, tool_name),
        _desktop_rules(policy, tool_name, params_map),
    ):
        findings.extend(rules)
    if not isinstance(params, (Mapping, type(None))):
        findings.append(("LOW", f"params of type {type(params).__name__} are not an object"))
    level = _level(policy.get("default_level"), "LOW")
    reasons: list[str] = []
    for found_level, reason in findings:
        level = _max(level, found_level)
        if reason and reason not in reasons:
            reasons.append(reason)
    threshold = _level(policy.get("approval_threshold"), "MEDIUM")
    needs = _RANK[level] >= _RANK[threshold]
    if requires_approval is True:
        needs = True
        reasons.append("the workflow marks this task requires_approval")
    approvers_table = policy.get("required_approvers")
    approvers = approvers_table.get(level, 1) if isinstance(approvers_table, Mapping) else 1
    if not isinstance(approvers, int) or isinstance(approvers, bool) or approvers < 1:
        approvers = 1
    return RiskAssessment(level=level, reasons=reasons, requires_approval=needs, required_approvers=min(approvers, 10))


def node_action(config: Any) -> tuple[Any, Any]:
    """``(tool, params)`` of a TASK node's ``config["action"]``, tolerant of malformed configs."""
    action = config.get("action") if isinstance(config, Mapping) else None
    if not isinstance(action, Mapping):
        return None, {}
    return action.get("tool"), action.get("params", {})


@dataclass
class ActionAssessment:
    """The risk of one TASK node's action, assessed once per attempt (when it is claimed) and handed along to the
    gate; ``digest`` is the action hash an approval binds to (computed only when asked for)."""

    tenant_id: Any
    run_id: Any
    node_key: str
    tool: Any
    params: Any
    risk: RiskAssessment

    @property
    def requires_approval(self) -> bool:
        return self.risk.requires_approval

    @cached_property
    def digest(self) -> str:
        return action_hash(
            tenant_id=self.tenant_id, run_id=self.run_id, node_key=self.node_key, tool=self.tool, params=self.params
        )


def assess_node_action(
    policy: Mapping[str, Any], *, tenant_id: Any, run_id: Any, node_key: str, config: Any
) -> ActionAssessment:
    """The one place a TASK node's action is classified: its tool and params by ``policy`` (the tenant's effective
    policy, ``policy_for_tenant``), with the node's ``requires_approval`` flag."""
    tool, params = node_action(config)
    requires = config.get("requires_approval", False) if isinstance(config, Mapping) else False
    risk = classify(policy, tool=tool, params=params, requires_approval=requires)
    return ActionAssessment(tenant_id=tenant_id, run_id=run_id, node_key=node_key, tool=tool, params=params, risk=risk)


def policy_for_tenant(tenant_policy: Any) -> dict[str, Any]:
    """The settings default with the tenant's override merged over it."""
    return merge_policy(settings.APPROVAL_RISK_POLICY, tenant_policy)
