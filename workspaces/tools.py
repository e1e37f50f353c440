"""Local workspace tools (SPEC §5): ``workspace.write_file`` and ``workspace.read_file``.

Plain functions; the engine's tool registry wraps them. Both work inside the workspace's folder
(``DATA_DIR/workspaces/<id>``, local provider, status READY) and refuse any path that is absolute, contains a
``..`` component, or resolves (through symlinks) outside the folder: the joined path is resolved with
``os.path.realpath`` and must stay under the resolved folder.

Fencing: ``write_file`` requires the fencing token of the workspace's current, unexpired lease. The check and the
atomic rename that makes the new content visible happen while holding the workspace row lock
(``SELECT … FOR UPDATE``), and every acquisition is an UPDATE of that row, so no new owner can take over between
the check and the write: a holder whose lease expired and was taken over gets ``stale_fencing_token``.
``read_file`` checks the token only when one is given.

A path ending in ``/`` names a folder, never a file. File-system errors and quotas: ``workspaces.files``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from orchestrator.lib.errors import InvalidInput, InvalidStateError, NotFoundError

from .errors import FileTooLarge, PathNotAllowed, StaleFencingToken, WorkspaceFileNotFound, WorkspaceNotReady
from .files import check_quota, os_errors
from .models import ProviderName, Workspace, WorkspaceStatus
from .providers import workspace_folder

MAX_PATH_LENGTH = 1024


def resolve_path(root: Path, path: Any) -> Path:
    """``path`` (relative, inside ``root``) as a real absolute path, or ``PathNotAllowed`` saying why not."""
    if not isinstance(path, str) or not path.strip():
        raise PathNotAllowed("The path must be a non-empty string.")
    if len(path) > MAX_PATH_LENGTH or "\x00" in path:
        raise PathNotAllowed("The path is too long or contains a NUL byte.")
    if path.endswith(("/", "\\")):
        raise PathNotAllowed(f"The path {path!r} ends with '/', so it names a folder, not a file.")
    if os.path.isabs(path) or path.startswith(("/", "\\")) or os.path.splitdrive(path)[0]:
        raise PathNotAllowed(f"Absolute paths are not allowed: {path!r}. Use a path relative to the workspace.")
    if ".." in Path(path.replace("\\", "/")).parts:
        raise PathNotAllowed(f"The path {path!r} escapes the workspace ('..' is not allowed).")
    real_root = os.path.realpath(root)
    candidate = os.path.realpath(os.path.join(real_root, path))
    if os.path.commonpath([real_root, candidate]) != real_root:
        raise PathNotAllowed(f"The path {path!r} resolves outside the workspace (through a symlink).")
    if candidate == real_root:
        raise PathNotAllowed("The path names the workspace folder itself, not a file.")
    return Path(candidate)


def _relative(root: Path, target: Path) -> str:
    return os.path.relpath(target, os.path.realpath(root)).replace(os.sep, "/")


def _workspace_root(workspace_id: Any) -> tuple[Workspace, Path]:
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        raise NotFoundError("No such workspace.")
    if workspace.provider != ProviderName.LOCAL:
        raise InvalidStateError("Workspace file tools need a workspace of the local provider.")
    if workspace.status != WorkspaceStatus.READY:
        raise WorkspaceNotReady(f"The workspace is {workspace.status}, not READY.", current_status=workspace.status)
    root = workspace_folder(workspace.pk)
    if not root.is_dir():
        raise WorkspaceNotReady("The workspace folder is missing.", current_status=workspace.status)
    return workspace, root


def _check_token(workspace: Workspace, fencing_token: Any) -> None:
    if isinstance(fencing_token, bool) or not isinstance(fencing_token, int):
        raise InvalidInput("A fencing token (integer) is required.", field="fencing_token")
    now = timezone.now()
    live = bool(workspace.lock_owner) and workspace.lock_expires_at is not None and workspace.lock_expires_at > now
    if not live or workspace.fencing_token != fencing_token:
        raise StaleFencingToken(
            f"Fencing token {fencing_token} is not the workspace's current lease "
            f"({'token ' + str(workspace.fencing_token) if live else 'no live lease'}); the lease expired or "
            "another owner took over.",
            current_fencing_token=workspace.fencing_token if live else None,
        )


def write_file(*, workspace_id: Any, path: str, content: str | bytes, fencing_token: int) -> dict[str, Any]:
    """Write ``content`` (text as UTF-8, or bytes) to ``path`` atomically, under a live lease.

    Preconditions: the workspace is READY (local provider) and ``fencing_token`` is its current unexpired token.
    Creates missing parent folders. Raises ``PathNotAllowed``, ``StaleFencingToken``, ``FileTooLarge``,
    ``WorkspaceNotReady``. Returns ``{"path", "bytes"}``.
    """
    workspace, root = _workspace_root(workspace_id)
    _check_token(workspace, fencing_token)  # fail fast before touching the disk; re-checked under the row lock
    if isinstance(content, str):
        data = content.encode("utf-8")
    elif isinstance(content, bytes):
        data = content
    else:
        raise InvalidInput("The content must be a string.", field="content")
    if len(data) > settings.WORKSPACE_MAX_FILE_BYTES:
        raise FileTooLarge(f"The content is {len(data)} bytes; the limit is {settings.WORKSPACE_MAX_FILE_BYTES}.")
    target = resolve_path(root, path)
    with os_errors("write", path):
        if target.is_dir():
            raise PathNotAllowed(f"The path {path!r} is a folder.")
        check_quota(root, target, len(data))
    with os_errors("create the folders of", path):
        target.parent.mkdir(parents=True, exist_ok=True)
    # Re-resolve after creating folders: the parent chain is now real and must still be inside.
    target = resolve_path(root, path)
    with os_errors("write", path):
        descriptor, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".part")
    try:
        with os_errors("write", path), os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        with transaction.atomic():
            locked = Workspace.objects.select_for_update().get(pk=workspace.pk)
            _check_token(locked, fencing_token)
            if locked.status != WorkspaceStatus.READY:
                raise WorkspaceNotReady(f"The workspace is {locked.status}, not READY.", current_status=locked.status)
            with os_errors("write", path):
                os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return {"path": _relative(root, target), "bytes": len(data)}


def read_file(*, workspace_id: Any, path: str, fencing_token: int | None = None) -> dict[str, Any]:
    """Read ``path`` as UTF-8 text. With ``fencing_token`` the caller's lease is verified first.

    Raises ``PathNotAllowed``, ``WorkspaceFileNotFound``, ``StaleFencingToken``, ``FileTooLarge``,
    ``WorkspaceNotReady``. Returns ``{"path", "content", "bytes"}``.
    """
    workspace, root = _workspace_root(workspace_id)
    if fencing_token is not None:
        _check_token(workspace, fencing_token)
    target = resolve_path(root, path)
    with os_errors("read", path):
        if not target.is_file():
            raise WorkspaceFileNotFound(f"No file {path!r} in the workspace.")
    with os_errors("read", path):
        size = target.stat().st_size
        if size > settings.WORKSPACE_MAX_FILE_BYTES:
            raise FileTooLarge(f"The file is {size} bytes; the limit is {settings.WORKSPACE_MAX_FILE_BYTES}.")
        data = target.read_bytes()
    try:
        content = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"The file {path!r} is not UTF-8 text.", field="path") from exc
    return {"path": _relative(root, target), "content": content, "bytes": len(data)}
