"""The test lanes of ``make test``: which tests must run on one pytest-xdist worker, one after another.

``make test`` runs ``pytest -n 2 --dist loadgroup``. Under it:

* the **serial lane**: every test marked ``chaos`` or ``e2e`` (they start real web/worker/beat processes or private
  PostgreSQL/Redis servers, kill them, and wait on deadlines) is one work unit, run in order by one worker. Two
  such stacks never boot or race their deadlines at the same time, and the chaos stack (a session fixture) starts
  once. The other worker meanwhile runs the in-process tests;
* a test that uses a module- or class-scoped fixture of this suite (a Celery worker, a rendered chart) stays with
  the rest of its module, so that fixture starts once;
* a test with an explicit ``@pytest.mark.xdist_group(name)`` stays with its group (what ``loadgroup`` promises);
* everything else is handed out test by test to whichever worker is free.

Why a scheduler of our own: xdist's ``loadgroup`` tells the controller a test's group by appending ``@group`` to
its node id, which pytest 9.2's structured node ids silently ignore (pytest-xdist issue 1386): every group is
split. Here each worker writes the groups it collected to a file named in the environment by the controller, and
the controller's scheduler (xdist's own ``LoadScopeScheduling``, whose work units are these groups; largest first,
so the serial lane starts at once) reads it. With any other ``--dist`` mode nothing here applies.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

SERIAL_LANE_MARKERS = ("chaos", "e2e")
SERIAL_LANE = "lane:serial"
# Set by the controller (a fresh temporary folder); workers write ``groups-<worker>.json`` into it.
GROUPS_DIR_ENV = "ORCHESTRATOR_TEST_GROUPS_DIR"
# Appended (with a count) to the 2nd, 3rd, … test that has the same node id, inside the scheduler only.
DUPLICATE_MARK = " #"


def group_of(item: pytest.Item) -> str | None:
    """The work unit ``item`` belongs to under ``--dist loadgroup``, or None (any worker, test by test)."""
    explicit = sorted(str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
                      for mark in item.iter_markers("xdist_group"))  # fmt: skip
    if explicit:
        return "group:" + "_".join(explicit)
    if any(item.get_closest_marker(name) for name in SERIAL_LANE_MARKERS):
        return SERIAL_LANE
    fixtureinfo = getattr(item, "_fixtureinfo", None)
    if fixtureinfo is not None:
        for definitions in fixtureinfo.name2fixturedefs.values():
            for definition in definitions:
                ours = getattr(definition.func, "__module__", "").startswith("tests.")  # not pytest-django's
                if ours and definition.scope in ("module", "class"):
                    return "module:" + item.nodeid.split("::", 1)[0]
    return None


def write_groups(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In an xdist worker under ``--dist loadgroup``: write ``{node id: group}`` for the controller's scheduler.

    Side effect: one JSON file in the controller's folder (written to a temporary name, then renamed, so the
    controller never reads half a file). Does nothing outside such a worker.
    """
    folder = os.environ.get(GROUPS_DIR_ENV)
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not (folder and worker and getattr(config.option, "loadgroup", False)):
        return
    groups = {item.nodeid: group for item in items if (group := group_of(item)) is not None}
    target = Path(folder) / f"groups-{worker}.json"
    partial = target.with_suffix(".partial")
    partial.write_text(json.dumps(groups))
    partial.replace(target)


def make_scheduler(config: pytest.Config, log: Any) -> Any:
    """The controller's scheduler for ``--dist loadgroup`` (None for any other mode: xdist picks its own)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class LaneScheduling(LoadScopeScheduling):  # type: ignore[misc]
        """xdist's scope scheduling with the scopes from :func:`group_of` (collected by the workers)."""

        _groups: dict[str, str] | None = None

        def add_node_collection(self, node: Any, collection: Any) -> None:
            # LoadScopeScheduling keys its work by node id, so tests sharing one id (schemathesis gives all 54
            # operations of `test_api_operation_never_errors_and_matches_schema` the same id) would collapse into
            # one and the others never run. Number the repeats; the index of each test in the list is unchanged.
            seen: dict[str, int] = {}
            unique = []
            for nodeid in collection:
                count = seen[nodeid] = seen.get(nodeid, 0) + 1
                unique.append(nodeid if count == 1 else f"{nodeid}{DUPLICATE_MARK}{count}")
            super().add_node_collection(node, unique)

        def _split_scope(self, nodeid: str) -> str:
            if self._groups is None:
                self._groups = read_groups()
            nodeid = nodeid.split(DUPLICATE_MARK, 1)[0]
            if nodeid.rfind("@") > nodeid.rfind("]"):  # an xdist that still appends "@group" to node ids
                return "group:" + nodeid.split("@")[-1]
            return self._groups.get(nodeid, nodeid)

    return LaneScheduling(config, log)


def read_groups() -> dict[str, str]:
    """The groups one worker wrote (every worker collects the same tests; xdist checks that), or {}."""
    folder = os.environ.get(GROUPS_DIR_ENV)
    if not folder:
        return {}
    for path in sorted(Path(folder).glob("groups-*.json")):
        loaded: dict[str, str] = json.loads(path.read_text())
        return loaded
    return {}
