"""Fixtures for the deployment tests (no database needed)."""

from __future__ import annotations

import pytest

from tests.deploy.chart_tools import find_helm


@pytest.fixture(scope="session")
def helm_bin() -> str:
    found = find_helm()
    if found is None:
        pytest.skip(
            "helm binary not found (set HELM, put helm on PATH, or run .ci/deploy-checks once to fill "
            "/var/cache/orchestrator-ci/helm)"
        )
    return found
