"""Workspace file tools (SPEC §5): ``workspace.write_file`` and ``workspace.read_file``.

Thin wrappers over ``workspaces.tools`` (which owns path confinement and the fencing check). The scheduler took the
workspace lock for this attempt and put its fencing token in the context; a write under a lease that expired and
was taken over is refused (``stale_fencing_token``, retried by the node's policy like any lost lease). Bad paths,
oversized files and missing files are permanent failures: the same attempt would fail the same way again.
"""

from __future__ import annotations

from typing import Any

from orchestrator.lib.errors import DomainError
from orchestrator.lib.tools import ToolContext, ToolError, check_fields, tool
from workspaces import tools

# Error codes of ``workspaces`` that no retry can fix.
PERMANENT_CODES = frozenset(
    {"path_not_allowed", "file_too_large", "file_not_found", "validation_error", "invalid_state", "not_found"}
    | {"workspace_quota_exceeded"}
)


def _workspace_id(ctx: ToolContext) -> str:
    if not ctx.workspace_id:
        raise ToolError(
            "workspace tools need a run with a workspace: create the workflow with a workspace_id", retryable=False
        )
    return ctx.workspace_id


def _fail(exc: DomainError) -> ToolError:
    code = getattr(exc, "code", "error")
    return ToolError(f"{code}: {exc.detail}", retryable=code not in PERMANENT_CODES)


def _write_params(params: dict[str, Any]) -> list[tuple[str, str]]:
    return check_fields(params, required={"path": str, "content": str})


def _read_params(params: dict[str, Any]) -> list[tuple[str, str]]:
    return check_fields(params, required={"path": str})


WRITE_SCHEMA = {
    "type": "object",
    "required": ["path", "content"],
    "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
    "additionalProperties": False,
}
READ_SCHEMA = {
    "type": "object",
    "required": ["path"],
    "properties": {"path": {"type": "string"}},
    "additionalProperties": False,
}


# LOW: it writes inside the run's own workspace, under the attempt's lease. Idempotent: it replaces the whole
# file atomically with the same content, so writing it again leaves the same state.
@tool("workspace.write_file", params=_write_params, schema=WRITE_SCHEMA, risk="LOW", idempotent=True)
def write_file(params: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    """Writes ``content`` (UTF-8 text) to ``path`` inside the run's workspace, atomically, under the lease."""
    workspace_id = _workspace_id(ctx)
    if ctx.fencing_token is None:
        raise ToolError("stale_fencing_token: this attempt holds no workspace lease")
    try:
        return tools.write_file(
            workspace_id=workspace_id, path=params["path"], content=params["content"], fencing_token=ctx.fencing_token
        )
    except DomainError as exc:
        raise _fail(exc) from exc


@tool("workspace.read_file", params=_read_params, schema=READ_SCHEMA, risk="LOW", idempotent=True)
def read_file(params: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    """Reads ``path`` (UTF-8 text) from the run's workspace: ``{"path", "content", "bytes"}``."""
    workspace_id = _workspace_id(ctx)
    try:
        return tools.read_file(workspace_id=workspace_id, path=params["path"], fencing_token=ctx.fencing_token)
    except DomainError as exc:
        raise _fail(exc) from exc
