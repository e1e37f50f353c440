"""workspace.write_file / workspace.read_file: inside the folder only, atomic, and fenced."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone

from orchestrator.lib.errors import InvalidInput, InvalidStateError
from workspaces import locks, services, tools
from workspaces.errors import FileTooLarge, PathNotAllowed, StaleFencingToken, WorkspaceFileNotFound, WorkspaceNotReady
from workspaces.models import Workspace
from workspaces.providers import workspace_folder

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(make_workspace, tenant):
    """A READY workspace and a live lease on it: ``(workspace, token)``."""
    workspace = make_workspace(tenant)
    grant = locks.acquire_lock(workspace_id=workspace.pk, owner="task", lease_seconds=300)
    return workspace, grant.fencing_token


def test_write_then_read_round_trips_text_in_nested_folders(held) -> None:
    workspace, token = held
    written = tools.write_file(
        workspace_id=workspace.pk, path="reports/q3/summary.txt", content="héllo", fencing_token=token
    )
    assert written == {"path": "reports/q3/summary.txt", "bytes": 6}
    assert (workspace_folder(workspace.pk) / "reports/q3/summary.txt").read_text(encoding="utf-8") == "héllo"
    read = tools.read_file(workspace_id=workspace.pk, path="reports/q3/summary.txt", fencing_token=token)
    assert read == {"path": "reports/q3/summary.txt", "content": "héllo", "bytes": 6}


def test_write_replaces_atomically_and_leaves_no_temporary_files(held) -> None:
    workspace, token = held
    tools.write_file(workspace_id=workspace.pk, path="a.txt", content="one", fencing_token=token)
    tools.write_file(workspace_id=workspace.pk, path="./a.txt", content="two", fencing_token=token)
    assert sorted(os.listdir(workspace_folder(workspace.pk))) == ["a.txt"]
    assert tools.read_file(workspace_id=workspace.pk, path="a.txt")["content"] == "two"


def test_refused_write_leaves_the_old_content_and_no_temporary_file(held) -> None:
    workspace, token = held
    tools.write_file(workspace_id=workspace.pk, path="a.txt", content="kept", fencing_token=token)
    locks.release_lock(workspace_id=workspace.pk, owner="task")
    with pytest.raises(StaleFencingToken):
        tools.write_file(workspace_id=workspace.pk, path="a.txt", content="lost", fencing_token=token)
    assert os.listdir(workspace_folder(workspace.pk)) == ["a.txt"]
    assert (workspace_folder(workspace.pk) / "a.txt").read_text() == "kept"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("../escape.txt", "escapes the workspace"),
        ("a/../../escape.txt", "escapes the workspace"),
        ("a/../b.txt", "escapes the workspace"),  # any '..' is refused, even one that would stay inside
        ("..\\escape.txt", "escapes the workspace"),
        ("/etc/passwd", "Absolute paths are not allowed"),
        ("\\\\server\\share", "Absolute paths are not allowed"),
        ("", "non-empty"),
        (".", "workspace folder itself"),
        ("a\x00b", "NUL"),
    ],
)
def test_paths_escaping_the_folder_are_refused_with_a_clear_error(held, data_dir, path, message) -> None:
    workspace, token = held
    for call in (
        lambda: tools.write_file(workspace_id=workspace.pk, path=path, content="x", fencing_token=token),
        lambda: tools.read_file(workspace_id=workspace.pk, path=path),
    ):
        with pytest.raises(PathNotAllowed) as caught:
            call()
        assert caught.value.code == "path_not_allowed" and caught.value.status == 400
        assert message in caught.value.detail
    assert not (data_dir / "workspaces" / "escape.txt").exists()


def test_symlinked_folder_pointing_outside_is_refused(held, tmp_path: Path) -> None:
    workspace, token = held
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    os.symlink(outside, workspace_folder(workspace.pk) / "link")
    with pytest.raises(PathNotAllowed, match="outside the workspace"):
        tools.read_file(workspace_id=workspace.pk, path="link/secret.txt")
    with pytest.raises(PathNotAllowed, match="outside the workspace"):
        tools.write_file(workspace_id=workspace.pk, path="link/new.txt", content="x", fencing_token=token)
    assert sorted(os.listdir(outside)) == ["secret.txt"]


def test_symlinked_file_pointing_outside_is_refused(held, tmp_path: Path) -> None:
    workspace, token = held
    target = tmp_path / "victim.txt"
    target.write_text("original")
    os.symlink(target, workspace_folder(workspace.pk) / "innocent.txt")
    with pytest.raises(PathNotAllowed):
        tools.write_file(workspace_id=workspace.pk, path="innocent.txt", content="pwned", fencing_token=token)
    with pytest.raises(PathNotAllowed):
        tools.read_file(workspace_id=workspace.pk, path="innocent.txt")
    assert target.read_text() == "original"


def test_symlink_that_stays_inside_is_followed(held) -> None:
    workspace, token = held
    root = workspace_folder(workspace.pk)
    (root / "real").mkdir()
    os.symlink(root / "real", root / "alias")
    tools.write_file(workspace_id=workspace.pk, path="alias/f.txt", content="ok", fencing_token=token)
    assert (root / "real" / "f.txt").read_text() == "ok"


def test_write_without_a_live_lease_is_a_stale_token(make_workspace, tenant) -> None:
    workspace = make_workspace(tenant)
    with pytest.raises(StaleFencingToken, match="no live lease"):
        tools.write_file(workspace_id=workspace.pk, path="a.txt", content="x", fencing_token=0)


def test_write_with_a_wrong_token_is_refused(held) -> None:
    workspace, token = held
    with pytest.raises(StaleFencingToken):
        tools.write_file(workspace_id=workspace.pk, path="a.txt", content="x", fencing_token=token + 1)


def test_write_after_the_lease_expired_is_refused_even_before_a_takeover(held) -> None:
    workspace, token = held
    with time_machine.travel(timezone.now() + timedelta(seconds=301)), pytest.raises(StaleFencingToken):
        tools.write_file(workspace_id=workspace.pk, path="a.txt", content="x", fencing_token=token)


@pytest.mark.parametrize("token", [None, "1", True, 1.0])
def test_write_needs_an_integer_token(held, token) -> None:
    workspace, _ = held
    with pytest.raises(InvalidInput):
        tools.write_file(workspace_id=workspace.pk, path="a.txt", content="x", fencing_token=token)


def test_read_with_a_stale_token_is_refused_but_reading_without_one_is_allowed(held) -> None:
    workspace, token = held
    tools.write_file(workspace_id=workspace.pk, path="a.txt", content="x", fencing_token=token)
    locks.release_lock(workspace_id=workspace.pk, owner="task")
    with pytest.raises(StaleFencingToken):
        tools.read_file(workspace_id=workspace.pk, path="a.txt", fencing_token=token)
    assert tools.read_file(workspace_id=workspace.pk, path="a.txt")["content"] == "x"


def test_reading_a_missing_file_is_file_not_found(held) -> None:
    workspace, _ = held
    with pytest.raises(WorkspaceFileNotFound) as caught:
        tools.read_file(workspace_id=workspace.pk, path="nope.txt")
    assert caught.value.code == "file_not_found" and caught.value.status == 404


def test_size_limit_applies_to_writes(held, settings) -> None:
    workspace, token = held
    settings.WORKSPACE_MAX_FILE_BYTES = 10
    with pytest.raises(FileTooLarge):
        tools.write_file(workspace_id=workspace.pk, path="big.txt", content="x" * 11, fencing_token=token)


def test_tools_need_a_ready_workspace(make_workspace, tenant) -> None:
    workspace = make_workspace(tenant)
    services.hibernate_workspace(workspace_id=workspace.pk)
    with pytest.raises(WorkspaceNotReady):
        tools.read_file(workspace_id=workspace.pk, path="a.txt")


def test_tools_need_the_local_provider(make_workspace, tenant) -> None:
    workspace = make_workspace(tenant)
    Workspace.objects.filter(pk=workspace.pk).update(provider="task_controller")
    with pytest.raises(InvalidStateError, match="local provider"):
        tools.read_file(workspace_id=workspace.pk, path="a.txt")
