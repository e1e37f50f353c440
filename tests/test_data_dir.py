"""The suite keeps to its own folders: nothing it writes lands in the developer's ``var/`` (issue 18)."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[1]


def test_tests_write_into_their_own_data_dir_not_the_developers_var() -> None:
    data_dir = Path(settings.DATA_DIR)
    assert data_dir != (ROOT / "var").resolve()  # tests/settings.py picked a temporary folder (or CI's own)
    for path in (Path(settings.EMAIL_FILE_PATH), Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])):
        assert data_dir in path.parents, path
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):  # on PostgreSQL the test database is a name, not a file
        assert data_dir in Path(database.get("TEST", {}).get("NAME") or data_dir / "x").parents
