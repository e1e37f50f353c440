"""Settings for the test suite: the project's own, with ``DATA_DIR`` in a temporary folder.

Tests must never write into the developer's ``var/`` (e-mails in ``outbox/``, metric files, the SQLite test
database, broker folders). ``DATA_DIR`` is read when the settings are imported, which pytest-django does before
any conftest runs, hence this module (``DJANGO_SETTINGS_MODULE`` in pyproject.toml). The variable is exported,
so processes the tests start (workers, ``manage.py run``) inherit the same folder unless a test passes its own.
A folder set explicitly (CI sets ``DATA_DIR``) is kept.

Under pytest-xdist (``make test`` runs two workers) each worker then moves to a ``DATA_DIR`` subfolder and a
private Redis of its own (``tests/worker_isolation.py``).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

if not os.environ.get("DATA_DIR"):
    _created = tempfile.mkdtemp(prefix="orchestrator-tests-")
    os.environ["DATA_DIR"] = _created
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)  # follow DATA_DIR, not a folder set for the dev server
    atexit.register(shutil.rmtree, _created, ignore_errors=True)

from tests.worker_isolation import isolate_xdist_worker

isolate_xdist_worker()

from orchestrator.settings import *  # noqa: E402, F403
