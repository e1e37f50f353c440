"""Domain errors of the workspaces app, each with a stable ``code`` (turned into problem documents by the API)."""

from __future__ import annotations

from orchestrator.lib.errors import ConflictError, DomainError, InvalidStateError, NotFoundError


class LockHeld(ConflictError):
    """Another owner holds an unexpired lease. ``extra`` carries ``owner``, ``expires_at``, ``retry_after_ms``."""

    code, title = "lock_held", "Workspace lock is held"


class LockNotHeld(ConflictError):
    """Renewing a lease that is not (or no longer) the caller's while nobody else holds it."""

    code, title = "lock_not_held", "Workspace lock is not held by this owner"


class StaleFencingToken(ConflictError):
    """A tool call carries a fencing token that is not the workspace's current, unexpired one."""

    code, title = "stale_fencing_token", "Stale fencing token"


class WorkspaceNotReady(InvalidStateError):
    """The workspace must be READY for this operation."""

    code, title = "workspace_not_ready", "Workspace is not ready"


class PathNotAllowed(DomainError):
    """A workspace file path that is absolute, escapes the folder (``..``, symlinks) or is otherwise invalid."""

    status, code, title = 400, "path_not_allowed", "Path not allowed"


class WorkspaceFileNotFound(NotFoundError):
    code, title = "file_not_found", "File not found in the workspace"


class FileTooLarge(DomainError):
    status, code, title = 400, "file_too_large", "File too large"


class WorkspaceQuotaExceeded(DomainError):
    """A write would take the workspace past ``WORKSPACE_QUOTA_BYTES`` or ``WORKSPACE_QUOTA_FILES``. ``extra``
    carries ``quota`` (``bytes`` or ``files``), ``limit`` and ``used``."""

    status, code, title = 409, "workspace_quota_exceeded", "Workspace quota exceeded"


class WorkspaceFileError(DomainError):
    """The file system refused an operation for a reason other than the path (a full disk, an I/O error). The
    detail names the operation and the path the caller gave, never a server path."""

    status, code, title = 503, "file_operation_failed", "File operation failed"
