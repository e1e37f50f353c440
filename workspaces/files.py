"""File-system helpers of the local workspace tools (issue 16): quotas, and OS errors told without server paths.

An ``OSError`` names the absolute path it failed on (``[Errno 17] File exists: '/srv/data/workspaces/…'``); it
used to reach the node's error text as it was. ``os_errors`` turns it into a domain error that names the
operation and the path the caller gave, with a stable code: ``path_not_allowed`` when the path cannot be a file
(a parent is a file, a name is too long), ``file_operation_failed`` (retryable) for the rest.

Quotas (``WORKSPACE_QUOTA_BYTES``, ``WORKSPACE_QUOTA_FILES``; 0 turns one off) count the regular files under the
workspace folder; a write that would pass one is refused with ``workspace_quota_exceeded`` before anything is
written. The workspace lock serialises a workspace's tasks, so the count and the write do not race.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

from .errors import PathNotAllowed, WorkspaceFileError, WorkspaceQuotaExceeded

# errno values that mean "this path cannot name a file here", whatever is retried.
_PATH_ERRNOS = {
    errno.EEXIST: "a parent of the path is a file, not a folder",
    errno.ENOTDIR: "a parent of the path is a file, not a folder",
    errno.EISDIR: "the path is a folder, not a file",
    errno.ENAMETOOLONG: "a name in the path is too long",
    errno.ELOOP: "the path loops through symbolic links",
}
_REASONS = {
    errno.ENOSPC: "no space left on the workspace's disk",
    errno.EDQUOT: "the disk quota is exhausted",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "the workspace's disk is read-only",
}


@contextmanager
def os_errors(operation: str, path: str) -> Iterator[None]:
    """Re-raise an ``OSError`` from the block as a domain error naming ``operation`` and the client's ``path``."""
    try:
        yield
    except OSError as exc:
        if exc.errno in _PATH_ERRNOS:
            raise PathNotAllowed(f"Cannot {operation} {path!r}: {_PATH_ERRNOS[exc.errno]}.") from None
        reason = _REASONS.get(exc.errno or 0, f"error {errno.errorcode.get(exc.errno or 0, 'EIO')}")
        raise WorkspaceFileError(f"Cannot {operation} {path!r}: {reason}.") from None


def usage(root: Path) -> tuple[int, int]:
    """Bytes and number of the regular files under ``root`` (symbolic links are not followed)."""
    total_bytes = total_files = 0
    stack = [str(root)]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue  # removed meanwhile, or unreadable: not counted
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    total_bytes += entry.stat(follow_symlinks=False).st_size
                    total_files += 1
            except OSError:
                continue
    return total_bytes, total_files


def check_quota(root: Path, target: Path, size: int) -> None:
    """Refuse writing ``size`` bytes to ``target`` (new or replaced) when it would pass a quota."""
    max_bytes, max_files = settings.WORKSPACE_QUOTA_BYTES, settings.WORKSPACE_QUOTA_FILES
    if not max_bytes and not max_files:
        return
    used_bytes, used_files = usage(root)
    replaced = target.stat().st_size if target.is_file() else None
    new_bytes = used_bytes - (replaced or 0) + size
    new_files = used_files + (0 if replaced is not None else 1)
    if max_bytes and new_bytes > max_bytes:
        raise WorkspaceQuotaExceeded(
            f"The write would use {new_bytes} bytes; the workspace may hold {max_bytes} (WORKSPACE_QUOTA_BYTES).",
            quota="bytes",
            limit=max_bytes,
            used=used_bytes,
        )
    if max_files and new_files > max_files:
        raise WorkspaceQuotaExceeded(
            f"The write would make {new_files} files; the workspace may hold {max_files} (WORKSPACE_QUOTA_FILES).",
            quota="files",
            limit=max_files,
            used=used_files,
        )
