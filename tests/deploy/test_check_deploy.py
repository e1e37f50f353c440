"""``manage.py check --deploy`` with the environment the chart gives the pods in production.

The environment is taken from the rendered chart (values-production.yaml): the ConfigMap's data, the container's
ALLOWED_HOSTS (with a pod IP filled in) and the secrets the operator's Secret holds. Paths that are emptyDirs in
the cluster point to a temporary folder here.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

from tests.deploy.chart_tools import ROOT, render


def chart_production_env(helm_bin: str, tmp_path: Path, **overrides: str) -> dict[str, str]:
    rendered = render(helm_bin, values_files=["values-production.yaml"], with_secrets=False)
    assert rendered.returncode == 0, rendered.stderr
    env = dict(rendered.find("ConfigMap", "orch-bytebot-workflow-orchestrator")["data"])
    web = rendered.find("Deployment", "-web")["spec"]["template"]["spec"]["containers"][0]
    for item in web["env"]:
        if "value" in item:
            env[item["name"]] = item["value"].replace("$(POD_IP)", "10.1.2.3")
    env.update(
        {
            # What the operator's Secret (existingSecret) holds.
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DATABASE_URL": "postgres://orchestrator:pw@127.0.0.1:5432/orchestrator_check_deploy",
            "REDIS_URL": "redis://127.0.0.1:6379/6",
            "INTERNAL_SERVICE_TOKEN": secrets.token_urlsafe(32),
            "METRICS_TOKEN": secrets.token_urlsafe(32),
            "AUDIT_CHAIN_KEY": secrets.token_urlsafe(48),
            # emptyDirs in the cluster (and the audit anchor volume)
            "DATA_DIR": str(tmp_path / "data"),
            "AUDIT_ANCHOR_DIR": str(tmp_path / "audit-anchors"),
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        }
    )
    env.update(overrides)
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def issue_ids(output: str) -> set[str]:
    return set(re.findall(r"\(([\w.]+\.[WE]\d+)\)", output))


def test_production_chart_environment_passes_the_security_deploy_checks(helm_bin: str, tmp_path: Path) -> None:
    env = chart_production_env(helm_bin, tmp_path)
    assert env["PRODUCTION"] == "true" and env["TRUST_X_FORWARDED_PROTO"] == "true"
    result = manage(env, "check", "--deploy", "--tag", "security", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_chart_environment_passes_check_deploy_at_warning_level(helm_bin: str, tmp_path: Path) -> None:
    """The full ``check --deploy --fail-level WARNING``, including drf-spectacular's schema checks."""
    env = chart_production_env(helm_bin, tmp_path)
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_fails_without_the_production_settings(helm_bin: str, tmp_path: Path) -> None:
    """The check has teeth: the same environment without PRODUCTION=true misses cookies, HSTS and redirects."""
    env = chart_production_env(helm_bin, tmp_path, PRODUCTION="false")
    result = manage(env, "check", "--deploy", "--tag", "security", "--fail-level", "WARNING")
    assert result.returncode != 0
    assert {"security.W004", "security.W008", "security.W012", "security.W016"} <= issue_ids(result.stderr)


def test_production_refuses_to_start_without_a_secret_key(helm_bin: str, tmp_path: Path) -> None:
    env = chart_production_env(helm_bin, tmp_path)
    del env["SECRET_KEY"]
    result = manage(env, "check")
    assert result.returncode != 0
    assert "SECRET_KEY: required when PRODUCTION=true" in result.stderr


def test_static_files_are_served_from_an_overridden_static_root(helm_bin: str, tmp_path: Path) -> None:
    """The image collects static files into STATIC_ROOT at build time, outside the DATA_DIR emptyDir."""
    static_root = tmp_path / "staticfiles"
    env = chart_production_env(helm_bin, tmp_path, STATIC_ROOT=str(static_root))
    result = manage(env, "collectstatic", "--noinput", "--verbosity", "0")
    assert result.returncode == 0, result.stderr
    assert any(static_root.rglob("*.css")), "collectstatic wrote nothing into STATIC_ROOT"
    assert not (tmp_path / "data" / "static").exists() or not any((tmp_path / "data" / "static").iterdir())
