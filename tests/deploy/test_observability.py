"""The chart's alerts and dashboard (issue 23): each alert has a promtool unit test and a runbook, the chart ships
both files verbatim, and every metric they use exists in a real scrape of ``/api/v1/metrics``."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from rest_framework.test import APIClient

from tests.deploy.chart_tools import CHART, ROOT, render

RULES = CHART / "files" / "prometheus-rules.yaml"
RULE_TESTS = CHART / "files" / "prometheus-rules.test.yaml"
DASHBOARD = CHART / "files" / "grafana-dashboard.json"
RUNBOOKS = ROOT / "docs" / "deploying.md"

# PromQL words that are not metric names (functions are recognised by the "(" that follows them).
_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset"}


def alerts() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def dashboard_exprs() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [target["expr"] for panel in panels for target in panel["targets"]]


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (label matchers, grouping labels and ranges removed)."""
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    names = set()
    for match in re.finditer(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b(?!\s*\()", expr):
        word = match.group(0)
        if word not in _KEYWORDS and not re.fullmatch(r"\d+[smhdwy]?", word):
            names.add(word)
    return names


def test_metric_names_are_extracted_from_promql() -> None:
    assert metric_names('sum by (status) (rate(http_total{status=~"5.."}[5m])) / max(b) > 0.05') == {
        "http_total",
        "b",
    }
    assert metric_names("(time() - max(x_seconds) > 120) or absent(x_seconds)") == {"x_seconds"}


def test_every_alert_has_a_promtool_test_a_runbook_and_a_severity() -> None:
    tests = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    tested = {case["alertname"] for test in tests for case in test["alert_rule_test"] if case.get("exp_alerts")}
    headings = {
        re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in RUNBOOKS.read_text().splitlines()
        if line.startswith("#")
    }
    names = [rule["alert"] for rule in alerts()]
    assert len(names) == len(set(names)) >= 9
    for rule in alerts():
        assert rule["alert"] in tested, f"{rule['alert']}: no promtool test expects it to fire"
        assert rule["labels"]["severity"] in {"warning", "critical"}
        anchor = rule["annotations"]["runbook_url"].split("#", 1)[1]
        assert anchor == rule["alert"].lower()
        assert anchor in headings, f"docs/deploying.md has no runbook section '{rule['alert']}'"


@pytest.mark.django_db
def test_every_metric_used_by_alerts_and_the_dashboard_is_in_a_real_scrape(api: APIClient) -> None:
    """Scrape after the traffic any deployment has (a request, a workflow created): the names must be there."""
    created = api.post(
        "/api/v1/workflows",
        {"name": "scrape", "nodes": [{"key": "a", "type": "TASK", "action": {"tool": "noop", "params": {}}}]},
        format="json",
    )
    assert created.status_code == 201, created.content
    APIClient().get("/api/v1/metrics")  # the first scrape's own response is counted by the second
    scrape = APIClient().get("/api/v1/metrics")
    assert scrape.status_code == 200
    text = scrape.content.decode()
    exposed = set(re.findall(r"^# TYPE (\S+) ", text, re.MULTILINE)) | set(
        re.findall(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{| )", text, re.MULTILINE)
    )
    used = {name for rule in alerts() for name in metric_names(rule["expr"])}
    used |= {name for expr in dashboard_exprs() for name in metric_names(expr)}
    assert {"approvals_oldest_pending_age_seconds", "worker_last_heartbeat_timestamp_seconds"} <= used
    missing = sorted(used - exposed)
    assert not missing, f"alerts/dashboard use metrics the service does not expose: {missing}"


def test_the_chart_ships_the_rules_and_the_dashboard_verbatim(helm_bin: str) -> None:
    off = render(helm_bin)
    assert off.returncode == 0, off.stderr
    assert not off.all("PrometheusRule")
    assert not [c for c in off.all("ConfigMap") if c["metadata"]["name"].endswith("-dashboard")]
    on = render(
        helm_bin,
        sets={"metrics.prometheusRule.labels.release": "kube-prometheus-stack"},
        extra=["--set", "metrics.prometheusRule.enabled=true", "--set", "metrics.grafanaDashboard.enabled=true"],
    )
    assert on.returncode == 0, on.stderr
    rule = on.find("PrometheusRule")
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert rule["spec"] == yaml.safe_load(RULES.read_text())
    board = on.find("ConfigMap", "-dashboard")
    assert board["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(board["data"]["bytebot-workflow-orchestrator.json"]) == json.loads(DASHBOARD.read_text())
