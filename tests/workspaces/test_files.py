"""Workspace file tools (issue 16): errors without server paths, per-workspace quotas, a trailing '/' is a folder."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from orchestrator.lib.errors import DomainError
from workspaces import locks, tools
from workspaces.errors import PathNotAllowed, WorkspaceFileError, WorkspaceQuotaExceeded
from workspaces.files import os_errors
from workspaces.providers import workspace_folder

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(make_workspace, tenant):
    workspace = make_workspace(tenant)
    grant = locks.acquire_lock(workspace_id=workspace.pk, owner="task", lease_seconds=300)
    return workspace, grant.fencing_token


def _write(held, path: str, content: str = "x") -> dict:
    workspace, token = held
    return tools.write_file(workspace_id=workspace.pk, path=path, content=content, fencing_token=token)


def _assert_no_server_path(exc: DomainError, held) -> None:
    root = str(Path(workspace_folder(held[0].pk)).resolve())
    assert root not in exc.detail and str(held[0].pk) not in exc.detail, exc.detail
    assert "/workspaces/" not in exc.detail


@pytest.mark.parametrize("path", ["dir/", "a/b/", "x\\"])
def test_a_path_ending_in_a_slash_is_a_folder_never_a_file(held, path: str) -> None:
    with pytest.raises(PathNotAllowed, match="names a folder"):
        _write(held, path)
    with pytest.raises(PathNotAllowed, match="names a folder"):
        tools.read_file(workspace_id=held[0].pk, path=path)
    assert not any(workspace_folder(held[0].pk).iterdir())


def test_writing_below_a_file_names_the_mistake_not_the_server_path(held) -> None:
    _write(held, "notes.txt")
    with pytest.raises(PathNotAllowed) as caught:
        _write(held, "notes.txt/inner.txt")
    assert "a parent of the path is a file" in caught.value.detail
    assert "'notes.txt/inner.txt'" in caught.value.detail
    _assert_no_server_path(caught.value, held)
    with pytest.raises(DomainError) as read:
        tools.read_file(workspace_id=held[0].pk, path="notes.txt/inner.txt")
    _assert_no_server_path(read.value, held)


def test_a_name_too_long_for_the_file_system_is_path_not_allowed(held) -> None:
    with pytest.raises(PathNotAllowed, match="too long") as caught:
        _write(held, "n" * 300 + ".txt")
    _assert_no_server_path(caught.value, held)
    with pytest.raises(PathNotAllowed, match="too long"):
        tools.read_file(workspace_id=held[0].pk, path="n" * 300 + ".txt")


def test_other_os_errors_are_retryable_file_errors_without_paths() -> None:
    with pytest.raises(WorkspaceFileError) as caught, os_errors("write", "a.txt"):
        raise OSError(errno.ENOSPC, "No space left on device", "/srv/data/workspaces/123/a.txt")
    assert caught.value.code == "file_operation_failed"
    assert caught.value.detail == "Cannot write 'a.txt': no space left on the workspace's disk."


def test_byte_quota_refuses_a_write_with_a_clear_code(held, settings) -> None:
    settings.WORKSPACE_QUOTA_BYTES = 10
    _write(held, "a.txt", "x" * 6)
    _write(held, "a.txt", "y" * 10)  # replacing a file counts its new size only
    with pytest.raises(WorkspaceQuotaExceeded) as caught:
        _write(held, "b.txt", "z")
    assert caught.value.code == "workspace_quota_exceeded"
    assert caught.value.extra == {"quota": "bytes", "limit": 10, "used": 10}
    assert "WORKSPACE_QUOTA_BYTES" in caught.value.detail
    assert not (workspace_folder(held[0].pk) / "b.txt").exists()


def test_file_quota_refuses_a_new_file_but_allows_replacing_one(held, settings) -> None:
    settings.WORKSPACE_QUOTA_FILES = 2
    _write(held, "a.txt")
    _write(held, "d/b.txt")
    _write(held, "a.txt", "again")
    with pytest.raises(WorkspaceQuotaExceeded) as caught:
        _write(held, "d/c.txt")
    assert caught.value.extra["quota"] == "files"
    assert "WORKSPACE_QUOTA_FILES" in caught.value.detail


def test_zero_turns_the_quotas_off(held, settings) -> None:
    settings.WORKSPACE_QUOTA_BYTES = 0
    settings.WORKSPACE_QUOTA_FILES = 0
    for i in range(3):
        _write(held, f"f{i}.txt", "x" * 100)
