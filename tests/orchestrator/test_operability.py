"""Health probes, start-up validation of settings, metrics across processes, management commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.test import Client

from orchestrator.models import ApiKey, Membership, Tenant
from tests.conftest import assert_problem

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter with Django configured from ``env`` (added to ours)."""
    full_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "orchestrator.settings", **env}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=timeout
    )


def test_live_needs_no_dependencies() -> None:
    response = Client().get("/api/v1/health/live")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_ready_when_database_and_broker_answer() -> None:
    response = Client().get("/api/v1/health/ready")
    assert response.status_code == 200, response.content
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}


def test_ready_is_503_naming_the_broker_when_it_is_unreachable(settings) -> None:
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    body = assert_problem(Client().get("/api/v1/health/ready"), 503, "not_ready")
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("unreachable")
    assert "broker" in body["detail"]


def test_ready_is_503_naming_the_database_when_it_is_unreachable(tmp_path) -> None:
    code = (
        "import django, json; django.setup()\n"
        "from django.test import Client\n"
        "r = Client().get('/api/v1/health/ready')\n"
        "print(r.status_code); print(r.content.decode())\n"
    )
    result = run_python(code, {"DATABASE_URL": "postgres://postgres@127.0.0.1:1/nowhere", "DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    status, body = result.stdout.strip().splitlines()[-2:]
    assert status == "503"
    assert '"database": "unreachable' in body and '"code": "not_ready"' in body


def test_ready_is_503_when_migrations_are_missing(tmp_path) -> None:
    code = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "r = Client().get('/api/v1/health/ready'); print(r.status_code); print(r.content.decode())\n"
    )
    result = run_python(code, {"DATABASE_URL": f"sqlite:///{tmp_path}/empty.sqlite3", "DATA_DIR": str(tmp_path)})
    status, body = result.stdout.strip().splitlines()[-2:]
    assert status == "503" and "not applied" in body


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SCHEDULER_BATCH_SIZE", "lots"),
        ("SCHEDULER_ENABLED", "perhaps"),
        ("EXECUTOR_BACKEND", "quantum"),
        ("DATABASE_URL", "mysql://x"),
        ("WEBHOOK_TIMEOUT_MS", "-5"),
        ("CONSOLE_BASE_URL", "localhost:8000"),
    ],
)
def test_bad_setting_stops_startup_naming_the_variable(name: str, value: str, tmp_path) -> None:
    result = run_python("import django; django.setup()", {name: value, "DATA_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and name in result.stderr


def test_secret_can_come_from_a_file(tmp_path) -> None:
    secret_file = tmp_path / "metrics-token"
    secret_file.write_text("from-a-file\n")
    result = run_python(
        "import django; django.setup(); from django.conf import settings; print(settings.METRICS_TOKEN)",
        {"METRICS_TOKEN_FILE": str(secret_file), "DATA_DIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "from-a-file"


def test_production_refuses_the_development_secret_key(tmp_path) -> None:
    result = run_python("import django; django.setup()", {"PRODUCTION": "true", "DATA_DIR": str(tmp_path)})
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


def test_counters_from_two_processes_add_up_in_one_scrape(tmp_path, monkeypatch) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    code = (
        "import django; django.setup()\n"
        "from orchestrator import metrics\n"
        "metrics.idempotency_checks_total.labels(result='replay').inc(3)\n"
    )
    for _ in range(2):
        result = run_python(code, {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "DATA_DIR": str(tmp_path)})
        assert result.returncode == 0, result.stderr
    assert len(list(metrics_dir.glob("counter_*.db"))) == 2  # one file per process
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
    text = Client().get("/api/v1/metrics").content.decode()
    assert 'idempotency_checks_total{result="replay"} 6.0' in text


def test_metrics_token_is_required_when_set(settings) -> None:
    settings.METRICS_TOKEN = "s3cret"
    assert_problem(Client().get("/api/v1/metrics"), 401, "not_authenticated")
    assert Client().get("/api/v1/metrics", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 200


def test_schema_and_docs_are_served_offline() -> None:
    schema = Client().get("/api/v1/schema/")
    assert schema.status_code == 200 and b"openapi" in schema.content
    docs = Client().get("/api/v1/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower() and b"/static/drf_spectacular_sidecar/" in docs.content


def test_create_tenant_is_safe_to_run_twice(capsys) -> None:
    call_command("create_tenant", "acme")
    call_command("create_tenant", "acme")
    assert Tenant.objects.filter(slug="acme").count() == 1
    assert "Exists tenant acme" in capsys.readouterr().out


def test_create_api_key_prints_the_key_alone_on_the_last_line(capsys) -> None:
    call_command("create_tenant", "acme")
    call_command("create_api_key", "--tenant", "acme", "--name", "ci", "--scopes", "workflows,audit")
    last_line = capsys.readouterr().out.strip().splitlines()[-1]
    api_key = ApiKey.objects.get(name="ci")
    assert last_line.startswith(f"wfo_{api_key.prefix}_") and " " not in last_line
    assert api_key.scopes == ["audit", "workflows"]


def test_create_api_key_refuses_unknown_scope_and_tenant() -> None:
    from django.core.management.base import CommandError

    call_command("create_tenant", "acme")
    with pytest.raises(CommandError, match="Unknown scope"):
        call_command("create_api_key", "--tenant", "acme", "--name", "ci", "--scopes", "root")
    with pytest.raises(CommandError, match="No tenant"):
        call_command("create_api_key", "--tenant", "nope", "--name", "ci", "--scopes", "audit")


def test_bootstrap_demo_is_safe_to_run_twice(capsys, tmp_path) -> None:
    key_file = tmp_path / "key"
    call_command("bootstrap_demo", "--key-file", str(key_file))
    first = capsys.readouterr().out
    call_command("bootstrap_demo")
    second = capsys.readouterr().out
    assert ApiKey.objects.filter(name="demo").count() == 1
    assert Membership.objects.filter(tenant__slug="demo").count() == 3
    raw = key_file.read_text().strip()
    assert raw in first and raw not in second
    assert "already exists" in second
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert django_settings.DATA_DIR.exists()
