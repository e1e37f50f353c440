"""Safe by default (issue 23): no public bind with the development SECRET_KEY, in the image's command and in
``manage.py runserver``; the refusal names what to set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from orchestrator.lib.bindguard import UnsafeBind, check_binds, is_local_bind, runserver_address
from tests.deploy.chart_tools import ROOT

BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    ("address", "local"),
    [
        ("127.0.0.1:8000", True),
        ("127.0.0.5:8000", True),
        ("localhost:8000", True),
        ("[::1]:8000", True),
        ("unix:/run/orchestrator.sock", True),
        ("fd://3", True),
        ("0.0.0.0:8000", False),
        ("[::]:8000", False),
        ("10.1.2.3:8000", False),
        ("orchestrator.internal:8000", False),
        (":8000", False),
    ],
)
def test_local_binds(address: str, local: bool) -> None:
    assert is_local_bind(address) is local


@pytest.mark.parametrize(
    ("argv", "address"),
    [([], "127.0.0.1:8000"), (["8001"], "127.0.0.1:8001"), (["0:8000"], "0.0.0.0:8000"),
     (["--noreload", "0.0.0.0:9000"], "0.0.0.0:9000"), (["[::]:8000"], "[::]:8000")],
)  # fmt: skip
def test_runserver_address(argv: list[str], address: str) -> None:
    assert runserver_address(argv) == address


def test_only_the_development_key_on_a_public_address_is_refused() -> None:
    with override_settings(USING_DEVELOPMENT_SECRET_KEY=True, DEBUG=False):
        check_binds(["127.0.0.1:8000", "unix:/tmp/s"])
        with pytest.raises(UnsafeBind, match="Set SECRET_KEY"):
            check_binds(["127.0.0.1:8000", "0.0.0.0:8000"])
    with override_settings(USING_DEVELOPMENT_SECRET_KEY=True, DEBUG=True):
        check_binds(["0.0.0.0:8000"])
    with override_settings(USING_DEVELOPMENT_SECRET_KEY=False, DEBUG=False):
        check_binds(["0.0.0.0:8000"])


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "PRODUCTION"}}
    return env | {"DATA_DIR": str(tmp_path), "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")} | extra


def test_the_image_command_refuses_the_development_key_on_all_interfaces(tmp_path: Path) -> None:
    """The Dockerfile's CMD (gunicorn with the shared config on 0.0.0.0) exits 1 before binding, naming SECRET_KEY."""
    argv = [str(BIN / "gunicorn"), "orchestrator.wsgi:application", "--config", "python:orchestrator.gunicorn_conf",
            "--bind", "0.0.0.0:0"]  # fmt: skip
    result = subprocess.run(argv, cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stderr
    assert "Refusing to serve on 0.0.0.0:0 with the development SECRET_KEY" in result.stderr
    assert "Set SECRET_KEY to a random value" in result.stderr


def test_runserver_outside_debug_refuses_a_public_address(tmp_path: Path) -> None:
    argv = [sys.executable, "manage.py", "runserver", "--noreload", "0.0.0.0:0"]
    result = subprocess.run(argv, cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "Refusing to serve on 0.0.0.0:0" in result.stderr and "Set SECRET_KEY" in result.stderr
